"""One selection pass: decide who gets a message (outreach.targeting.selection), queue the first contacts and reminders
one person per transaction (outreach.targeting.compose), and store every advert's reason. The cycle runs it after the
crawl; tests run it with their own clock."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from messaging.language import LanguageDetector
from messaging.templates import TemplateBook
from outreach.settings import Settings
from outreach.store.db import Store
from outreach.store.states import MessageKind
from outreach.targeting.compose import enqueue_first_contact, enqueue_reminder
from outreach.targeting.reasons import Reason
from outreach.targeting.selection import Candidate, ReminderCandidate, Selection, select_contacts, store_decisions


@dataclass
class Queued:
    eligible: int = 0  # persons selected for a first contact
    first_contacts: Counter[str] = field(default_factory=Counter)  # queued (or drafted), by language
    reminders: int = 0
    reasons: Counter[str] = field(default_factory=Counter)  # every listed advert (per person), by reason


def first_contact_templates(settings: Settings) -> TemplateBook:
    return TemplateBook(
        settings.templates_dir,
        settings.languages,
        settings.fallback_language,
        variant_seed=settings.templates.variant_seed,
    )


def reminder_templates(settings: Settings) -> TemplateBook:
    return TemplateBook(
        settings.templates_dir, settings.languages, settings.fallback_language, kind=MessageKind.REMINDER
    )


def select_and_queue(
    store: Store,
    settings: Settings,
    *,
    now: datetime,
    actor: str,
    detector: LanguageDetector,
    templates: TemplateBook,
    organisations: Sequence[str] | None = None,
) -> Queued:
    """organisations: a cycle of these organisations queues only their messages; whom another one would message
    waits for that one's cycle (and is decided again then). None: every organisation's."""
    draft = settings.sending.mode != "auto"  # approve and assist modes: drafts wait for a person
    with store.session() as session:
        selection = select_contacts(session, settings, now=now, actor=actor)
    others: dict[tuple[int, int], str] = {}
    if organisations is not None:
        ours = set(organisations)
        chosen: list[Candidate | ReminderCandidate] = [*selection.first_contacts, *selection.reminders]
        for one in chosen:
            if one.organisation not in ours:
                others[(one.advert_id, one.person_id)] = one.organisation or "-"
        selection.first_contacts = [c for c in selection.first_contacts if c.organisation in ours]
        selection.reminders = [r for r in selection.reminders if r.organisation in ours]
    return queue_selection(
        selection,
        store.session,
        settings=settings,
        detector=detector,
        templates=templates,
        now=now,
        actor=actor,
        draft=draft,
        others=others,
    )


def queue_selection(
    selection: Selection,
    transaction: Callable[[], AbstractContextManager[Session]],
    *,
    settings: Settings,
    detector: LanguageDetector,
    templates: TemplateBook,
    now: datetime,
    actor: str,
    draft: bool,
    others: dict[tuple[int, int], str] | None = None,
) -> Queued:
    """Queue what a selection chose and store every advert's reason: the one queuing path of a cycle and of a
    review approval. transaction: a new transaction per person (a cycle), or the caller's (an approval).

    A person another process contacted between selection and queuing is not queued (the conditional UPDATE in
    compose decides) and the advert says "message waiting", never "messaged"."""
    others = others or {}
    result = Queued(eligible=len(selection.first_contacts))
    outcomes: dict[tuple[int, int], bool] = {}
    for candidate in selection.first_contacts:
        # One transaction per person: the message row, the contact decision and the audit event together.
        with transaction() as session:
            language = enqueue_first_contact(
                session,
                candidate,
                settings=settings,
                detector=detector,
                templates=templates,
                now=now,
                actor=actor,
                draft=draft,
            )
        outcomes[(candidate.advert_id, candidate.person_id)] = language is not None
        if language is not None:
            result.first_contacts[language] += 1
    if selection.reminders:
        book = reminder_templates(settings)
        for reminder in selection.reminders:
            with transaction() as session:
                language = enqueue_reminder(
                    session, reminder, settings=settings, templates=book, now=now, actor=actor, draft=draft
                )
            outcomes[(reminder.advert_id, reminder.person_id)] = language is not None
            result.reminders += language is not None
    for decision in selection.decisions:
        chosen_key = (decision.advert_id, decision.person_id or 0)
        if outcomes.get(chosen_key) is False:
            decision.reason = Reason.MESSAGE_WAITING  # another process decided first, in the same moment
        elif chosen_key in others:
            decision.reason, decision.detail = Reason.OTHER_ORGANISATION, others[chosen_key]
        result.reasons[decision.reason.value] += 1
    with transaction() as session:
        store_decisions(session, selection.decisions, now)
    return result
