"""Template variants: each person always gets the same wording, it is stored with the message, and
`outreach stats --by template` tells an organisation which wording people answer."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from messaging.templates import TemplateBook, assign_variant
from outreach.cli import run
from outreach.crypto import PhoneVault
from outreach.cycle.run import run_cycle
from outreach.reports.rates import wilson_interval
from outreach.reports.template_stats import template_stats
from outreach.settings import Settings
from outreach.store.adverts import FoundPhone, person_id
from outreach.store.db import Store, upgrade
from outreach.store.models import Message, OptOut, Person
from outreach.store.types import utcnow
from tests.conftest import World
from tests.messaging_world import numbers


def test_a_person_always_gets_the_same_variant_and_the_variants_are_about_equally_common() -> None:
    variants = ["a", "b"]
    first = [assign_variant(variants, person, "seed-1") for person in range(2000)]
    assert first == [assign_variant(["b", "a"], person, "seed-1") for person in range(2000)]  # order-free
    shares = Counter(first)
    assert 900 < shares["a"] < 1100 and 900 < shares["b"] < 1100
    reseeded = [assign_variant(variants, person, "seed-2") for person in range(2000)]
    assert reseeded != first  # the seed decides the assignment


def test_a_variant_file_adds_a_variant_and_the_base_file_is_variant_a(tmp_path: Path) -> None:
    from outreach.settings import OrganisationSettings
    from outreach.store.db import PROJECT_ROOT

    book = TemplateBook(PROJECT_ROOT / "templates", ["nl", "en"], "en", variant_seed="x")
    assert book.variants("nl") == ["a", "b"] and book.variants("en") == ["a"]
    organisation = OrganisationSettings()
    assert book.render("nl", organisation, variant="b").body.startswith("Hoi, dit is Demo Outreach.")
    chosen = {book.render("nl", organisation, person_id=p).variant for p in range(40)}
    assert chosen == {"a", "b"}
    assert book.render("th", organisation, person_id=3).variant == "a"  # the fallback has one wording


def test_the_cycle_stores_each_persons_assigned_variant(world_settings: Settings) -> None:
    run_cycle(world_settings, actor="alice")
    with Store(world_settings.database_url) as store, store.session() as session:
        rows = session.execute(
            select(Message.person_id, Message.language, Message.template_variant, Message.body).where(
                Message.kind == "first_contact"
            )
        ).all()
    seed = world_settings.templates.variant_seed
    assert rows
    for person, language, variant, body in rows:
        assert person is not None
        expected = assign_variant(["a", "b"] if language == "nl" else ["a"], person, seed)
        assert variant == expected
        if language == "nl":
            assert body.startswith("Hoi, dit is") == (variant == "b")
    assert {variant for _, language, variant, _ in rows if language == "nl"} == {"a", "b"}


def _small_world(world: World) -> tuple[Settings, Store]:
    """nl/a: four persons, one answers twice, one stops (STOP is an opt-out, not an answer), one wrote to us
    before we wrote (not an answer), one got a second message later (counted once).
    nl/b: two persons, one answers, one opted out another way. en: a failed and a draft message (not counted)."""
    settings = world.settings()
    upgrade(world.database_url)
    store = world.store()
    vault = PhoneVault.from_settings(settings)
    now = utcnow()
    contact, later, before = now - timedelta(days=2), now - timedelta(days=1), now - timedelta(days=3)
    with store.session() as session:
        ids = [person_id(session, vault, FoundPhone(n, "NL", True), now) for n in numbers(8)]
        p1, p2, p3, p4, p5, p6, p7, p8 = ids

        def out(
            person: int, variant: str, status: str = "delivered", language: str = "nl", at: datetime = contact
        ) -> None:
            session.add(
                Message(
                    person_id=person,
                    body="x",
                    language=language,
                    template_variant=variant,
                    status=status,
                    created_at=at,
                    updated_at=at,
                )
            )

        def inbound(person: int, kind: str, at: datetime = later) -> None:
            session.add(
                Message(person_id=person, direction="in", kind=kind, body="y", status="received", created_at=at)
            )

        def opted_out(person: int) -> None:
            key = session.execute(select(Person.key).where(Person.id == person)).scalar_one()
            session.add(OptOut(person_key=key, kind="opt_out", source="sms", actor="alice"))

        for person in (p1, p2, p3, p4):
            out(person, "a")
        out(p4, "a", at=later)
        out(p5, "b")
        out(p6, "b")
        out(p7, "a", status="failed", language="en")
        out(p8, "a", status="draft", language="en")
        inbound(p1, "reply")
        inbound(p1, "reply")
        inbound(p2, "opt_out")
        opted_out(p2)
        inbound(p3, "reply", at=before)
        inbound(p5, "possible_opt_out")  # a sentence that mentions stopping is still an answer to read
        opted_out(p6)
        inbound(p7, "reply")
    return settings, store


def test_stats_per_variant_on_a_small_world(world: World) -> None:
    _, store = _small_world(world)
    with store.session() as session:
        rows = template_stats(session)
    got = [(r.language, r.variant, r.messaged, r.replied, r.replies, r.opted_out) for r in rows]
    assert got == [("nl", "a", 4, 1, 2, 1), ("nl", "b", 2, 1, 1, 1)]
    assert rows[0].response_rate == 0.25
    low, high = rows[0].interval
    assert low == pytest.approx(0.0456, abs=1e-4) and high == pytest.approx(0.6994, abs=1e-4)


def test_the_wilson_interval_matches_known_values() -> None:
    assert wilson_interval(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson_interval(10, 10) == pytest.approx((0.7225, 1.0), abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_the_stats_command_prints_the_table(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings, _ = _small_world(world)
    monkeypatch.setenv("OUTREACH_DATABASE_URL", settings.database_url)
    assert run(["stats", "--by", "template"]) == 0
    out = capsys.readouterr().out
    assert "response rate" in out and "95% CI" in out
    assert "25.0%" in out and "4.6% - 69.9%" in out and "50.0%" in out
    assert run(["stats", "--by", "colour"]) == 2
