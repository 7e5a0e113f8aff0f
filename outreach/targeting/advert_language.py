"""A fieldworker's reading of an advert's language: it wins over detection when the advert's first message is
composed (compose.py, rule `override`), until it is set back to `auto`. The same for `outreach advert language`
and the advert's page in the dashboard; audited either way."""

from __future__ import annotations

from sqlalchemy.orm import Session

from outreach import audit
from outreach.audit_events import Event
from outreach.errors import N_, UsageError
from outreach.settings import Settings
from outreach.store.models import Advert

AUTO = "auto"  # detect again


def set_language(
    session: Session, advert: Advert, language: str, reason: str, settings: Settings, actor: str, where: str
) -> str | None:
    """Set the advert's message language by hand (AUTO: detection decides again); returns the override now in force.
    A language needs a template; a reason is required, for the audit log."""
    if not language:
        raise UsageError(N_("Choose a language."))
    if not reason.strip():
        raise UsageError(N_("Say why, for the audit log."))
    chosen = None if language == AUTO else language
    if chosen is not None and chosen not in settings.languages:
        raise UsageError(
            N_("no template for %(language)s; languages with a template: %(languages)s"),
            language=language,
            languages=", ".join(settings.languages),
        )
    advert.language_override = chosen
    audit.record(
        session, Event.ADVERT_LANGUAGE, actor, where=where, advert_id=advert.id, language=language, reason=reason
    )
    return chosen
