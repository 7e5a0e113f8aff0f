"""Crash safety (invariant 3): `outreach cycle` runs as a child process and is killed with SIGKILL at seeded random
points during crawling, selection and sending; after each kill the system restarts as it would (the leases of the
dead process expire, the next `outreach cycle` runs, sometimes after an `outreach send`), and then:

- nobody was messaged twice (counted at the Twilio test gateway, the ground truth of what was sent),
- every eligible person of every published advert has their message,
- no message is left in `sending` (or `unknown`, or `queued`), and the audit chain verifies.

One world per database: each trial publishes 8 more adverts (new ones at the top of the listing, as on a live site;
some belong to persons already messaged), so the trials also cover incremental recrawls after a crash.
OUTREACH_CRASH_TRIALS kills (default 30: 20 on SQLite and 10 on PostgreSQL, about two and a half minutes together).
The kill points, in turn (each a quarter of the trials), at a seeded point within:

- crawl: when the fixture site receives its n-th request of the trial, before it answers; in half of these trials
  only the cycle process is killed, and its orphaned crawl child may still be crawling when the system restarts
  (it stops itself within half a second, see the last test);
- selection: a random delay (0-0.05 s) after the crawl run is recorded finished, while the cycle selects, detects
  languages and queues (or, if it gets there first, at the first send);
- sending: when the gateway has accepted the n-th message, before the answer leaves (Twilio has it, the sender
  never hears back), or a few milliseconds later (while recording or claiming the next one).

Where a kill really landed is read from the database afterwards and printed (`pytest -s`).
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from outreach import audit
from outreach.store.db import Store
from outreach.store.models import AuditEvent, CrawlRun
from tests.process_world import fast_world_settings, let_crashed_holders_expire, outbound_states, run, start
from testworld.fixture_site import FixtureSite, LoggedRequest
from testworld.twilio_gateway import GatewayMessage, TwilioGateway

# About PostgreSQL itself too (locks, concurrency, migrations, at rest): it runs there in the fast run as well.
pytestmark = pytest.mark.postgres

# OUTREACH_CRASH_TRIALS kills in all, two thirds on SQLite and a third on PostgreSQL: 30 in `make test` (about 2.5
# minutes together), a few in `make check`. Read at import: the autouse fixture clears OUTREACH_* for each test.
ALL_TRIALS = int(os.environ.get("OUTREACH_CRASH_TRIALS", "30"))
# Each database gets at least one trial per kill point (PHASES), so every phase is reached on both.
TRIALS = {
    "sqlite": max(4, round(ALL_TRIALS * 2 / 3)),
    "postgresql": max(4, ALL_TRIALS - round(ALL_TRIALS * 2 / 3)),
}
BATCH = 8


@dataclass(frozen=True)
class KillPlan:
    phase: str  # "crawl", "selection", "send_accepted" or "send_later"
    nth: int = 1
    delay: float = 0.0
    send_first: bool = False  # restart with `outreach send` before the next cycle
    cycle_only: bool = False  # kill the cycle but not its crawl child, which is orphaned and finishes its crawl


PHASES = ("crawl", "selection", "send_accepted", "send_later")


def plan_kill(rng: random.Random, trial: int, new_persons: int) -> KillPlan:
    """The phases in turn, so each gets a quarter of the trials; the point within the phase drawn from `rng`."""
    phase = PHASES[trial % len(PHASES)]
    if phase.startswith("send") and not new_persons:
        phase = "crawl"  # this batch brought nobody new to send to
    send_first = rng.random() < 0.3
    if phase == "crawl":
        # robots.txt, the first listing page and the batch's detail pages are always requested.
        cycle_only = rng.random() < 0.5
        return KillPlan(phase, nth=rng.randint(1, BATCH + 2), send_first=send_first, cycle_only=cycle_only)
    if phase == "selection":
        return KillPlan(phase, delay=rng.uniform(0.0, 0.05), send_first=send_first)
    return KillPlan(phase, nth=rng.randint(1, new_persons), delay=rng.uniform(0.0, 0.02), send_first=send_first)


class Killer:
    """Kills the cycle's process group (the cycle and its crawl child) once, at the planned point."""

    def __init__(self, pgid: int, plan: KillPlan, store: Store, finished_crawls: int) -> None:
        self.pgid, self.plan, self.store = pgid, plan, store
        self.finished_crawls = finished_crawls
        self.requests = 0
        self.creates = 0
        self.fired = threading.Event()
        self._lock = threading.Lock()

    def kill(self) -> None:
        with self._lock:
            if self.fired.is_set():
                return
            self.fired.set()
        with contextlib.suppress(ProcessLookupError):  # it had already finished: the trial then fails and says so
            if self.plan.cycle_only:
                os.kill(self.pgid, signal.SIGKILL)
            else:
                os.killpg(self.pgid, signal.SIGKILL)

    def on_request(self, _request: LoggedRequest) -> None:
        self.requests += 1
        if self.plan.phase == "crawl" and self.requests == self.plan.nth:
            self.kill()

    def on_create(self, _message: GatewayMessage) -> None:
        self.creates += 1
        if self.plan.phase == "selection":
            self.kill()  # the cycle got through selection before the delay ran out
        elif self.plan.phase.startswith("send") and self.creates == self.plan.nth:
            if self.plan.phase == "send_accepted":
                self.kill()
            else:
                threading.Timer(self.plan.delay, self.kill).start()

    def watch_crawl_end(self) -> None:
        """For the selection phase: wait until the crawl run is recorded finished, then kill after the delay."""
        deadline = time.monotonic() + 60
        while not self.fired.is_set() and time.monotonic() < deadline:
            with self.store.session() as session:
                done = session.execute(select(func.count(CrawlRun.id)).where(CrawlRun.status != "running")).scalar_one()
            if done > self.finished_crawls:
                time.sleep(self.plan.delay)
                self.kill()
                return
            time.sleep(0.01)


def _finished_crawls(store: Store) -> int:
    with store.session() as session:
        return session.execute(select(func.count(CrawlRun.id)).where(CrawlRun.status != "running")).scalar_one()


def _landed(store: Store, finished_before: int, creates: int) -> str:
    """Where the kill really landed: the crawl had not finished, nothing was sent yet, or sending had begun."""
    if _finished_crawls(store) == finished_before:
        return "crawl"
    return "selection" if creates == 0 else "sending"


def _alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def test_cycles_killed_at_random_points_message_every_eligible_person_exactly_once(
    database_url: str, keys: dict[str, str], tmp_path: Path, gateway: TwilioGateway
) -> None:
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    trials = TRIALS[backend]
    rng = random.Random(f"crash-safety-{backend}")
    gateway.callbacks = "none"  # delivery states are polled by the cycle; callbacks would need `outreach serve`
    with FixtureSite(seed=8, count=trials * BATCH) as site:
        adverts = site.generated.adverts
        site.hide(*(ad.id for ad in adverts))
        settings = fast_world_settings(database_url, keys, tmp_path, site, gateway)
        countries = set(settings.mobile_countries)
        landed: Counter[str] = Counter()
        in_doubt = orphans = racing = 0
        started = time.monotonic()
        with Store(settings.database_url) as store:
            for trial in range(trials):
                # Publish the next batch; it lists above the earlier ones, like new adverts on a live site.
                published = adverts[len(adverts) - (trial + 1) * BATCH :]
                site.publish(*(ad.id for ad in published[:BATCH]))
                expected = site.generated.eligible(countries, published)
                new_persons = len(set(expected) - set(gateway.sent_to()))
                plan = plan_kill(rng, trial, new_persons)
                finished_before = _finished_crawls(store)

                child = start(["cycle"], settings, tmp_path)
                killer = Killer(child.pid, plan, store, finished_before)
                site.on_request, gateway.on_create = killer.on_request, killer.on_create
                if plan.phase == "selection":
                    threading.Thread(target=killer.watch_crawl_end, daemon=True).start()
                try:
                    _, err = child.communicate(timeout=90)
                finally:
                    site.on_request = gateway.on_create = None
                    killer.kill()  # never leave a runaway cycle behind a failed assertion
                context = f"trial {trial}: {plan}"
                assert child.returncode == -signal.SIGKILL, f"{context}: not killed (exit {child.returncode}) {err}"
                landed[_landed(store, finished_before, killer.creates)] += 1
                in_doubt += outbound_states(store).get("sending", 0)
                if plan.cycle_only:
                    orphans += 1
                    racing += _alive(child.pid)  # still crawling while the restart begins

                # The restart: the dead process's leases expire, then the system runs again.
                let_crashed_holders_expire(store, settings)
                if plan.send_first:
                    code, output = run(["send"], settings, tmp_path)
                    assert code == 0, f"{context}: outreach send: {output}"
                code, output = run(["cycle"], settings, tmp_path)
                assert code == 0, f"{context}: outreach cycle after the kill: {output}"

                sent = {number: len(messages) for number, messages in gateway.sent_to().items()}
                twice = {number: count for number, count in sent.items() if count > 1}
                assert twice == {}, f"{context}: messaged more than once"
                assert set(expected) - set(sent) == set(), f"{context}: eligible persons without their message"
                assert set(sent) - set(expected) == set(), f"{context}: messages to persons who are not eligible"
                states = outbound_states(store)
                assert set(states) <= {"sent", "delivered"}, f"{context}: {states}"
                with store.session() as session:
                    assert audit.verify(session) == [], context
                _kill_group(child.pid)  # an orphaned crawl child never outlives its trial
            with store.session() as session:
                reconciled = session.execute(
                    select(func.count(AuditEvent.id)).where(AuditEvent.name == "message.reconciled")
                ).scalar_one()
    print(
        f"\ncrash safety on {backend}: {trials} trials, {trials} SIGKILLs landed in {dict(landed)}; "
        f"{in_doubt} messages left in `sending` by a kill, {reconciled} reconciled; {orphans} crawl children "
        f"orphaned, {racing} still crawling at the restart; "
        f"{len(gateway.sent_to())} persons messaged, 0 twice; {time.monotonic() - started:.0f} s"
    )
    # The seeded plans must really reach every phase the test claims to cover.
    assert landed["crawl"] and landed["sending"], landed


def test_a_crawl_child_stops_soon_after_its_cycle_is_killed(
    keys: dict[str, str], tmp_path: Path, gateway: TwilioGateway
) -> None:
    """An orphaned crawl would go on next to the restarted cycle's crawl, and the two together would exceed the
    site's request rate (invariant 7); so the crawl child stops once its parent is gone. (Processes only: SQLite.)"""
    with FixtureSite(seed=9, count=60) as site:
        settings = fast_world_settings(f"sqlite:///{tmp_path / 'outreach.db'}", keys, tmp_path, site, gateway)
        site.write_site_file(tmp_path / "sites", rate_limit={"requests_per_second": 5, "concurrency": 1})
        child = start(["cycle"], settings, tmp_path)
        killed_at: list[float] = []

        def kill_the_cycle_only(request: LoggedRequest) -> None:
            if request.path.startswith("/advertentie/") and not killed_at:
                os.kill(child.pid, signal.SIGKILL)
                killed_at.append(time.monotonic())

        site.on_request = kill_the_cycle_only
        try:
            child.wait(timeout=60)
            deadline = time.monotonic() + 10
            while _alive(child.pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            orphan_alive = _alive(child.pid)
        finally:
            site.on_request = None
            _kill_group(child.pid)
        assert killed_at and not orphan_alive
        late = [request.path for request in site.requests if request.at > killed_at[0] + 2]
        assert late == [], f"the orphaned crawl went on: {len(late)} requests more than 2 s after the kill"
