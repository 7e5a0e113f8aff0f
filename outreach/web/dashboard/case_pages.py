"""The fieldworker's cases: the list (mine, unassigned, waiting longer than N hours, by label) and one case: the
whole thread, the adverts, an answer that leaves at once through the one outbox path, notes, outcome labels, and
taking, handing over, closing (resuming the automatic messages of a person a possible opt-out paused) and
reopening. A case of another organisation is a 404, as a person is."""

from __future__ import annotations

import logging
from contextlib import closing
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from messaging.outbox.factory import make_outbox
from messaging.outbox.send_policy import SendWindow
from messaging.quick_replies import QuickReply, quick_replies
from messaging.segments import count_segments
from outreach.access.roles import visible_organisations
from outreach.access.users import SessionUser
from outreach.errors import N_, OutreachError
from outreach.people import cases, optouts
from outreach.people.conversations import mark_handled, queue_reply, reply_channel
from outreach.reports.inspect import person_view
from outreach.store.models import Case, Message, User
from outreach.store.states import CaseStatus, Direction
from outreach.store.types import utcnow
from outreach.web.dashboard.core import Dashboard, Form, HTTPProblem, int_param

logger = logging.getLogger("outreach.web.dashboard")
VIEWS = ("open", "mine", "unassigned", "closed", "all")


class CasePages:
    def __init__(self, dashboard: Dashboard) -> None:
        self.dashboard = dashboard

    def _organisations(self, user: SessionUser) -> list[str] | None:
        """The organisations whose cases this user sees (None: all; with one organisation they are stored as "")."""
        return visible_organisations(self.dashboard.settings, user.name)

    def _case(self, session: Session, user: SessionUser, case_id: int) -> Case:
        case = session.get(Case, case_id)
        own = self._organisations(user)
        if case is None or (own is not None and case.organisation not in own):
            raise HTTPProblem(404, N_("No such case."))
        self.dashboard.person(session, user, case.person_id)  # the same rule as the person's own page
        return case

    def case_list(self, request: Request, user: SessionUser, form: Form) -> Response:
        params = request.query_params
        view = params.get("view", "open")
        if view not in VIEWS:
            raise HTTPProblem(400, N_("Choose one of the lists offered."))
        hours = int_param(params.get("waiting"), "waiting")
        label = str(params.get("label", "")).strip()[:60] or None
        if label is not None and label not in self.dashboard.settings.cases.outcome_labels:
            raise HTTPProblem(400, N_("not an outcome label: %(label)s"), label=label)
        wanted = cases.CaseFilter(
            organisations=self._organisations(user),
            status=None if view == "all" else (CaseStatus.CLOSED if view == "closed" else CaseStatus.OPEN),
            assigned_to=user.name if view == "mine" else None,
            unassigned=view == "unassigned",
            waiting_longer_than=timedelta(hours=hours) if hours else None,
            label=label,
        )
        with self.dashboard.store.session() as session:
            rows = cases.case_list(session, self.dashboard.vault, wanted)
        return self.dashboard.render(
            request,
            "cases.html",
            {
                "user": user,
                "rows": rows,
                "view": view,
                "views": VIEWS,
                "waiting": hours or "",
                "label": label or "",
                "labels": self.dashboard.settings.cases.outcome_labels,
                "several_organisations": bool(self.dashboard.settings.organisations),
            },
        )

    def case(self, request: Request, user: SessionUser, form: Form) -> Response:
        case_id = int(request.path_params["case_id"])
        settings = self.dashboard.settings
        with self.dashboard.store.session() as session:
            case = self._case(session, user, case_id)
            person = self.dashboard.person(session, user, case.person_id)
            view = person_view(session, self.dashboard.vault, person)
            stopped = optouts.is_stopped(session, person.key)
            notes = cases.notes(session, self.dashboard.vault, case.id)
            labels = cases.labels_of(session, case.id)
            colleagues = sorted(session.execute(select(User.name).where(User.disabled_at.is_(None))).scalars())
            facts: dict[str, Any] = {
                "id": case.id,
                "status": case.status,
                "assigned_to": case.assigned_to,
                "organisation": case.organisation,
                "opened_at": case.opened_at,
                "waiting_since": person.needs_fieldworker_since,
                "escalated": case.escalated_at is not None,
            }
            now = utcnow()
            channel = reply_channel(session, person, settings, now)
        window = SendWindow.from_settings(settings.sending)
        sent = int_param(request.query_params.get("sent"), "sent")
        spoken = [m["language"] for m in view["messages"] if m["direction"] == Direction.OUT and m["language"]]
        signature = settings.signature(case.organisation or None)
        replies: list[QuickReply] = []
        for language in dict.fromkeys([*reversed(spoken), self.dashboard.language(request, user), "en"]):
            replies = quick_replies(settings.templates_dir, language, signature.name, user.name)
            if replies:
                break
        return self.dashboard.render(
            request,
            "case.html",
            {
                "user": user,
                "case": facts,
                "person": view,
                "stopped": stopped,
                "notes": notes,
                "labels": labels,
                "all_labels": settings.cases.outcome_labels,
                "colleagues": colleagues,
                "window_open": window.is_open(now),
                "next_open": window.next_open(now),
                "max_segments": settings.cases.reply_max_segments,
                "sent": sent,
                "sent_status": self._status_of(sent),
                "queued": request.query_params.get("queued"),
                "quick_replies": replies,
                "reply_channel": channel,
            },
        )

    def _status_of(self, message_id: int | None) -> str | None:
        if message_id is None:
            return None
        with self.dashboard.store.session() as session:
            message = session.get(Message, message_id)
            return message.status if message is not None else None

    def reply(self, request: Request, user: SessionUser, form: Form) -> Response:
        """The answer leaves at once through the one outbox path (opt-out and block checks, audit); outside the
        send window it waits in the outbox and the page says when it leaves."""
        case_id = int(request.path_params["case_id"])
        settings = self.dashboard.settings
        body = form.get("body", "").strip()
        if not body:
            raise HTTPProblem(400, N_("the reply is empty"))
        parts = count_segments(body).segments
        if parts > settings.cases.reply_max_segments:
            raise HTTPProblem(
                400,
                N_("The answer would cost %(parts)s SMS parts; at most %(limit)s: make it shorter."),
                parts=parts,
                limit=settings.cases.reply_max_segments,
            )
        with self.dashboard.store.session() as session:
            case = self._case(session, user, case_id)
            # queue_reply refuses an opted-out or blocked person, with the reason
            message_id = queue_reply(session, case.person_id, body, settings, user.name)
            if case.assigned_to is None:
                case.assigned_to = user.name  # who answers an unassigned case has it
        if not SendWindow.from_settings(settings.sending).is_open(utcnow()):
            return RedirectResponse(f"/cases/{case_id}?sent={message_id}&queued=window", status_code=303)
        try:
            with closing(make_outbox(settings, self.dashboard.store, user.name, optouts)) as outbox:
                outbox.send_one(message_id)
        except OutreachError as exc:  # paused, or taken by a drain running at the same moment: it stays queued
            logger.warning("reply %s not sent at once: %s", message_id, exc)
            return RedirectResponse(f"/cases/{case_id}?sent={message_id}&queued=paused", status_code=303)
        return RedirectResponse(f"/cases/{case_id}?sent={message_id}", status_code=303)

    def note(self, request: Request, user: SessionUser, form: Form) -> Response:
        case_id = int(request.path_params["case_id"])
        text = form.get("note", "")
        if len(text) > cases.NOTE_LIMIT:
            raise HTTPProblem(400, N_("a note is at most %(limit)s characters"), limit=cases.NOTE_LIMIT)
        with self.dashboard.store.session() as session:
            self._case(session, user, case_id)
            cases.add_note(session, self.dashboard.vault, case_id, text, user.name)
        return RedirectResponse(f"/cases/{case_id}#notes", status_code=303)

    def labels(self, request: Request, user: SessionUser, form: Form) -> Response:
        case_id = int(request.path_params["case_id"])
        chosen = {value for key, value in form.items() if key.startswith("label-")}
        with self.dashboard.store.session() as session:
            self._case(session, user, case_id)
            cases.set_labels(session, case_id, chosen, self.dashboard.settings.cases.outcome_labels, user.name)
        return RedirectResponse(f"/cases/{case_id}#labels", status_code=303)

    def assign(self, request: Request, user: SessionUser, form: Form) -> Response:
        """Take a case (fieldworkers: an unassigned one), hand it back, or (supervisors) give it to a colleague."""
        case_id = int(request.path_params["case_id"])
        action = form.get("action", "take")
        with self.dashboard.store.session() as session:
            case = self._case(session, user, case_id)
            if action == "release":
                if case.assigned_to != user.name and not user.is_supervisor:
                    raise HTTPProblem(403, N_("Only the fieldworker who has the case or a supervisor can do that."))
                cases.release(session, case_id, user.name)
            elif action == "give":
                if not user.is_supervisor:
                    raise HTTPProblem(403, N_("Only a supervisor gives a case to a colleague."))
                colleague = form.get("to", "").strip()
                found = session.execute(select(User.id).where(User.name == colleague, User.disabled_at.is_(None)))
                if found.first() is None:
                    raise HTTPProblem(400, N_("No such colleague."))
                cases.take(session, case_id, user.name, to=colleague, force=True)
            elif action == "take":
                cases.take(session, case_id, user.name)
            else:
                raise HTTPProblem(400, N_("Choose one of the actions offered."))
        return RedirectResponse(f"/cases/{case_id}", status_code=303)

    def close(self, request: Request, user: SessionUser, form: Form) -> Response:
        case_id = int(request.path_params["case_id"])
        with self.dashboard.store.session() as session:
            case = self._case(session, user, case_id)
            if form.get("action") == "reopen":
                cases.reopen(session, case_id, user.name)
            else:
                cases.close(session, case_id, user.name)
                if form.get("resume") == "yes":  # "stop sturen aub" paused them; the fieldworker found it was not a no
                    mark_handled(session, case.person_id, user.name, resume=True)
        return RedirectResponse(f"/cases/{case_id}", status_code=303)
