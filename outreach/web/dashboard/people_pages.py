"""An advert and a person in detail (the same views as `outreach show`), a supervisor's reveal of one number or of
one advert's address (the page behind it shows the number), and blocking a person from their page."""

from __future__ import annotations

import logging
from contextlib import closing

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from messaging.outbox.factory import make_outbox
from messaging.outbox.send_policy import SendWindow
from outreach import audit
from outreach.access.users import SessionUser
from outreach.audit_events import Event
from outreach.errors import N_, OutreachError
from outreach.people import optouts
from outreach.people.conversations import queue_resend
from outreach.reports.inspect import advert_view, person_view
from outreach.store.models import Advert, Message, OptOut
from outreach.store.states import StopKind
from outreach.store.types import utcnow
from outreach.targeting.advert_language import set_language
from outreach.web.dashboard.core import NO_REASON, Dashboard, Form, HTTPProblem, int_param

logger = logging.getLogger("outreach.web.dashboard")


class PeoplePages:
    def __init__(self, dashboard: Dashboard) -> None:
        self.dashboard = dashboard

    def advert(self, request: Request, user: SessionUser, form: Form) -> Response:
        return self._advert(request, user, reveal=False)

    def reveal_advert(self, request: Request, user: SessionUser, form: Form) -> Response:
        """One advert's address in full, for a supervisor, answered to the POST itself and audited as a number's
        reveal: the site's page behind it shows the advert's numbers."""
        return self._advert(request, user, reveal=True)

    def advert_language(self, request: Request, user: SessionUser, form: Form) -> Response:
        """The advert's message language set by hand (or back to detection), as `outreach advert language`."""
        advert_id = int(request.path_params["advert_id"])
        with self.dashboard.store.session() as session:
            advert = session.get(Advert, advert_id)
            if advert is None or not self.dashboard.access(user).sees_advert(session, advert):
                raise HTTPProblem(404, N_("No such advert."))
            language, reason = form.get("language", ""), form.get("reason", "")
            set_language(session, advert, language, reason, self.dashboard.settings, user.name, where="dashboard")
        return RedirectResponse(f"/adverts/{advert_id}?saved=language", status_code=303)

    def _advert(self, request: Request, user: SessionUser, *, reveal: bool) -> Response:
        with self.dashboard.store.session() as session:
            advert = session.get(Advert, int(request.path_params["advert_id"]))
            if advert is None or not self.dashboard.access(user).sees_advert(session, advert):
                raise HTTPProblem(404, N_("No such advert."))
            view = advert_view(session, self.dashboard.vault, advert.id, reveal_url=reveal)
            if reveal:
                audit.record(
                    session,
                    Event.NUMBERS_REVEALED,
                    user.name,
                    where="dashboard",
                    advert_id=advert.id,
                    shown="advert address",
                    person_ids=[person["person"] for person in view["persons"]],
                )
        if reveal:
            logger.info("advert address revealed advert=%s by user=%s", view["advert"], user.user_id)
        return self.dashboard.render(
            request,
            "advert.html",
            {
                "user": user,
                "advert": view,
                "languages": self.dashboard.settings.languages,
                "language_saved": request.query_params.get("saved") == "language",
            },
        )

    def _person(self, request: Request, user: SessionUser, revealed: str | None = None) -> Response:
        person_id = int(request.path_params["person_id"])
        with self.dashboard.store.session() as session:
            person = self.dashboard.person(session, user, person_id)
            view = person_view(session, self.dashboard.vault, person)
            access = self.dashboard.access(user)
            stops = [
                {"id": stop.id, "kind": stop.kind, "source": stop.source, "by": stop.actor, "reason": stop.reason}
                for stop in session.execute(select(OptOut).where(OptOut.person_key == person.key)).scalars()
                if access.sees_stop(stop)
            ]
        return self.dashboard.render(
            request, "person.html", {"user": user, "person": view, "revealed": revealed, "stops": stops}
        )

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

    def resend(self, request: Request, user: SessionUser, form: Form) -> Response:
        """Send one of the person's messages again by hand: the same refusals as `outreach resend` (opted out or
        blocked; inside the re-contact window unless a supervisor forces it), sent at once inside the send window."""
        person_id = int(request.path_params["person_id"])
        message_id = int_param(form.get("message"), "message")
        reason, force = form.get("reason", "").strip(), form.get("force") == "yes"
        if not reason:
            raise HTTPProblem(400, NO_REASON)
        with self.dashboard.store.session() as session:
            self.dashboard.person(session, user, person_id)
            access = self.dashboard.access(user)
            if force:
                access.require_supervisor("force a resend inside the re-contact window")
            original = session.get(Message, message_id) if message_id is not None else None
            if original is None or original.person_id != person_id or not access.sees_message(original):
                raise HTTPProblem(404, N_("No such message."))
            queued = queue_resend(
                session, self.dashboard.settings, actor=user.name, reason=reason, message_id=message_id, force=force
            )
        if SendWindow.from_settings(self.dashboard.settings.sending).is_open(utcnow()):
            try:
                with closing(make_outbox(self.dashboard.settings, self.dashboard.store, user.name, optouts)) as outbox:
                    outbox.send_one(queued)
            except OutreachError as exc:
                logger.warning("resend %s not sent at once: %s", queued, exc)
        return RedirectResponse(f"/persons/{person_id}#messages", status_code=303)

    def block(self, request: Request, user: SessionUser, form: Form) -> Response:
        """Anyone may block (it only ever stops messages); lifting a block is for supervisors."""
        person_id = int(request.path_params["person_id"])
        reason = form.get("reason", "").strip()
        if not reason:
            raise HTTPProblem(400, NO_REASON)
        with self.dashboard.store.session() as session:
            person = self.dashboard.person(session, user, person_id)
            optouts.stop(
                session,
                person.key,
                kind=StopKind.BLOCK,
                source="dashboard",
                actor=user.name,
                reason=reason,
                organisation=self.dashboard.access(user).owner,
            )
        return RedirectResponse(f"/persons/{person_id}", status_code=303)
