"""What the engineer on call and the supervisor want to know first: is it running, what happened last, and what
is waiting for a person."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from messaging.outbox.delivery import active_pause
from outreach.reports.crawl_report import latest_sites, site_warnings
from outreach.store.locks import CYCLE_LOCK
from outreach.store.models import Heartbeat, Lock, Message, Person
from outreach.store.states import WAITING, Direction
from outreach.store.types import utcnow

# A scheduler that has not beaten for this many of its heartbeat intervals is not running, whatever its last beat
# said: killed (SIGKILL, the machine), or hung. One interval of slack for a beat that waited for a database lock.
SILENT_AFTER_BEATS = 4


def last_cycle_problem(session: Session) -> str:
    """What went wrong in the last finished cycle, in one line ("" when it was ok or is still running)."""
    cycle = session.get(Heartbeat, "cycle")
    return str(cycle.state.get("problem") or "") if cycle is not None else ""


def scheduler_state(state: dict[str, Any], last_beat: datetime, now: datetime) -> str:
    """ "alive"; "silent" (it said alive, but stopped beating); "died" (it stopped itself on a problem, see
    `problem`); or "stopped" (SIGTERM, Ctrl-C)."""
    if state.get("alive"):
        every = timedelta(seconds=float(state.get("beat_every_seconds") or 30))
        return "alive" if now - last_beat <= SILENT_AFTER_BEATS * every else "silent"
    return "died" if state.get("problem") else "stopped"


def status(session: Session, now: datetime | None = None) -> dict[str, Any]:
    beats = {beat.name: beat for beat in session.execute(select(Heartbeat)).scalars()}
    by_status = dict(
        session.execute(
            select(Message.status, func.count(Message.id))
            .where(Message.direction == Direction.OUT, Message.status.in_(WAITING))
            .group_by(Message.status)
        ).all()
    )
    waiting = session.execute(
        select(func.count(Person.id)).where(Person.needs_fieldworker_since.is_not(None))
    ).scalar_one()
    flagged = session.execute(
        select(func.count(Person.id)).where(Person.paused_reason == "possible opt-out")
    ).scalar_one()
    lock = session.get(Lock, CYCLE_LOCK)
    pause = active_pause(session)
    scheduler = beats.get("scheduler")
    cycle = beats.get("cycle")
    return {
        "scheduler": {
            "last_beat": scheduler.beat_at.isoformat(),
            **scheduler.state,
            "running": scheduler_state(scheduler.state, scheduler.beat_at, now or utcnow()),
        }
        if scheduler
        else None,
        "last_cycle": cycle.state if cycle else None,
        "cycle_running": {"holder": lock.holder, "since": lock.acquired_at.isoformat()} if lock else None,
        "messages_waiting": {state.value: int(by_status.get(state, 0)) for state in WAITING},
        "conversations_waiting": int(waiting),
        "possible_opt_outs": int(flagged),
        "sending_paused": {"reason": pause.reason, "since": pause.created_at.isoformat()} if pause else None,
        "sites_failing": site_warnings(session),
        "sites": {
            site.site: {"health": site.health, "run_id": run_id, "problems": [p["message"] for p in site.problems]}
            for run_id, site in latest_sites(session)
        },
    }
