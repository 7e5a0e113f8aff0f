"""Who may see and do what: one rule, applied by every dashboard route and every CLI command (README, "Who sees
what").

Supervisors are the dashboard users whose role is `supervisor` (the users table, changed only through `outreach
user` and audited). A CLI actor (`--as NAME` or the OS user) is a supervisor exactly when an enabled user of that
name is one, so the browser and the shell never disagree.

With several organisations, an actor sees what belongs to the organisations listing them in `members` (umbrella
supervisors: everything): the persons those organisations wrote to or heard from, the adverts in their
municipalities or that they messaged, the opt-outs and blocks they recorded, and the audit events their members
wrote. Anything else answers as if it did not exist (404, "no such ..."), so a member cannot even learn it is there.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, select
from sqlalchemy.orm import Session

from outreach.errors import PermissionDenied
from outreach.parsing.places import municipality
from outreach.settings import Settings
from outreach.store.models import Advert, AuditEvent, Message, OptOut, User

SUPERVISOR = "supervisor"


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


@dataclass(frozen=True)
class Access:
    """What one actor may see and do. organisations None: every organisation's data (one organisation, or an
    umbrella supervisor)."""

    actor: str
    supervisor: bool
    organisations: tuple[str, ...] | None
    regions: frozenset[str] | None
    members: frozenset[str] | None

    @property
    def owner(self) -> str | None:
        """The organisation recorded on what this actor stops; None (the umbrella's) for one who sees all."""
        return self.organisations[0] if self.organisations else None

    def require_supervisor(self, action: str) -> None:
        if not self.supervisor:
            raise PermissionDenied(
                f"only a supervisor may {action}; {self.actor!r} is not a supervisor "
                "(outreach user list; outreach user role NAME supervisor)"
            )

    def require_umbrella(self, action: str) -> None:
        """For what concerns every organisation's data at once (a subject request: export or erase a person)."""
        if self.organisations is not None:
            raise PermissionDenied(
                f"with several organisations, only an umbrella supervisor may {action} (umbrella_supervisors)"
            )

    def sees_person(self, session: Session, person_id: int) -> bool:
        """A person one of the actor's organisations wrote to or heard from."""
        if self.organisations is None:
            return True
        found = session.execute(
            select(Message.id)
            .where(Message.person_id == person_id, Message.organisation.in_(self.organisations))
            .limit(1)
        ).first()
        return found is not None

    def sees_advert(self, session: Session, advert: Advert) -> bool:
        """An advert in one of the actor's organisations' municipalities, or one they messaged."""
        if self.organisations is None:
            return True
        if (municipality(advert.city) or "").casefold() in (self.regions or set()):
            return True
        found = session.execute(
            select(Message.id)
            .where(Message.advert_id == advert.id, Message.organisation.in_(self.organisations))
            .limit(1)
        ).first()
        return found is not None

    def sees_organisation(self, organisation: str | None) -> bool:
        """A message or draft of this organisation."""
        return self.organisations is None or organisation in self.organisations

    def sees_message(self, message: Message) -> bool:
        return self.sees_organisation(message.organisation)

    def sees_stop(self, stop: OptOut) -> bool:
        """An opt-out or block the actor's organisation recorded. One recorded before organisations were
        separated, or by an umbrella supervisor, belongs to the umbrella: only its supervisors see and lift it.
        Every opt-out is honoured by every organisation whoever sees it."""
        return self.organisations is None or stop.organisation in self.organisations

    def stops_clause(self) -> ColumnElement[bool] | None:
        """The WHERE clause for listing opt-outs and blocks (None: all)."""
        return None if self.organisations is None else OptOut.organisation.in_(self.organisations)

    def audit_clause(self) -> ColumnElement[bool] | None:
        """The WHERE clause for reading the audit log: the events the organisations' own members wrote."""
        if self.members is None:
            return None
        return AuditEvent.actor.in_(self.members) if self.members else false()


def access(settings: Settings, actor: str, *, supervisor: bool) -> Access:
    """The access of an actor whose role is known (a logged-in dashboard user)."""
    organisations = visible_organisations(settings, actor)
    if organisations is None:
        return Access(actor, supervisor, None, None, None)
    members = {name for unit in settings.organisations if unit.key in organisations for name in unit.members}
    return Access(
        actor,
        supervisor,
        tuple(organisations),
        frozenset(visible_regions(settings, organisations) or set()),
        frozenset(members),
    )


def is_supervisor(session: Session, actor: str) -> bool:
    """Whether an enabled dashboard user of this name has the supervisor role: the one list of supervisors."""
    role = session.execute(select(User.role).where(User.name == actor, User.disabled_at.is_(None))).scalar_one_or_none()
    return role == SUPERVISOR


def access_for(session: Session, settings: Settings, actor: str) -> Access:
    """The access of a CLI actor: the role from the users table, the organisations from the settings."""
    return access(settings, actor, supervisor=is_supervisor(session, actor))
