"""`outreach review`: held adverts wait for a person; approval queues the first message through the normal path,
rejection keeps the advert from being messaged; both need a reason and are audited."""

from __future__ import annotations

import json
from contextlib import nullcontext
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from messaging.language import make_detector
from outreach.cli import run
from outreach.crypto import PhoneVault
from outreach.people import optouts
from outreach.settings import Settings
from outreach.store.db import Store, upgrade
from outreach.store.models import Advert, AdvertReason, AuditEvent, HeldAdvert, Message, Person
from outreach.store.states import StopKind
from outreach.store.types import utcnow
from outreach.targeting.contact_pass import first_contact_templates, queue_selection
from outreach.targeting.reasons import Reason
from outreach.targeting.selection import select_contacts, store_decisions
from tests.conftest import World
from tests.messaging_world import config_file
from tests.targeting_world import Made, make_advert, number, sent_first_contact

HOLD = "Ik ben 17 jaar en nieuw hier. Bel voor een afspraak."


@pytest.fixture
def review_settings(world: World) -> Settings:
    settings = world.settings(
        targeting={"keywords": {"hold": ["17 jaar", "mijn baas"]}}, language={"detector": "py3langid"}
    )
    upgrade(world.database_url)
    return settings


def _cycle_selection(settings: Settings, store: Store) -> None:
    """What a cycle's selection does, without a crawl: decide and store the reasons (and hold)."""
    now = utcnow()
    with store.session() as session:
        store_decisions(session, select_contacts(session, settings, now=now).decisions, now)


def _reason(store: Store, made: Made) -> str:
    with store.session() as session:
        return session.execute(
            select(AdvertReason.reason).where(
                AdvertReason.advert_id == made.advert_id, AdvertReason.person_id == made.person_id
            )
        ).scalar_one()


def _held_id(store: Store, made: Made) -> int:
    with store.session() as session:
        return session.execute(select(HeldAdvert.id).where(HeldAdvert.advert_id == made.advert_id)).scalar_one()


def test_held_adverts_are_listed_approved_and_rejected_through_the_cli(
    review_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = review_settings
    vault = PhoneVault.from_settings(settings)
    now = utcnow()
    with Store(settings.database_url) as store:
        with store.session() as session:
            minor = make_advert(session, vault, now, phone=number(1), text=HOLD)
            boss = make_advert(session, vault, now, phone=number(2), text="Mijn baas regelt de afspraak.")
            plain = make_advert(session, vault, now, phone=number(3))
        _cycle_selection(settings, store)
        assert (_reason(store, minor), _reason(store, boss), _reason(store, plain)) == ("held", "held", "messaged")
        config = config_file(settings, tmp_path)
        capsys.readouterr()

        assert run(["review", "--config", config]) == 0
        listing = capsys.readouterr().out
        assert "2 held advert(s) waiting" in listing
        assert "keyword: 17 jaar" in listing and "keyword: mijn baas" in listing and "Ik ben 17 jaar" in listing
        assert number(1) not in listing and number(1)[-3:] in listing  # masked, but tellable apart

        assert run(["review", "approve", "9999", "--reason", "x", "--config", config]) == 2
        assert "no held advert 9999" in capsys.readouterr().err
        minor_id, boss_id = _held_id(store, minor), _held_id(store, boss)
        assert run(["review", "reject", str(minor_id), "--config", config]) == 2
        assert "--reason is required" in capsys.readouterr().err

        args = ["--config", config, "--as", "bob"]
        assert run(["review", "reject", str(minor_id), "--reason", "suggests a minor: to the team", *args]) == 0
        assert run(["review", "approve", str(boss_id), "--reason", "read it: she rents a room", *args]) == 0
        out = capsys.readouterr().out
        assert "1 message(s) queued" in out
        assert run(["review", "approve", str(boss_id), "--reason", "again", *args]) == 1
        assert "already approved by bob" in capsys.readouterr().err

        with store.session() as session:
            queued = session.execute(select(Message.person_id, Message.kind, Message.status)).all()
            events = session.execute(
                select(AuditEvent.name, AuditEvent.actor, AuditEvent.fields).where(AuditEvent.name.like("review.%"))
            ).all()
        assert queued == [(boss.person_id, "first_contact", "queued")]
        assert [(name, actor, fields["advert_id"], fields["reason"]) for name, actor, fields in events] == [
            ("review.rejected", "bob", minor.advert_id, "suggests a minor: to the team"),
            ("review.approved", "bob", boss.advert_id, "read it: she rents a room"),
        ]
        assert _reason(store, minor) == Reason.REJECTED and _reason(store, boss) == Reason.MESSAGED

        # The next cycle: the rejected advert stays rejected, the approved one is "message waiting", none listed.
        _cycle_selection(settings, store)
        assert (_reason(store, minor), _reason(store, boss)) == (Reason.REJECTED, Reason.MESSAGE_WAITING)
        assert run(["review", "--config", config]) == 0
        assert "0 held advert(s) waiting" in capsys.readouterr().out
        assert run(["show", "advert", str(minor.advert_id), "--json", "--config", config]) == 0
        shown = json.loads(capsys.readouterr().out)
        assert shown["why"][0]["why"] == "rejected in review: suggests a minor: to the team"
        assert shown["review"]["status"] == "rejected" and shown["review"]["by"] == "bob"

        # The rejected advert changes: a person decides again on what it says now.
        with store.session() as session:
            advert = session.get(Advert, minor.advert_id)
            assert advert is not None
            advert.text, advert.content_hash = HOLD + " Nieuw!", "0" * 64
        _cycle_selection(settings, store)
        assert _reason(store, minor) == Reason.HELD
        assert run(["review", "--config", config]) == 0
        assert "1 held advert(s) waiting" in capsys.readouterr().out
        # Undoing bob's rejection is on the record, once.
        _cycle_selection(settings, store)
        with store.session() as session:
            reopened = session.execute(
                select(AuditEvent.actor, AuditEvent.fields).where(AuditEvent.name == "review.reopened")
            ).all()
        assert [(actor, fields["advert_id"], fields["was"], fields["decided_by"]) for actor, fields in reopened] == [
            ("cycle", minor.advert_id, "rejected", "bob")
        ]


def test_an_approval_never_messages_someone_who_opted_out_meanwhile(
    review_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = review_settings
    vault = PhoneVault.from_settings(settings)
    with Store(settings.database_url) as store:
        with store.session() as session:
            held = make_advert(session, vault, utcnow() - timedelta(hours=1), phone=number(9), text=HOLD)
        _cycle_selection(settings, store)
        with store.session() as session:
            key = session.execute(select(Person.key).where(Person.id == held.person_id)).scalar_one()
            optouts.stop(session, key, kind=StopKind.OPT_OUT, source="keyword", actor="twilio")
        config = config_file(settings, tmp_path)
        capsys.readouterr()
        assert run(["review", "approve", str(_held_id(store, held)), "--reason", "ok", "--config", config]) == 0
        out = capsys.readouterr().out
        assert "0 message(s) queued" in out and "not messaged: opted out" in out
        with store.session() as session:
            assert session.execute(select(Message.id)).first() is None


def test_a_person_a_cycle_contacted_between_selection_and_queuing_gets_no_second_first_contact(
    review_settings: Settings,
) -> None:
    """`review approve` selects and then queues without the cycle lock: a cycle may contact the person in between.
    The contact decision (a conditional UPDATE on the person's last contact) stops the second message, and the
    advert says "message waiting", not "messaged"."""
    settings = review_settings
    vault = PhoneVault.from_settings(settings)
    with Store(settings.database_url) as store:
        with store.session() as session:
            made = make_advert(session, vault, utcnow() - timedelta(hours=1), phone=number(12))
        now = utcnow()
        with store.session() as session:
            selection = select_contacts(session, settings, now=now)
        assert [c.person_id for c in selection.first_contacts] == [made.person_id]
        assert made.person_id is not None
        with store.session() as session:  # the cycle, a moment earlier
            sent_first_contact(session, made.person_id, made.advert_id, now - timedelta(seconds=5))
        with store.session() as session:
            queued = queue_selection(
                selection,
                lambda: nullcontext(session),
                settings=settings,
                detector=make_detector(settings),
                templates=first_contact_templates(settings),
                now=now,
                actor="bob",
                draft=False,
            )
        assert sum(queued.first_contacts.values()) == 0
        with store.session() as session:
            assert len(session.execute(select(Message.id)).all()) == 1
        assert _reason(store, made) == Reason.MESSAGE_WAITING
