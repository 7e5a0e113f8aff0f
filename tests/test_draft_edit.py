"""Editing a draft keeps who sends it and how to stop: with several organisations, the draft's own organisation's
name (it was the umbrella's `organisation.name`, so a correct edit was refused and a wrong one let through)."""

from __future__ import annotations

import pytest

from outreach.errors import UsageError
from outreach.people.conversations import edit_draft
from outreach.settings import MemberOrganisation
from outreach.store.models import Message
from outreach.store.states import MessageStatus
from tests.conftest import World
from tests.dashboard_world import seed
from tests.messaging_world import messaging_settings

UTRECHT = MemberOrganisation(
    key="utrecht", name="Hulp U", fieldworker="Noor", municipalities=["Utrecht"], members=["uma"]
)


def test_an_edit_must_name_the_drafts_own_organisation(world: World) -> None:
    world.gateway.callbacks = "none"
    base = messaging_settings(world)
    settings = base.model_copy(update={"organisations": [UTRECHT]})
    store = world.store()
    seeded = seed(base, store, count=2)
    with store.session() as session:
        draft = Message(
            person_id=seeded.person_ids[1], body="draft", organisation="utrecht", status=MessageStatus.DRAFT
        )
        session.add(draft)
        session.flush()
        draft_id = draft.id
    umbrella = settings.organisation.name
    with store.session() as session, pytest.raises(UsageError, match="Hulp U"):
        edit_draft(
            session, draft_id, f"Hoi, groet van {umbrella}. Geen berichten meer? Antwoord STOP.", settings, "uma"
        )
    with store.session() as session:
        edit_draft(session, draft_id, "Hoi, groet van Hulp U. Geen berichten meer? Antwoord STOP.", settings, "uma")
    with store.session() as session:
        assert session.get(Message, draft_id).body.startswith("Hoi, groet van Hulp U")  # type: ignore[union-attr]
