"""The inbox: people who wrote to us and wait for a fieldworker; answer them, or mark the conversation handled."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from outreach.access.users import SessionUser
from outreach.people.conversations import WHATSAPP_WINDOW, inbox, mark_handled, queue_reply
from outreach.store.models import Person
from outreach.store.types import utcnow
from outreach.web.dashboard.core import Dashboard, Form


class InboxPages:
    def __init__(self, dashboard: Dashboard) -> None:
        self.dashboard = dashboard

    def inbox(self, request: Request, user: SessionUser, form: Form) -> Response:
        now = utcnow()
        access = self.dashboard.access(user)
        with self.dashboard.store.session() as session:
            waiting = [
                item for item in inbox(session, self.dashboard.vault) if access.sees_person(session, item.person_id)
            ]
            windows = {}
            for item in waiting:
                person = session.get(Person, item.person_id)
                last = person.last_inbound_at if person else None
                windows[item.person_id] = last is not None and now - last < WHATSAPP_WINDOW
        return self.dashboard.render(
            request,
            "inbox.html",
            {"user": user, "waiting": waiting, "windows": windows, "sent": request.query_params.get("sent")},
        )

    def reply(self, request: Request, user: SessionUser, form: Form) -> Response:
        person_id = int(request.path_params["person_id"])
        with self.dashboard.store.session() as session:
            self.dashboard.person(session, user, person_id)
            message_id = queue_reply(session, person_id, form.get("body", ""), self.dashboard.settings, user.name)
        return RedirectResponse(f"/inbox?sent={message_id}", status_code=303)

    def handled(self, request: Request, user: SessionUser, form: Form) -> Response:
        person_id = int(request.path_params["person_id"])
        with self.dashboard.store.session() as session:
            self.dashboard.person(session, user, person_id)
            mark_handled(session, person_id, user.name, resume=form.get("resume") == "yes")
        return RedirectResponse("/inbox", status_code=303)
