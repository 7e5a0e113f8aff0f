"""Who may do what: supervisors (from configuration) may reveal numbers, unblock and force a resend; with several
organisations, who sees which organisation's data."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.errors import PermissionDenied
from outreach.parsing.places import municipality
from outreach.settings import Settings
from outreach.store.models import Advert, Message


def is_supervisor(settings: Settings, actor: str) -> bool:
    return actor in settings.supervisors


def require_supervisor(settings: Settings, actor: str, action: str) -> None:
    if not is_supervisor(settings, actor):
        raise PermissionDenied(f"only a supervisor may {action}; {actor!r} is not in `supervisors`")


def visible_organisations(settings: Settings, actor: str) -> list[str] | None:
    """The organisations whose data this actor sees: None for all (one organisation, or an umbrella supervisor);
    with several organisations, the ones listing the actor in `members`, and at least one."""
    if not settings.organisations or actor in settings.umbrella_supervisors:
        return None
    own = [unit.key for unit in settings.organisations if actor in unit.members]
    if not own:
        raise PermissionDenied(
            f"{actor!r} is not a member of any organisation (organisations[].members) nor in umbrella_supervisors"
        )
    return own


def visible_regions(settings: Settings, organisations: list[str] | None) -> set[str] | None:
    """The municipalities (case-folded) of these organisations, for counting their adverts; None: all."""
    if organisations is None:
        return None
    return {
        place.casefold()
        for unit in settings.organisations
        if unit.key in organisations
        for place in unit.municipalities
    }


def person_visible(session: Session, settings: Settings, actor: str, person_id: int) -> bool:
    """With several organisations, a member sees a person one of their organisations wrote to or heard from."""
    organisations = visible_organisations(settings, actor)
    if organisations is None:
        return True
    return (
        session.execute(
            select(Message.id).where(Message.person_id == person_id, Message.organisation.in_(organisations)).limit(1)
        ).first()
        is not None
    )


def advert_visible(session: Session, settings: Settings, actor: str, advert: Advert) -> bool:
    """An advert in one of the member's organisations' municipalities, or one they messaged."""
    organisations = visible_organisations(settings, actor)
    if organisations is None:
        return True
    regions = visible_regions(settings, organisations) or set()
    if (municipality(advert.city) or "").casefold() in regions:
        return True
    return (
        session.execute(
            select(Message.id).where(Message.advert_id == advert.id, Message.organisation.in_(organisations)).limit(1)
        ).first()
        is not None
    )
