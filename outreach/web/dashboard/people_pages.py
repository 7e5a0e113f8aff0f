"""An advert and a person in detail (the same views as `outreach show`), a supervisor's reveal of one number, and
blocking a person from their page."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from outreach import audit
from outreach.access.roles import advert_visible
from outreach.access.users import SessionUser
from outreach.audit_events import Event
from outreach.errors import N_
from outreach.people import optouts
from outreach.reports.inspect import advert_view, person_view
from outreach.store.models import Advert
from outreach.store.states import StopKind
from outreach.web.dashboard.core import NO_REASON, Dashboard, Form, HTTPProblem

logger = logging.getLogger("outreach.web.dashboard")


class PeoplePages:
    def __init__(self, dashboard: Dashboard) -> None:
        self.dashboard = dashboard

    def advert(self, request: Request, user: SessionUser, form: Form) -> Response:
        with self.dashboard.store.session() as session:
            advert = session.get(Advert, int(request.path_params["advert_id"]))
            if advert is None or not advert_visible(session, self.dashboard.settings, user.name, advert):
                raise HTTPProblem(404, N_("No such advert."))
            view = advert_view(session, self.dashboard.vault, advert.id)
        return self.dashboard.render(request, "advert.html", {"user": user, "advert": view})

    def _person(self, request: Request, user: SessionUser, revealed: str | None = None) -> Response:
        person_id = int(request.path_params["person_id"])
        with self.dashboard.store.session() as session:
            person = self.dashboard.person(session, user, person_id)
            view = person_view(session, self.dashboard.vault, person)
        return self.dashboard.render(request, "person.html", {"user": user, "person": view, "revealed": revealed})

    def person(self, request: Request, user: SessionUser, form: Form) -> Response:
        return self._person(request, user)

    def reveal(self, request: Request, user: SessionUser, form: Form) -> Response:
        """One number in full, for a supervisor, answered to the POST itself: the number is in no URL or history."""
        person_id = int(request.path_params["person_id"])
        with self.dashboard.store.session() as session:
            person = self.dashboard.person(session, user, person_id)
            number = self.dashboard.vault.decrypt(person.phone_encrypted)
            audit.record(session, Event.NUMBERS_REVEALED, user.name, where="dashboard", person_id=person_id)
        logger.info("number revealed person=%s by user=%s", person_id, user.user_id)
        return self._person(request, user, revealed=number)

    def block(self, request: Request, user: SessionUser, form: Form) -> Response:
        """Anyone may block (it only ever stops messages); lifting a block is for supervisors."""
        person_id = int(request.path_params["person_id"])
        reason = form.get("reason", "").strip()
        if not reason:
            raise HTTPProblem(400, NO_REASON)
        with self.dashboard.store.session() as session:
            person = self.dashboard.person(session, user, person_id)
            optouts.stop(session, person.key, kind=StopKind.BLOCK, source="dashboard", actor=user.name, reason=reason)
        return RedirectResponse(f"/persons/{person_id}", status_code=303)
