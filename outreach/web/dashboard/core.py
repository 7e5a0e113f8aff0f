"""What every dashboard page shares: who is logged in, may they see this, is the form genuine, and rendering.

Each route is declared with the role it needs; the guard looks the session up, answers 403 to the wrong role and to
a POST whose CSRF token does not match the session's, before the handler runs. Handlers are plain synchronous
functions run in the thread pool (SQLAlchemy sessions are synchronous).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from messaging.templates import TemplateBook
from outreach.access.roles import Access, access
from outreach.access.users import SessionUser, session_user
from outreach.crypto import PhoneVault
from outreach.errors import N_, OutreachError, PermissionDenied
from outreach.settings import Settings
from outreach.store.db import Store
from outreach.store.models import Person
from outreach.web import i18n

logger = logging.getLogger("outreach.web.dashboard")
SESSION_COOKIE = "outreach_session"
LOGIN_CSRF_COOKIE = "outreach_login_csrf"
# The language chosen before logging in (the log-in page's links); after, the user's own (users.language).
LANGUAGE_COOKIE = "outreach_language"

Form = dict[str, str]
FORM_EXPIRED = N_("The form expired or did not come from this site.")
NOT_A_NUMBER = N_("That is not a phone number we can read.")
NO_REASON = N_("Say why, for the audit log.")
Handler = Callable[[Request, SessionUser, Form], Response]


class HTTPProblem(Exception):
    """A page answer other than 200, rendered by one handler: 400 bad input, 403 not allowed, 404 not found.
    The message is marked with N_() and translated when shown; its %(name)s values come as keywords."""

    def __init__(self, status: int, message: str, /, **params: Any) -> None:
        super().__init__(message % params if params else message)
        self.status = status
        self.message = message
        self.params = params


@dataclass
class Dashboard:
    settings: Settings
    store: Store
    vault: PhoneVault
    # One environment per language (outreach.web.i18n.LANGUAGES), all loaded at start-up: a catalog that is
    # missing stops `serve` with one line instead of failing on the first Dutch page.
    templates: dict[str, Environment]
    # The first-contact message templates, checked, loaded at their first use (an approval, a rewrite): what the
    # dashboard composes with, the same checked templates as a cycle's.
    _first_contact: TemplateBook | None = field(default=None, init=False)

    @classmethod
    def create(cls, settings: Settings, store: Store) -> Dashboard:
        zone = settings.sending.timezone
        environments = {language: i18n.environment(language, zone) for language in i18n.LANGUAGES}
        for environment in environments.values():  # approve and assist modes: the menu shows the drafts
            environment.globals["drafts_in_use"] = settings.sending.mode != "auto"
        return cls(settings, store, PhoneVault.from_settings(settings), environments)

    def first_contact_templates(self) -> TemplateBook:
        if self._first_contact is None:
            from messaging.template_check import require_templates_pass
            from outreach.targeting.contact_pass import first_contact_templates

            require_templates_pass(self.settings)
            self._first_contact = first_contact_templates(self.settings)
        return self._first_contact

    def compile_templates(self) -> None:
        """Compile every page's template in every language now (at start, in the background): the first view of a
        page would otherwise wait for it (tens of milliseconds for the overview)."""
        for environment in self.templates.values():
            for name in environment.list_templates(extensions=["html"]):
                environment.get_template(name)

    def language(self, request: Request, user: SessionUser | None) -> str:
        """The user's own choice, else the one made on the log-in page, else the installation's (`web.language`)."""
        for choice in (user.language if user else None, request.cookies.get(LANGUAGE_COOKIE)):
            if choice in i18n.LANGUAGES:
                return choice
        return self.settings.web.language

    def render(self, request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
        language = self.language(request, context.get("user"))
        template = self.templates[language].get_template(name)
        html = template.render(request=request, path=request.url.path, **context)
        return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})

    def problem(
        self,
        request: Request,
        user: SessionUser | None,
        status: int,
        message: str,
        params: dict[str, Any] | None = None,
    ) -> HTMLResponse:
        """An error page; `message` is an N_()-marked text, shown in the user's language with `params` filled in."""
        text = self.translate(request, user, message, params)
        return self.render(request, "error.html", {"user": user, "status": status, "message": text}, status)

    def translate(
        self, request: Request, user: SessionUser | None, message: str, params: dict[str, Any] | None = None
    ) -> str:
        """An N_()-marked text in the language this request is answered in."""
        return i18n.translate(self.language(request, user), message, params)

    def access(self, user: SessionUser) -> Access:
        """What this user may see and do: the one rule of outreach.access.roles, as for the CLI."""
        return access(self.settings, user.name, supervisor=user.is_supervisor)

    def person(self, session: Session, user: SessionUser, person_id: int) -> Person:
        """The person, if this user may see them (several organisations: their own); otherwise 404."""
        person = session.get(Person, person_id)
        if person is None or not self.access(user).sees_person(session, person_id):
            raise HTTPProblem(404, N_("No such person."))
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
                return self.problem(request, None, 403, N_("Please log in again."))
            if role == "supervisor" and not user.is_supervisor:
                return self.problem(request, user, 403, N_("This page is for supervisors."))
            form: Form = {}
            if request.method == "POST":
                form = {key: str(value) for key, value in (await request.form()).items()}
                if not secrets.compare_digest(form.get("csrf", "").encode(), user.csrf_token.encode()):
                    logger.warning("rejected a form without a valid CSRF token on %s", request.url.path)
                    return self.problem(request, user, 403, FORM_EXPIRED)
            try:
                return await run_in_threadpool(handler, request, user, form)
            except HTTPProblem as exc:
                return self.problem(request, user, exc.status, exc.message, exc.params)
            except PermissionDenied as exc:
                return self.problem(request, user, 403, exc.message, exc.params)
            except OutreachError as exc:  # a refused action (opted out, empty reply, bad number): say why
                return self.problem(request, user, 400, exc.message, exc.params)

        return endpoint


def local_path(value: str | None, default: str = "/") -> str:
    """A path of this site to go back to: never an address elsewhere (an open redirect), never //host or \\."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return value


def int_param(value: str | None, name: str, default: int | None = None) -> int | None:
    if value is None or value == "":
        return default
    if not value.isdigit() or len(value) > 9:
        raise HTTPProblem(400, N_("%(field)s: expected a number"), field=name)
    return int(value)
