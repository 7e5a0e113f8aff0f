"""Supervisors only: the blocklist and opt-outs (add and remove, with a reason), and the audit log with the
chain's verification."""

from __future__ import annotations

from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from outreach import audit_checkpoints
from outreach.access.numbers import describe_number, normalise_number
from outreach.access.users import SessionUser
from outreach.errors import N_, UsageError
from outreach.people import blocklist, optouts
from outreach.store.adverts import FoundPhone, person_id
from outreach.store.models import AuditEvent, OptOut, Person
from outreach.store.states import StopKind
from outreach.store.types import utcnow
from outreach.web.dashboard.core import NO_REASON, NOT_A_NUMBER, Dashboard, Form, HTTPProblem, int_param, local_path

AUDIT_PAGE = 100


class SupervisorPages:
    def __init__(self, dashboard: Dashboard) -> None:
        self.dashboard = dashboard

    def stops(self, request: Request, user: SessionUser, form: Form) -> Response:
        vault = self.dashboard.vault
        statement = (
            select(OptOut, Person.id, Person.phone_encrypted)
            .outerjoin(Person, Person.key == OptOut.person_key)
            .order_by(OptOut.created_at.desc())
        )
        own = self.dashboard.access(user).stops_clause()
        with self.dashboard.store.session() as session:
            found = session.execute(statement if own is None else statement.where(own)).all()
        rows = [
            {
                "id": stop.id,
                "kind": stop.kind,
                "source": stop.source,
                "actor": stop.actor,
                "reason": stop.reason,
                "at": stop.created_at,
                "person_id": pid,
                "number": vault.decrypt(encrypted) if encrypted else None,
            }
            for stop, pid, encrypted in found
        ]
        return self.dashboard.render(request, "stops.html", {"user": user, "rows": rows})

    def add(self, request: Request, user: SessionUser, form: Form) -> Response:
        reason = form.get("reason", "").strip()
        try:
            kind = StopKind(form.get("kind", StopKind.BLOCK))
        except ValueError as exc:
            raise HTTPProblem(400, N_("kind: block or opt_out")) from exc
        if not reason:
            raise HTTPProblem(400, NO_REASON)
        try:
            e164 = normalise_number(form.get("number", ""), self.dashboard.settings.default_region)
        except UsageError as exc:
            raise HTTPProblem(400, NOT_A_NUMBER) from exc
        vault = self.dashboard.vault
        owner = self.dashboard.access(user).owner
        with self.dashboard.store.session() as session:
            if kind == StopKind.BLOCK:
                blocklist.block(session, vault, e164, user.name, reason, source="dashboard", organisation=owner)
            else:  # the person asked us in person or by phone; keep the person so the list can show the number
                country, mobile = describe_number(e164)
                person_id(session, vault, FoundPhone(e164, country, mobile), utcnow())
                optouts.stop(
                    session,
                    vault.key(e164),
                    kind=StopKind.OPT_OUT,
                    source="dashboard",
                    actor=user.name,
                    reason=reason,
                    organisation=owner,
                )
        return RedirectResponse("/stops", status_code=303)

    def remove(self, request: Request, user: SessionUser, form: Form) -> Response:
        stop_id = int_param(form.get("stop"), "stop")
        reason = form.get("reason", "").strip()
        if not reason:
            raise HTTPProblem(400, NO_REASON)
        with self.dashboard.store.session() as session:
            stop = session.get(OptOut, stop_id) if stop_id is not None else None
            if stop is None or not self.dashboard.access(user).sees_stop(stop):
                raise HTTPProblem(404, N_("No such entry."))
            optouts.unstop(session, stop.person_key, kind=StopKind(stop.kind), actor=user.name, reason=reason)
        return RedirectResponse(local_path(form.get("next"), "/stops"), status_code=303)

    def audit_log(self, request: Request, user: SessionUser, form: Form) -> Response:
        page = int_param(request.query_params.get("page"), "page", 1) or 1
        own = self.dashboard.access(user).audit_clause()
        counted, listed = select(func.count(AuditEvent.id)), select(AuditEvent)
        if own is not None:  # several organisations: the events their own members wrote
            counted, listed = counted.where(own), listed.where(own)
        with self.dashboard.store.session() as session:
            total = session.execute(counted).scalar_one()
            events = (
                session.execute(
                    listed.order_by(AuditEvent.seq.desc()).limit(AUDIT_PAGE).offset((page - 1) * AUDIT_PAGE)
                )
                .scalars()
                .all()
            )
            # The events after the last full verification (the scheduler's daily one): bounded time.
            chain = audit_checkpoints.status(session, self.dashboard.settings.schedule.audit_verify_max_age_days)
        return self.dashboard.render(
            request,
            "audit.html",
            {
                "user": user,
                "events": events,
                "total": total,
                "chain": chain,
                "max_age_days": self.dashboard.settings.schedule.audit_verify_max_age_days,
                "page": page,
                "has_next": page * AUDIT_PAGE < total,
            },
        )
