"""What every dashboard page shares: who is logged in, may they see this, is the form genuine, and rendering.

Each route is declared with the role it needs; the guard looks the session up, answers 403 to the wrong role and to
a POST whose CSRF token does not match the session's, before the handler runs. Handlers are plain synchronous
functions run in the thread pool (SQLAlchemy sessions are synchronous).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from outreach.access.masking import mask
from outreach.access.roles import Access, access
from outreach.access.users import SessionUser, session_user
from outreach.crypto import PhoneVault
from outreach.errors import OutreachError, PermissionDenied
from outreach.settings import Settings
from outreach.store.db import Store
from outreach.store.models import Person

logger = logging.getLogger("outreach.web.dashboard")
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
SESSION_COOKIE = "outreach_session"
LOGIN_CSRF_COOKIE = "outreach_login_csrf"

Form = dict[str, str]
Handler = Callable[[Request, SessionUser, Form], Response]


class HTTPProblem(Exception):
    """A page answer other than 200, rendered by one handler: 400 bad input, 403 not allowed, 404 not found."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Dashboard:
    settings: Settings
    store: Store
    vault: PhoneVault
    templates: Environment

    @classmethod
    def create(cls, settings: Settings, store: Store) -> Dashboard:
        env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.filters["mask"] = lambda number: mask(number) if number else "-"
        return cls(settings, store, PhoneVault.from_settings(settings), env)

    def render(self, request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
        html = self.templates.get_template(name).render(request=request, path=request.url.path, **context)
        return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})

    def problem(self, request: Request, user: SessionUser | None, status: int, message: str) -> HTMLResponse:
        return self.render(request, "error.html", {"user": user, "status": status, "message": message}, status)

    def access(self, user: SessionUser) -> Access:
        """What this user may see and do: the one rule of outreach.access.roles, as for the CLI."""
        return access(self.settings, user.name, supervisor=user.is_supervisor)

    def person(self, session: Session, user: SessionUser, person_id: int) -> Person:
        """The person, if this user may see them (several organisations: their own); otherwise 404."""
        person = session.get(Person, person_id)
        if person is None or not self.access(user).sees_person(session, person_id):
            raise HTTPProblem(404, "No such person.")
        return person

    def _user(self, token: str) -> SessionUser | None:
        with self.store.session() as session:
            return session_user(session, token)

    def route(self, handler: Handler, *, role: str = "fieldworker") -> Callable[[Request], Awaitable[Response]]:
        """Wrap a handler: log-in required, `role="supervisor"` for supervisors only, CSRF checked on POST."""

        async def endpoint(request: Request) -> Response:
            token = request.cookies.get(SESSION_COOKIE)
            user = await run_in_threadpool(self._user, token) if token else None
            if user is None:
                if request.method == "GET":
                    return RedirectResponse("/login", status_code=303)
                return self.problem(request, None, 403, "Please log in again.")
            if role == "supervisor" and not user.is_supervisor:
                return self.problem(request, user, 403, "This page is for supervisors.")
            form: Form = {}
            if request.method == "POST":
                form = {key: str(value) for key, value in (await request.form()).items()}
                if not secrets.compare_digest(form.get("csrf", "").encode(), user.csrf_token.encode()):
                    logger.warning("rejected a form without a valid CSRF token on %s", request.url.path)
                    return self.problem(request, user, 403, "The form expired or did not come from this site.")
            try:
                return await run_in_threadpool(handler, request, user, form)
            except HTTPProblem as exc:
                return self.problem(request, user, exc.status, exc.message)
            except PermissionDenied as exc:
                return self.problem(request, user, 403, str(exc))
            except OutreachError as exc:  # a refused action (opted out, empty reply, bad number): say why
                return self.problem(request, user, 400, str(exc))

        return endpoint


def int_param(value: str | None, name: str, default: int | None = None) -> int | None:
    if value is None or value == "":
        return default
    if not value.isdigit() or len(value) > 9:
        raise HTTPProblem(400, f"{name}: expected a number")
    return int(value)
