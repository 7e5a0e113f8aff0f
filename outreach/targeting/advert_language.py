"""A fieldworker's reading of an advert's language: it wins over detection when the advert's first message is
composed (compose.py, rule `override`), until it is set back to `auto`. The same for `outreach advert language`
and the advert's page in the dashboard; audited either way. A first message still waiting as a draft can be written
again from the chosen language's template (the dashboard's drafts, one by one)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from messaging.language.decision import Rule
from messaging.templates import TemplateBook
from outreach import audit
from outreach.audit_events import Event
from outreach.errors import N_, UsageError
from outreach.settings import Settings
from outreach.store.models import Advert, Message
from outreach.store.states import MessageKind, MessageStatus
from outreach.targeting.compose import whatsapp_first_contact

AUTO = "auto"  # detect again


def chosen_language(language: str, settings: Settings) -> str | None:
    """The override a fieldworker's choice means: a language with a template, or None for AUTO (detect again)."""
    if not language:
        raise UsageError(N_("Choose a language."))
    if language == AUTO:
        return None
    if language not in settings.languages:
        raise UsageError(
            N_("no template for %(language)s; languages with a template: %(languages)s"),
            language=language,
            languages=", ".join(settings.languages),
        )
    return language


def set_language(
    session: Session, advert: Advert, language: str, reason: str, settings: Settings, actor: str, where: str
) -> str | None:
    """Set the advert's message language by hand (AUTO: detection decides again); returns the override now in force.
    A language needs a template; a reason is required, for the audit log."""
    chosen = chosen_language(language, settings)
    if not reason.strip():
        raise UsageError(N_("Say why, for the audit log."))
    advert.language_override = chosen
    audit.record(
        session, Event.ADVERT_LANGUAGE, actor, where=where, advert_id=advert.id, language=language, reason=reason
    )
    return chosen


def redraft(
    session: Session,
    message_id: int,
    language: str,
    reason: str,
    *,
    settings: Settings,
    templates: TemplateBook,
    actor: str,
    now: datetime,
    where: str,
) -> str:
    """A drafted first message written again from `language`'s template, for a draft whose language the detector got
    wrong; its advert's language is set to it as well (set_language), so a later message follows it. What the draft
    said before, a fieldworker's edit included, is replaced. Returns the language written in."""
    # Locked (PostgreSQL): an approval that commits meanwhile is seen, and a queued message is never rewritten.
    message = session.get(Message, message_id, with_for_update=True)
    advert = session.get(Advert, message.advert_id) if message is not None and message.advert_id else None
    if (
        message is None
        or advert is None
        or message.status != MessageStatus.DRAFT
        or message.kind != MessageKind.FIRST_CONTACT
    ):
        raise UsageError(N_("Only a drafted first message can be written again in another language."))
    if language == AUTO:
        raise UsageError(N_("Choose a language."))
    set_language(session, advert, language, reason, settings, actor, where)
    advert.language = language  # as a cycle's composition records an override
    signature = settings.signature(message.organisation)
    rendered = templates.render(language, signature, person_id=message.person_id)
    channel, content_sid, content_variables = whatsapp_first_contact(settings, advert, rendered.language, signature)
    message.body, message.language, message.template_variant = rendered.body, rendered.language, rendered.variant
    message.language_rule, message.language_confidence = Rule.OVERRIDE.value, 1.0
    message.channel, message.content_sid, message.content_variables = channel, content_sid, content_variables
    message.updated_at = now
    audit.record(
        session,
        Event.MESSAGE_EDITED,
        actor,
        where=where,
        message_id=message.id,
        advert_id=advert.id,
        language=rendered.language,
        variant=rendered.variant,
        channel=channel,
        reason=reason,
    )
    return rendered.language
