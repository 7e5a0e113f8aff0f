"""Drafted first contacts in the browser. Approve mode: a supervisor reads the drafts (advert snippet, detected
language and confidence, the message, its SMS parts) and approves or rejects them, one by one or several at once.
Assist mode: a fieldworker works the queue one draft at a time, as in Spoke: send, edit, skip, reject (keys s, e,
k, r). The same functions as `outreach approve` and `outreach assist`, the same audit events."""

from __future__ import annotations

from contextlib import closing
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from messaging.outbox.factory import make_outbox
from messaging.outbox.send_policy import SendWindow
from messaging.segments import count_segments
from outreach.access.users import SessionUser
from outreach.errors import N_, OutreachError
from outreach.people import conversations, optouts
from outreach.store.models import Message
from outreach.store.types import utcnow
from outreach.web.dashboard.core import NO_REASON, Dashboard, Form, HTTPProblem, int_param

SNIPPET = 300


class DraftPages:
    def __init__(self, dashboard: Dashboard) -> None:
        self.dashboard = dashboard

    def _visible(self, session: Session, user: SessionUser) -> list[dict[str, Any]]:
        access = self.dashboard.access(user)
        found = [
            draft
            for draft in conversations.drafts(session, self.dashboard.vault, limit=500)
            if access.sees_organisation(draft.organisation)
        ]
        confidence: dict[int, float | None] = {}
        ids = [draft.message_id for draft in found]
        for message_id, value in session.execute(
            select(Message.id, Message.language_confidence).where(Message.id.in_(ids))
        ):
            confidence[message_id] = value
        return [
            {
                "draft": draft,
                "confidence": confidence.get(draft.message_id),
                "parts": count_segments(draft.body),
                "snippet": " ".join(f"{draft.advert_title}. {draft.advert_text}".split())[:SNIPPET],
            }
            for draft in found
        ]

    def _chosen(self, form: Form, own: set[int]) -> list[int]:
        chosen = [int(key.split("-", 1)[1]) for key in form if key.startswith("draft-") and key[6:].isdigit()]
        if not chosen:
            raise HTTPProblem(400, N_("Choose at least one draft."))
        if any(message_id not in own for message_id in chosen):
            raise HTTPProblem(404, N_("No such draft."))
        return chosen

    def list_drafts(self, request: Request, user: SessionUser, form: Form) -> Response:
        with self.dashboard.store.session() as session:
            items = self._visible(session, user)
        return self.dashboard.render(
            request,
            "drafts.html",
            {
                "user": user,
                "items": items,
                "approved": int_param(request.query_params.get("approved"), "approved"),
                "rejected": int_param(request.query_params.get("rejected"), "rejected"),
            },
        )

    def approve(self, request: Request, user: SessionUser, form: Form) -> Response:
        """Approve mode (supervisors): the chosen drafts are queued; the next drain sends them."""
        with self.dashboard.store.session() as session:
            own = {item["draft"].message_id for item in self._visible(session, user)}
            done = conversations.approve(session, self._chosen(form, own), user.name)
        return RedirectResponse(f"/drafts?approved={done}", status_code=303)

    def reject(self, request: Request, user: SessionUser, form: Form) -> Response:
        reason = form.get("reason", "").strip()
        if not reason:
            raise HTTPProblem(400, NO_REASON)
        with self.dashboard.store.session() as session:
            own = {item["draft"].message_id for item in self._visible(session, user)}
            done = conversations.reject(session, self._chosen(form, own), user.name, reason)
        if form.get("from") == "assist":
            return RedirectResponse(f"/assist?after={max(self._chosen(form, own))}&done=rejected", status_code=303)
        return RedirectResponse(f"/drafts?rejected={done}", status_code=303)

    def assist(self, request: Request, user: SessionUser, form: Form) -> Response:
        """One draft at a time, the oldest after `after` (skipped ones come back when the queue starts again)."""
        after = int_param(request.query_params.get("after"), "after", 0) or 0
        with self.dashboard.store.session() as session:
            items = self._visible(session, user)
        queue = [item for item in items if item["draft"].message_id > after] or (items if after else [])
        window = SendWindow.from_settings(self.dashboard.settings.sending)
        return self.dashboard.render(
            request,
            "assist.html",
            {
                "user": user,
                "item": queue[0] if queue else None,
                "left": len(items),
                "done": request.query_params.get("done"),
                "window_open": window.is_open(utcnow()),
                "next_open": window.next_open(utcnow()),
            },
        )

    def assist_send(self, request: Request, user: SessionUser, form: Form) -> Response:
        """Send this draft now, with the fieldworker's edit when there is one (it must still name the organisation
        and say how to stop)."""
        message_id = int(request.path_params["message_id"])
        body = " ".join(form.get("body", "").split())
        with self.dashboard.store.session() as session:
            own = {item["draft"].message_id: item["draft"] for item in self._visible(session, user)}
            draft = own.get(message_id)
            if draft is None:
                raise HTTPProblem(404, N_("No such draft."))
            if body and body != " ".join(draft.body.split()):
                conversations.edit_draft(session, message_id, body, self.dashboard.settings, user.name)
            conversations.approve(session, [message_id], user.name)
        if SendWindow.from_settings(self.dashboard.settings.sending).is_open(utcnow()):
            try:
                with closing(make_outbox(self.dashboard.settings, self.dashboard.store, user.name, optouts)) as outbox:
                    outbox.send_one(message_id)
            except OutreachError:  # paused, or a drain took it first: it is queued and leaves with the next drain
                return RedirectResponse(f"/assist?after={message_id}&done=queued", status_code=303)
            return RedirectResponse(f"/assist?after={message_id}&done=sent", status_code=303)
        return RedirectResponse(f"/assist?after={message_id}&done=queued", status_code=303)
