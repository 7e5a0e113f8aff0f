"""The dashboard's routes, each with the role it needs, and the security headers every response carries."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from jinja2 import TemplateError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from outreach.settings import Settings
from outreach.store.db import Store
from outreach.web.dashboard.case_pages import CasePages
from outreach.web.dashboard.core import Dashboard
from outreach.web.dashboard.draft_pages import DraftPages
from outreach.web.dashboard.log_pages import LogPages
from outreach.web.dashboard.login import Login
from outreach.web.dashboard.people_pages import PeoplePages
from outreach.web.dashboard.review_pages import ReviewPages
from outreach.web.dashboard.stats_pages import StatsPages
from outreach.web.dashboard.supervisor_pages import SupervisorPages
from outreach.web.dashboard.user_pages import UserPages

logger = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent.parent / "static"

# No inline script or style anywhere: CSS and JavaScript come from /static only.
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every HTTP response (webhooks too: they harm nothing there)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items() if k.encode() not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


def inbox_moved(request: Request) -> Response:
    """The old inbox only queued an answer; the conversations (/cases) send it at once. Old bookmarks land there
    (and from there on the log-in page when nobody is logged in)."""
    return RedirectResponse("/cases", status_code=303)


@dataclass(frozen=True)
class DashboardRoutes:
    routes: list[BaseRoute]
    # what the dashboard does at start, in its own thread until done or told to stop: compiling the templates and
    # counting the overviews
    warm: Callable[[threading.Event], None]


def dashboard_routes(settings: Settings, store: Store) -> DashboardRoutes:
    dashboard = Dashboard.create(settings, store)
    login, log, people = Login(dashboard), LogPages(dashboard), PeoplePages(dashboard)
    supervisor, stats = SupervisorPages(dashboard), StatsPages(dashboard)
    cases, drafts, users = CasePages(dashboard), DraftPages(dashboard), UserPages(dashboard)
    review = ReviewPages(dashboard)
    route, supervisors = dashboard.route, "supervisor"
    routes: list[BaseRoute] = [
        Route("/login", login.page, methods=["GET"]),
        Route("/login", login.submit, methods=["POST"]),
        Route("/logout", route(login.log_out), methods=["POST"]),
        Route("/language", route(login.set_language), methods=["POST"]),
        Route("/", route(stats.overview), methods=["GET"]),
        Route("/stats", route(stats.stats), methods=["GET"]),
        Route("/stats/report.pdf", route(stats.report), methods=["GET"]),
        Route("/log", route(log.log), methods=["GET"]),
        Route("/log", route(log.search), methods=["POST"]),
        Route("/log.csv", route(log.export), methods=["GET"]),
        Route("/adverts/{advert_id:id}", route(people.advert), methods=["GET"]),
        Route("/adverts/{advert_id:id}/reveal", route(people.reveal_advert, role=supervisors), methods=["POST"]),
        Route("/adverts/{advert_id:id}/language", route(people.advert_language), methods=["POST"]),
        Route("/persons/{person_id:id}", route(people.person), methods=["GET"]),
        Route("/persons/{person_id:id}/reveal", route(people.reveal, role=supervisors), methods=["POST"]),
        Route("/persons/{person_id:id}/block", route(people.block), methods=["POST"]),
        Route("/persons/{person_id:id}/resend", route(people.resend), methods=["POST"]),
        Route("/cases", route(cases.case_list), methods=["GET"]),
        Route("/cases/{case_id:id}", route(cases.case), methods=["GET"]),
        Route("/cases/{case_id:id}/reply", route(cases.reply), methods=["POST"]),
        Route("/cases/{case_id:id}/note", route(cases.note), methods=["POST"]),
        Route("/cases/{case_id:id}/labels", route(cases.labels), methods=["POST"]),
        Route("/cases/{case_id:id}/assign", route(cases.assign), methods=["POST"]),
        Route("/cases/{case_id:id}/close", route(cases.close), methods=["POST"]),
        Route("/review", route(review.held), methods=["GET"]),
        Route("/review/{held_id:id}", route(review.decide), methods=["POST"]),
        Route("/drafts", route(drafts.list_drafts), methods=["GET"]),
        Route("/drafts/approve", route(drafts.approve, role=supervisors), methods=["POST"]),
        Route("/drafts/reject", route(drafts.reject), methods=["POST"]),
        Route("/assist", route(drafts.assist), methods=["GET"]),
        Route("/assist/{message_id:id}/send", route(drafts.assist_send), methods=["POST"]),
        Route("/assist/{message_id:id}/language", route(drafts.assist_language), methods=["POST"]),
        Route("/inbox", inbox_moved, methods=["GET"]),
        Route("/stops", route(supervisor.stops, role=supervisors), methods=["GET"]),
        Route("/stops/add", route(supervisor.add, role=supervisors), methods=["POST"]),
        Route("/stops/remove", route(supervisor.remove, role=supervisors), methods=["POST"]),
        Route("/audit", route(supervisor.audit_log, role=supervisors), methods=["GET"]),
        Route("/users", route(users.users, role=supervisors), methods=["GET"]),
        Route("/users/add", route(users.add, role=supervisors), methods=["POST"]),
        Route("/users/change", route(users.change, role=supervisors), methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]

    def warm(stopping: threading.Event) -> None:
        try:
            dashboard.compile_templates()
        except TemplateError as exc:  # the page says it again when it is asked for
            logger.error("dashboard template does not compile: %s", exc)
        stats.warm(stopping)

    return DashboardRoutes(routes, warm)
