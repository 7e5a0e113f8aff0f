"""Dashboard users: argon2 password hashes, server-side sessions and log-in throttling.

A session cookie holds a random token; the database keeps only its SHA-256, so a copy of the database does not let
anyone log in. Failed log-ins are kept in the database (the address only hashed), so the limits hold across
processes. They slow a guesser without locking out the owner (README, "Log-in limits"):

- per name and address pair, the first PAIR_FREE_FAILURES failures are free, then each try waits twice as long as
  the one before (1 s, 2 s, 4 s ... up to the 15-minute window);
- per name (from any address) and per address (any name), past a limit only a known device may try: a browser that
  logged in as that user before (a random token in a long-lived cookie). A guesser who hammers a name therefore
  never locks its owner out of her own browser.
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
from outreach.errors import N_, UsageError
from outreach.store.models import USER_ROLES, KnownDevice, LoginFailure, User, WebSession
from outreach.store.types import utcnow

SESSION_LIFETIME = timedelta(hours=8)
SESSION_IDLE = timedelta(hours=1)
FAILURE_WINDOW = timedelta(minutes=15)
PAIR_FREE_FAILURES = 3
MAX_FAILURES_PER_USER = 10
MAX_FAILURES_PER_CLIENT = 30
DEVICE_LIFETIME = timedelta(days=180)
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

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"try again in {retry_after} s")
        self.retry_after = retry_after


class PasswordChangeNeeded(Exception):
    """The right one-time password (`outreach user passwd`): the user must choose a new one to log in."""


@dataclass(frozen=True)
class LoggedIn:
    token: str
    user: SessionUser
    device: str  # the known-device token for the browser's cookie


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UsageError(N_("the password must be at least %(length)s characters"), length=MIN_PASSWORD_LENGTH)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def client_key(address: str) -> str:
    """The client address as stored for rate limiting: a hash, not the address."""
    return hashlib.sha256(address.encode()).hexdigest()


def add_user(session: Session, name: str, role: str, password: str, actor: str) -> int:
    name = name.strip()
    if not name or len(name) > 80:
        raise UsageError(N_("a user name is 1 to 80 characters"))
    if role not in USER_ROLES:
        raise UsageError(f"--role must be one of {', '.join(USER_ROLES)}")
    _check_new_password(password)
    if session.execute(select(User.id).where(User.name == name)).first() is not None:
        raise UsageError(N_("user %(name)r exists already"), name=name)
    user = User(name=name, role=role, password_hash=_hasher.hash(password), created_by=actor)
    session.add(user)
    session.flush()
    audit.record(session, Event.USER_ADDED, actor, user_id=user.id, user=name, role=role)
    return user.id


def _failures(session: Session, now: datetime, *where: Any) -> tuple[int, datetime | None]:
    """How many failures in the window match, and the latest one's time."""
    count, latest = session.execute(
        select(func.count(LoginFailure.id), func.max(LoginFailure.created_at)).where(
            LoginFailure.created_at >= now - FAILURE_WINDOW, *where
        )
    ).one()
    return count, latest


def pair_delay(failures: int) -> timedelta:
    """How long a name and address pair waits after its latest failure before the next try."""
    if failures < PAIR_FREE_FAILURES:
        return timedelta(0)
    return min(timedelta(seconds=2 ** (failures - PAIR_FREE_FAILURES)), FAILURE_WINDOW)


def _throttle(session: Session, name: str, client: str, known_device: bool, now: datetime) -> None:
    """Raise TooManyAttempts when this try must wait; checked before the password is."""
    pair, latest = _failures(session, now, LoginFailure.username == name, LoginFailure.client == client)
    if latest is not None and now < latest + pair_delay(pair):
        raise TooManyAttempts(max(1, int((latest + pair_delay(pair) - now).total_seconds()) + 1))
    if known_device:
        return
    for column, value, limit in (
        (LoginFailure.username, name, MAX_FAILURES_PER_USER),
        (LoginFailure.client, client, MAX_FAILURES_PER_CLIENT),
    ):
        count, _ = _failures(session, now, column == value)
        if count >= limit:
            oldest = session.execute(
                select(LoginFailure.created_at)
                .where(column == value, LoginFailure.created_at >= now - FAILURE_WINDOW)
                .order_by(LoginFailure.created_at.desc())
                .offset(limit - 1)
                .limit(1)
            ).scalar_one()
            raise TooManyAttempts(max(1, int((oldest + FAILURE_WINDOW - now).total_seconds()) + 1))


def _known_device(session: Session, name: str, device: str | None) -> KnownDevice | None:
    if not device:
        return None
    return session.execute(
        select(KnownDevice)
        .join(User, User.id == KnownDevice.user_id)
        .where(KnownDevice.token_hash == hash_token(device), User.name == name)
    ).scalar_one_or_none()


def log_in(
    session: Session,
    name: str,
    password: str,
    address: str,
    *,
    device: str | None = None,
    new_password: str | None = None,
) -> LoggedIn | None:
    """A new session for a right name and password, or None for a wrong one. TooManyAttempts when this try must
    wait; PasswordChangeNeeded for a right one-time password without an acceptable new_password.

    device: the browser's known-device token, if it sent one."""
    now = utcnow()
    client = client_key(address)
    name = name.strip()[:80]
    # Housekeeping on the way: failures older than the window and expired sessions are of no use to anyone.
    session.execute(delete(LoginFailure).where(LoginFailure.created_at < now - FAILURE_WINDOW))
    session.execute(delete(WebSession).where(WebSession.expires_at < now))
    session.execute(delete(KnownDevice).where(KnownDevice.last_seen_at < now - DEVICE_LIFETIME))
    known = _known_device(session, name, device)
    _throttle(session, name, client, known is not None, now)
    user = session.execute(select(User).where(User.name == name, User.disabled_at.is_(None))).scalar_one_or_none()
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
        ok = user is not None
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None:
        session.add(LoginFailure(username=name, client=client, created_at=now))
        return None
    if user.must_change_password:
        if not new_password:
            raise PasswordChangeNeeded
        _check_new_password(new_password)
        if new_password == password:
            raise UsageError(N_("choose a password of your own, not the one-time password"))
        user.password_hash = _hasher.hash(new_password)
        user.must_change_password = False
        audit.record(session, Event.USER_PASSWORD_CHANGED, user.name, user_id=user.id)
    elif _hasher.check_needs_rehash(user.password_hash):
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
    if known is not None and device is not None:
        known.last_seen_at = now
        device_token = device
    else:
        device_token = secrets.token_urlsafe(32)
        session.add(KnownDevice(token_hash=hash_token(device_token), user_id=user.id, created_at=now, last_seen_at=now))
    # Only this pair's failures are forgiven: the owner's success does not refill a guesser's allowance elsewhere.
    session.execute(delete(LoginFailure).where(LoginFailure.username == name, LoginFailure.client == client))
    audit.record(session, Event.USER_LOGGED_IN, user.name, user_id=user.id)
    return LoggedIn(token, SessionUser(user.id, user.name, user.role, csrf, user.language), device_token)


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
