"""Supervisors manage the dashboard's users (the rule is outreach.access.accounts', as for `outreach user`): list,
add (with a one-time password shown once), disable (their open sessions end at the next request), enable, reset a
password (a one-time password shown once, to be changed at the first log-in) and change a role."""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from outreach.access import accounts
from outreach.access.users import SessionUser, add_user
from outreach.errors import N_
from outreach.store.models import USER_ROLES, User
from outreach.web.dashboard.core import Dashboard, Form, HTTPProblem

ACTIONS = ("disable", "enable", "passwd", "role")


class UserPages:
    def __init__(self, dashboard: Dashboard) -> None:
        self.dashboard = dashboard

    def _page(self, request: Request, user: SessionUser, shown: dict[str, str] | None = None) -> Response:
        with self.dashboard.store.session() as session:
            accounts.require_manager(session, self.dashboard.settings, user.name)  # umbrella only, with several
            listed = accounts.accounts(session)
        return self.dashboard.render(
            request,
            "users.html",
            {
                "user": user,
                "accounts": listed,
                "roles": USER_ROLES,
                "shown": shown,
                "done": request.query_params.get("done"),
            },
        )

    def users(self, request: Request, user: SessionUser, form: Form) -> Response:
        return self._page(request, user)

    def add(self, request: Request, user: SessionUser, form: Form) -> Response:
        """A new user with a one-time password, answered to this POST only (never in a URL or the history)."""
        name, role = form.get("name", "").strip(), form.get("role", "")
        one_time = secrets.token_urlsafe(15)
        with self.dashboard.store.session() as session:
            accounts.require_manager(session, self.dashboard.settings, user.name, new_role=role)
            user_id = add_user(session, name, role, one_time, user.name)
            added = session.get(User, user_id)
            assert added is not None
            added.must_change_password = True
        return self._page(request, user, {"name": name, "password": one_time})

    def change(self, request: Request, user: SessionUser, form: Form) -> Response:
        name, action = form.get("name", ""), form.get("action", "")
        if action not in ACTIONS:
            raise HTTPProblem(400, N_("Choose one of the actions offered."))
        settings = self.dashboard.settings
        with self.dashboard.store.session() as session:
            if action == "disable":
                accounts.disable(session, settings, name, user.name)
            elif action == "enable":
                accounts.enable(session, settings, name, user.name)
            elif action == "role":
                accounts.set_role(session, settings, name, form.get("role", ""), user.name)
            else:
                one_time = accounts.reset_password(session, settings, name, user.name)
        if action == "passwd":
            return self._page(request, user, {"name": name, "password": one_time})
        return RedirectResponse(f"/users?done={action}", status_code=303)
