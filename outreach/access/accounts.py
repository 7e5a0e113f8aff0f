"""Managing dashboard users (`outreach user ...`): who may, and what each change does at once.

Only a supervisor manages users, and only a supervisor makes another supervisor; the one exception is the very
first supervisor of an installation (none enabled yet), which whoever runs the CLI on the server may create. The
last enabled supervisor can be neither disabled nor demoted, so nobody locks the installation out of itself.
Disabling a user or resetting a password ends their sessions: the next request of an open browser is refused.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from outreach import audit
from outreach.access.roles import SUPERVISOR, is_supervisor
from outreach.access.users import hash_password
from outreach.audit_events import Event
from outreach.errors import N_, PermissionDenied, UsageError
from outreach.settings import Settings
from outreach.store.models import USER_ROLES, KnownDevice, User, WebSession
from outreach.store.types import utcnow


@dataclass(frozen=True)
class Account:
    name: str
    role: str
    created_at: datetime
    created_by: str
    disabled: bool
    must_change_password: bool
    sessions: int


def _supervisors(session: Session) -> int:
    return session.execute(
        select(func.count(User.id)).where(User.role == SUPERVISOR, User.disabled_at.is_(None))
    ).scalar_one()


def require_manager(session: Session, settings: Settings, actor: str, *, new_role: str | None = None) -> None:
    """Raise unless this actor may manage users: a supervisor (with several organisations, an umbrella supervisor:
    users are the installation's, not one organisation's); or, for the first supervisor, anyone."""
    if new_role == SUPERVISOR and _supervisors(session) == 0:
        return  # bootstrap: the installation has no supervisor yet (audited like any other addition)
    if not is_supervisor(session, actor):
        raise PermissionDenied(
            N_("only a supervisor may manage dashboard users; %(actor)r is not one (outreach user list)"), actor=actor
        )
    if settings.organisations and actor not in settings.umbrella_supervisors:
        raise PermissionDenied(N_("with several organisations, only an umbrella supervisor manages dashboard users"))


def _user(session: Session, name: str) -> User:
    user = session.execute(select(User).where(User.name == name)).scalar_one_or_none()
    if user is None:
        raise UsageError(N_("no user %(name)r (outreach user list)"), name=name)
    return user


def _end_sessions(session: Session, user: User) -> int:
    ended = session.execute(select(func.count(WebSession.id)).where(WebSession.user_id == user.id)).scalar_one()
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    return ended


def accounts(session: Session) -> list[Account]:
    counts = dict(
        session.execute(select(WebSession.user_id, func.count(WebSession.id)).group_by(WebSession.user_id)).all()
    )
    return [
        Account(
            u.name, u.role, u.created_at, u.created_by, u.disabled_at is not None, u.must_change_password,
            counts.get(u.id, 0),
        )
        for u in session.execute(select(User).order_by(User.name)).scalars()
    ]  # fmt: skip


def _keep_a_supervisor(session: Session, user: User, action: str) -> None:
    if user.role == SUPERVISOR and user.disabled_at is None and _supervisors(session) <= 1:
        raise UsageError(
            N_("%(name)r is the last enabled supervisor: make another supervisor first"), name=user.name, action=action
        )


def disable(session: Session, settings: Settings, name: str, actor: str) -> int:
    """Disable a user and end their sessions; returns how many sessions ended."""
    require_manager(session, settings, actor)
    user = _user(session, name)
    if user.disabled_at is not None:
        raise UsageError(N_("user %(name)r is disabled already"), name=name)
    _keep_a_supervisor(session, user, "disable them")
    user.disabled_at = utcnow()
    ended = _end_sessions(session, user)
    session.execute(delete(KnownDevice).where(KnownDevice.user_id == user.id))
    audit.record(session, Event.USER_DISABLED, actor, user_id=user.id, user=name, sessions_ended=ended)
    return ended


def enable(session: Session, settings: Settings, name: str, actor: str) -> None:
    require_manager(session, settings, actor)
    user = _user(session, name)
    if user.disabled_at is None:
        raise UsageError(N_("user %(name)r is not disabled"), name=name)
    user.disabled_at = None
    audit.record(session, Event.USER_ENABLED, actor, user_id=user.id, user=name)


def set_role(session: Session, settings: Settings, name: str, role: str, actor: str) -> None:
    if role not in USER_ROLES:
        raise UsageError(f"a role is one of {', '.join(USER_ROLES)}")
    require_manager(session, settings, actor)
    user = _user(session, name)
    if user.role == role:
        raise UsageError(N_("user %(name)r is a %(role)s already"), name=name, role=role)
    if role != SUPERVISOR:
        _keep_a_supervisor(session, user, "demote them")
    before, user.role = user.role, role
    _end_sessions(session, user)  # a session carries its role: the new one applies from the next log-in
    audit.record(session, Event.USER_ROLE_CHANGED, actor, user_id=user.id, user=name, before=before, role=role)


def reset_password(session: Session, settings: Settings, name: str, actor: str) -> str:
    """A new one-time password (returned to be shown once): it logs in only to choose a new password. The user's
    sessions end and their known devices are forgotten."""
    require_manager(session, settings, actor)
    user = _user(session, name)
    one_time = secrets.token_urlsafe(15)  # 20 characters, 120 bits
    user.password_hash = hash_password(one_time)
    user.must_change_password = True
    ended = _end_sessions(session, user)
    session.execute(delete(KnownDevice).where(KnownDevice.user_id == user.id))
    audit.record(session, Event.USER_PASSWORD_RESET, actor, user_id=user.id, user=name, sessions_ended=ended)
    return one_time
