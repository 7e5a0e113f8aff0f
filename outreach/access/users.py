"""Dashboard users: argon2 password hashes, server-side sessions and log-in rate limiting.

A session cookie holds a random token; the database keeps only its SHA-256, so a copy of the database does not let
anyone log in. Failed log-ins are counted per user name and per client address (hashed) in the database, so the
limit holds across processes.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from outreach import audit
from outreach.audit_events import Event
from outreach.errors import UsageError
from outreach.store.models import USER_ROLES, LoginFailure, User, WebSession
from outreach.store.types import utcnow

SESSION_LIFETIME = timedelta(hours=8)
SESSION_IDLE = timedelta(hours=1)
FAILURE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_CLIENT = 20
MIN_PASSWORD_LENGTH = 12

_hasher = PasswordHasher()
# Checked when the user name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


@dataclass(frozen=True)
class SessionUser:
    user_id: int
    name: str
    role: str
    csrf_token: str
    language: str | None = None  # the dashboard's language they chose; None: the installation's

    @property
    def is_supervisor(self) -> bool:
        return self.role == "supervisor"


class TooManyAttempts(Exception):
    """Log-in refused without checking the password: too many recent failures for this name or address."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def client_key(address: str) -> str:
    """The client address as stored for rate limiting: a hash, not the address."""
    return hashlib.sha256(address.encode()).hexdigest()


def add_user(session: Session, name: str, role: str, password: str, actor: str) -> int:
    name = name.strip()
    if not name or len(name) > 80:
        raise UsageError("a user name is 1 to 80 characters")
    if role not in USER_ROLES:
        raise UsageError(f"--role must be one of {', '.join(USER_ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UsageError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters")
    if session.execute(select(User.id).where(User.name == name)).first() is not None:
        raise UsageError(f"user {name!r} exists already")
    user = User(name=name, role=role, password_hash=_hasher.hash(password), created_by=actor)
    session.add(user)
    session.flush()
    audit.record(session, Event.USER_ADDED, actor, user_id=user.id, user=name, role=role)
    return user.id


def _recent_failures(session: Session, column: Any, value: str, now: datetime) -> int:
    return session.execute(
        select(func.count(LoginFailure.id)).where(column == value, LoginFailure.created_at >= now - FAILURE_WINDOW)
    ).scalar_one()


def log_in(session: Session, name: str, password: str, address: str) -> tuple[str, SessionUser] | None:
    """A new session token and its user, or None for a wrong name or password; TooManyAttempts when limited."""
    now = utcnow()
    client = client_key(address)
    name = name.strip()[:80]
    # Housekeeping on the way: failures older than the window and expired sessions are of no use to anyone.
    session.execute(delete(LoginFailure).where(LoginFailure.created_at < now - FAILURE_WINDOW))
    session.execute(delete(WebSession).where(WebSession.expires_at < now))
    if (
        _recent_failures(session, LoginFailure.username, name, now) >= MAX_FAILURES_PER_USER
        or _recent_failures(session, LoginFailure.client, client, now) >= MAX_FAILURES_PER_CLIENT
    ):
        raise TooManyAttempts
    user = session.execute(select(User).where(User.name == name, User.disabled_at.is_(None))).scalar_one_or_none()
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
        ok = user is not None
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None:
        session.add(LoginFailure(username=name, client=client, created_at=now))
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            token_hash=hash_token(token),
            user_id=user.id,
            csrf_token=csrf,
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
            last_seen_at=now,
        )
    )
    session.execute(delete(LoginFailure).where(LoginFailure.username == name))
    audit.record(session, Event.USER_LOGGED_IN, user.name, user_id=user.id)
    return token, SessionUser(user.id, user.name, user.role, csrf, user.language)


def session_user(session: Session, token: str) -> SessionUser | None:
    """The user behind a session cookie, if the session exists, has not expired and was used recently."""
    now = utcnow()
    row = session.execute(
        select(WebSession, User)
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.token_hash == hash_token(token), User.disabled_at.is_(None))
    ).first()
    if row is None:
        return None
    web_session, user = row
    if web_session.expires_at <= now or web_session.last_seen_at + SESSION_IDLE <= now:
        session.delete(web_session)
        return None
    if now - web_session.last_seen_at > timedelta(minutes=1):  # one write a minute, not one per request
        web_session.last_seen_at = now
    return SessionUser(user.id, user.name, user.role, web_session.csrf_token, user.language)


def set_language(session: Session, user_id: int, language: str | None) -> None:
    """The dashboard's language for this user (None: the installation's default)."""
    user = session.get(User, user_id)
    if user is not None:
        user.language = language


def log_out(session: Session, token: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_hash == hash_token(token)))
