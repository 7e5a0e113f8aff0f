"""The dashboard's routes, each with the role it needs, and the security headers every response carries."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from outreach.settings import Settings
from outreach.store.db import Store
from outreach.web.dashboard.case_pages import CasePages
from outreach.web.dashboard.core import Dashboard
from outreach.web.dashboard.inbox_pages import InboxPages
from outreach.web.dashboard.log_pages import LogPages
from outreach.web.dashboard.login import Login
from outreach.web.dashboard.people_pages import PeoplePages
from outreach.web.dashboard.stats_pages import StatsPages
from outreach.web.dashboard.supervisor_pages import SupervisorPages

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


def dashboard_routes(settings: Settings, store: Store) -> list[BaseRoute]:
    dashboard = Dashboard.create(settings, store)
    login, log, people = Login(dashboard), LogPages(dashboard), PeoplePages(dashboard)
    inbox, supervisor, stats = InboxPages(dashboard), SupervisorPages(dashboard), StatsPages(dashboard)
    cases = CasePages(dashboard)
    route, supervisors = dashboard.route, "supervisor"
    return [
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
        Route("/adverts/{advert_id:int}", route(people.advert), methods=["GET"]),
        Route("/persons/{person_id:int}", route(people.person), methods=["GET"]),
        Route("/persons/{person_id:int}/reveal", route(people.reveal, role=supervisors), methods=["POST"]),
        Route("/persons/{person_id:int}/block", route(people.block), methods=["POST"]),
        Route("/cases", route(cases.case_list), methods=["GET"]),
        Route("/cases/{case_id:int}", route(cases.case), methods=["GET"]),
        Route("/cases/{case_id:int}/reply", route(cases.reply), methods=["POST"]),
        Route("/cases/{case_id:int}/note", route(cases.note), methods=["POST"]),
        Route("/cases/{case_id:int}/labels", route(cases.labels), methods=["POST"]),
        Route("/cases/{case_id:int}/assign", route(cases.assign), methods=["POST"]),
        Route("/cases/{case_id:int}/close", route(cases.close), methods=["POST"]),
        Route("/inbox", route(inbox.inbox), methods=["GET"]),
        Route("/inbox/{person_id:int}/reply", route(inbox.reply), methods=["POST"]),
        Route("/inbox/{person_id:int}/handled", route(inbox.handled), methods=["POST"]),
        Route("/stops", route(supervisor.stops, role=supervisors), methods=["GET"]),
        Route("/stops/add", route(supervisor.add, role=supervisors), methods=["POST"]),
        Route("/stops/remove", route(supervisor.remove, role=supervisors), methods=["POST"]),
        Route("/audit", route(supervisor.audit_log, role=supervisors), methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
