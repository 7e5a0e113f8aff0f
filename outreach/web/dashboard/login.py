"""Log in and log out. Before there is a session, the log-in form is protected by a double-submit token: a random
value in a SameSite=Strict cookie that the form must repeat."""

from __future__ import annotations

import logging
import secrets

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from outreach.access.users import SESSION_LIFETIME, SessionUser, TooManyAttempts, log_in, log_out, set_language
from outreach.errors import N_
from outreach.web import i18n
from outreach.web.dashboard.core import (
    FORM_EXPIRED,
    LANGUAGE_COOKIE,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Dashboard,
    Form,
    HTTPProblem,
)

logger = logging.getLogger("outreach.web.dashboard")


def _cookie(response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", secure=True, httponly=True, samesite="strict")


class Login:
    def __init__(self, dashboard: Dashboard) -> None:
        self.dashboard = dashboard

    def _form(self, request: Request, message: str | None = None, status: int = 200) -> Response:
        token = secrets.token_urlsafe(32)
        response = self.dashboard.render(
            request, "login.html", {"user": None, "csrf": token, "message": message}, status=status
        )
        _cookie(response, LOGIN_CSRF_COOKIE, token, 3600)
        return response

    async def page(self, request: Request) -> Response:
        """The log-in form; `?language=en` chooses the language before logging in (kept in a cookie for a year)."""
        chosen = request.query_params.get("language")
        if chosen in i18n.LANGUAGES:
            response = RedirectResponse("/login", status_code=303)
            _cookie(response, LANGUAGE_COOKIE, chosen, 365 * 24 * 3600)
            return response
        return self._form(request)

    async def submit(self, request: Request) -> Response:
        form = {key: str(value) for key, value in (await request.form()).items()}
        expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        if not expected or not secrets.compare_digest(form.get("csrf", "").encode(), expected.encode()):
            return self.dashboard.problem(request, None, 403, FORM_EXPIRED)
        address = request.client.host if request.client else "unknown"
        try:
            result = await run_in_threadpool(self._log_in, form.get("name", ""), form.get("password", ""), address)
        except TooManyAttempts:
            logger.warning("log-in refused: too many failed attempts")
            message = N_("Too many failed attempts. Wait 15 minutes and try again.")
            return self._form(request, self.dashboard.translate(request, None, message), status=429)
        if result is None:
            logger.info("log-in failed")
            message = N_("Wrong name or password.")
            return self._form(request, self.dashboard.translate(request, None, message), status=401)
        token, user = result
        logger.info("log-in user=%s", user.user_id)
        response = RedirectResponse("/", status_code=303)
        _cookie(response, SESSION_COOKIE, token, int(SESSION_LIFETIME.total_seconds()))
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/", secure=True, httponly=True, samesite="strict")
        return response

    def _log_in(self, name: str, password: str, address: str) -> tuple[str, SessionUser] | None:
        with self.dashboard.store.session() as session:
            return log_in(session, name, password, address)

    def log_out(self, request: Request, user: SessionUser, form: Form) -> Response:
        with self.dashboard.store.session() as session:
            log_out(session, request.cookies.get(SESSION_COOKIE, ""))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="strict")
        return response

    def set_language(self, request: Request, user: SessionUser, form: Form) -> Response:
        """The user's own dashboard language, kept with their account (every device, every session)."""
        chosen = form.get("language", "")
        if chosen not in i18n.LANGUAGES:
            raise HTTPProblem(400, N_("Choose one of the languages offered."))
        with self.dashboard.store.session() as session:
            set_language(session, user.user_id, chosen)
        back = form.get("next", "/")
        # Only a path of this site: never an address elsewhere (an open redirect), never a scheme-relative //host.
        if not back.startswith("/") or back.startswith("//") or "\\" in back:
            back = "/"
        response = RedirectResponse(back, status_code=303)
        _cookie(response, LANGUAGE_COOKIE, chosen, 365 * 24 * 3600)
        return response
