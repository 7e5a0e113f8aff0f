"""Drafted first contacts in the browser. Approve mode: a supervisor reads the drafts (advert snippet, detected
language and confidence, the message, its SMS parts) and approves or rejects them, one by one or several at once.
Assist mode: a fieldworker works the queue one draft at a time, as in Spoke: send, edit, skip, reject (keys s, e,
k, r). The same functions as `outreach approve` and `outreach assist`, the same audit events."""

from __future__ import annotations

from contextlib import closing
from typing import Any
from urllib.parse import urlencode

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
from outreach.targeting.advert_language import redraft
from outreach.web.dashboard.core import NO_REASON, Dashboard, Form, HTTPProblem, int_param

SNIPPET = 300
DRAFTS_PAGE = 100  # drafts a page lists; the rest on the next pages


class DraftPages:
    def __init__(self, dashboard: Dashboard) -> None:
        self.dashboard = dashboard

    def _visible(
        self,
        session: Session,
        user: SessionUser,
        *,
        after: int = 0,
        offset: int = 0,
        ids: list[int] | None = None,
        limit: int | None = DRAFTS_PAGE,
    ) -> list[dict[str, Any]]:
        """The user's organisations' drafts (oldest first), each with what the page shows of it."""
        found = conversations.drafts(
            session,
            self.dashboard.vault,
            limit,
            organisations=self.dashboard.access(user).organisations,
            after=after,
            offset=offset,
            ids=ids,
        )
        confidence: dict[int, float | None] = {}
        for message_id, value in session.execute(
            select(Message.id, Message.language_confidence).where(Message.id.in_([d.message_id for d in found]))
        ):
            confidence[message_id] = value
        return [
            {
                "draft": draft,
                "mark": conversations.seen_mark(draft.body),
                "confidence": confidence.get(draft.message_id),
                "parts": count_segments(draft.body),
                "snippet": " ".join(f"{draft.advert_title}. {draft.advert_text}".split())[:SNIPPET],
            }
            for draft in found
        ]

    def _chosen(self, session: Session, user: SessionUser, form: Form) -> list[int]:
        """The drafts ticked in the form; every one must be a waiting draft the user may see."""
        ticked = [key[6:] for key in form if key.startswith("draft-")]
        if not ticked:
            raise HTTPProblem(400, N_("Choose at least one draft."))
        if not all(value.isdigit() and len(value) <= 9 for value in ticked):  # no id is that long
            raise HTTPProblem(404, N_("No such draft."))
        chosen = [int(value) for value in ticked]
        own = {item["draft"].message_id for item in self._visible(session, user, ids=chosen, limit=None)}
        if any(message_id not in own for message_id in chosen):
            raise HTTPProblem(404, N_("No such draft."))
        return chosen

    def list_drafts(self, request: Request, user: SessionUser, form: Form) -> Response:
        page = int_param(request.query_params.get("page"), "page", 1) or 1
        with self.dashboard.store.session() as session:
            items = self._visible(session, user, offset=(page - 1) * DRAFTS_PAGE)
            total = conversations.count_drafts(session, self.dashboard.access(user).organisations)
        last = max(1, -(-total // DRAFTS_PAGE))
        if page > last:
            # Past the end (the last page was worked empty, or an old link): the last page, not "no drafts wait".
            return RedirectResponse(f"/drafts?{urlencode({**request.query_params, 'page': last})}", status_code=303)
        return self.dashboard.render(
            request,
            "drafts.html",
            {
                "user": user,
                "items": items,
                "total": total,
                "page": page,
                "has_next": page * DRAFTS_PAGE < total,
                "approved": int_param(request.query_params.get("approved"), "approved"),
                "rejected": int_param(request.query_params.get("rejected"), "rejected"),
                "changed": int_param(request.query_params.get("changed"), "changed"),
            },
        )

    def approve(self, request: Request, user: SessionUser, form: Form) -> Response:
        """Approve mode (supervisors): the chosen drafts are queued; the next drain sends them. A draft that no
        longer says what the page showed (rewritten meanwhile) is left for another look."""
        with self.dashboard.store.session() as session:
            chosen = self._chosen(session, user, form)
            now = {item["draft"].message_id: item for item in self._visible(session, user, ids=chosen, limit=None)}
            # What the page showed (its mark) is what the draft says now; the UPDATE checks that text once more.
            shown = {
                message_id: now[message_id]["draft"].body
                for message_id in chosen
                if form.get(f"draft-{message_id}") == now[message_id]["mark"]
            }
            done = conversations.approve(session, list(shown), user.name, shown=shown)
        changed = len(chosen) - done
        where = f"/drafts?approved={done}" + (f"&changed={changed}" if changed else "")
        return RedirectResponse(where, status_code=303)

    def reject(self, request: Request, user: SessionUser, form: Form) -> Response:
        reason = form.get("reason", "").strip()
        if not reason:
            raise HTTPProblem(400, NO_REASON)
        with self.dashboard.store.session() as session:
            chosen = self._chosen(session, user, form)
            done = conversations.reject(session, chosen, user.name, reason)
        if form.get("from") == "assist":
            return RedirectResponse(f"/assist?after={max(chosen)}&done=rejected", status_code=303)
        return RedirectResponse(f"/drafts?rejected={done}", status_code=303)

    def assist(self, request: Request, user: SessionUser, form: Form) -> Response:
        """One draft at a time, the oldest after `after` (skipped ones come back when the queue starts again)."""
        after = int_param(request.query_params.get("after"), "after", 0) or 0
        with self.dashboard.store.session() as session:
            # The next one after `after`; past the end the queue starts again with the skipped ones.
            queue = self._visible(session, user, after=after, limit=1) or self._visible(session, user, limit=1)
            left = conversations.count_drafts(session, self.dashboard.access(user).organisations)
        window = SendWindow.from_settings(self.dashboard.settings.sending)
        return self.dashboard.render(
            request,
            "assist.html",
            {
                "user": user,
                "languages": self.dashboard.settings.languages,
                "item": queue[0] if queue else None,
                "left": left,
                "done": request.query_params.get("done"),
                "window_open": window.is_open(utcnow()),
                "next_open": window.next_open(utcnow()),
            },
        )

    def assist_language(self, request: Request, user: SessionUser, form: Form) -> Response:
        """This draft written again in another language (and its advert's language set to it), when the detector
        got it wrong; the same draft is shown again."""
        message_id = int(request.path_params["message_id"])
        with self.dashboard.store.reading() as session:
            if not self._visible(session, user, ids=[message_id], limit=1):
                raise HTTPProblem(404, N_("No such draft."))
        templates = self.dashboard.first_contact_templates()
        with self.dashboard.store.session() as session:  # redraft locks the row and checks it is still a draft
            redraft(
                session,
                message_id,
                form.get("language", ""),
                form.get("reason", ""),
                settings=self.dashboard.settings,
                templates=templates,
                actor=user.name,
                now=utcnow(),
                where="dashboard",
            )
        return RedirectResponse(f"/assist?after={message_id - 1}&done=language", status_code=303)

    def assist_send(self, request: Request, user: SessionUser, form: Form) -> Response:
        """Send this draft now, with the fieldworker's edit when there is one (it must still name the organisation
        and say how to stop)."""
        message_id = int(request.path_params["message_id"])
        body = " ".join(form.get("body", "").split())
        with self.dashboard.store.session() as session:
            found = self._visible(session, user, ids=[message_id], limit=1)
            if not found:
                raise HTTPProblem(404, N_("No such draft."))
            draft = found[0]["draft"]
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
