"""Who may do what: supervisors (from configuration) may reveal numbers, unblock and force a resend."""

from __future__ import annotations

from outreach.errors import PermissionDenied
from outreach.settings import Settings


def is_supervisor(settings: Settings, actor: str) -> bool:
    return actor in settings.supervisors


def require_supervisor(settings: Settings, actor: str, action: str) -> None:
    if not is_supervisor(settings, actor):
        raise PermissionDenied(f"only a supervisor may {action}; {actor!r} is not in `supervisors`")
