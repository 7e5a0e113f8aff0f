"""The overview's SQL counts (outreach/reports/overview_counts.py) give exactly the figures of the reference
counting (outcome_stats.group and funnel.funnel) on generated worlds: random contacts, reminders, statuses,
replies, keywords, opt-outs, advert reasons, organisations and cities, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from outreach.crypto import PhoneVault
from outreach.reports import outcome_stats
from outreach.reports.funnel import funnel
from outreach.reports.outcome_stats import OutcomeRow
from outreach.reports.overview_counts import overview_counts
from outreach.store.adverts import FoundPhone, person_id, site_id
from outreach.store.models import Advert, AdvertPerson, AdvertReason, Message, OptOut, Person
from outreach.store.states import Direction, MessageKind, MessageStatus, StopKind
from outreach.targeting.reasons import Reason
from tests.conftest import World
from tests.messaging_world import messaging_settings, numbers

NOW = datetime(2026, 11, 30, 11, 0, tzinfo=UTC)
ZONE = "Europe/Amsterdam"
CITIES = ["Rotterdam", "Schiedam", "Den Haag", "Scheveningen", "Utrecht", None]
STATUSES = [MessageStatus.DELIVERED, MessageStatus.SENT, MessageStatus.FAILED, MessageStatus.UNDELIVERED,
            MessageStatus.CANCELLED, MessageStatus.UNKNOWN, MessageStatus.QUEUED]  # fmt: skip
OUTBOUND = [MessageKind.FIRST_CONTACT, MessageKind.FIRST_CONTACT, MessageKind.REMINDER, MessageKind.REPLY]
INBOUND = [MessageKind.REPLY, MessageKind.REPLY, MessageKind.OPT_OUT, MessageKind.OPT_IN, MessageKind.POSSIBLE_OPT_OUT]


def _world(world: World, seed: int) -> None:
    rng = random.Random(seed)
    settings = messaging_settings(world)
    vault = PhoneVault.from_settings(settings)
    store = world.store()

    def when(days: float) -> datetime:
        return NOW - timedelta(days=rng.uniform(0, days))

    with store.session() as session:
        sites = [site_id(session, name) for name in ("alpha", "beta", "gamma")]
        persons = [
            person_id(session, vault, FoundPhone(number, "NL", True), NOW) for number in numbers(40, start=seed * 100)
        ]
        adverts = []
        for i in range(60):
            seen = when(40)
            advert = Advert(
                site_id=rng.choice(sites),
                site_ad_id=f"ad-{seed}-{i}",
                url=f"http://127.0.0.1/ad/{i}",
                city=rng.choice(CITIES),
                content_hash=f"{seed:032d}{i:032d}",
                first_seen=seen,
                last_seen=seen,
            )
            session.add(advert)
            session.flush()
            adverts.append(advert.id)
            for person in rng.sample(persons, rng.choice([0, 1, 1, 1, 2])):
                session.add(AdvertPerson(advert_id=advert.id, person_id=person))
                if rng.random() < 0.7:
                    session.add(AdvertReason(advert_id=advert.id, person_id=person, reason=rng.choice(list(Reason))))
        session.flush()
        for _ in range(150):
            outbound = rng.random() < 0.7
            at = when(38)
            session.add(
                Message(
                    person_id=rng.choice(persons),
                    advert_id=rng.choice([*adverts, None]) if outbound else None,
                    direction=Direction.OUT if outbound else Direction.IN,
                    kind=rng.choice(OUTBOUND) if outbound else rng.choice(INBOUND),
                    language=rng.choice(["nl", "en", "ro", None]) if outbound else None,
                    body="x",
                    status=rng.choice(STATUSES) if outbound else MessageStatus.RECEIVED,
                    organisation=rng.choice(["a", "b", None]),
                    created_at=at,
                    updated_at=at,
                )
            )
        for person in rng.sample(persons, 8):
            key = session.get(Person, person).key  # type: ignore[union-attr]
            session.add(OptOut(person_key=key, kind=StopKind.OPT_OUT, source="keyword", actor="t", created_at=when(35)))


def _rows(rows: list[OutcomeRow]) -> list[tuple[object, ...]]:
    return sorted((r.group, r.adverts_found, r.persons_contacted, r.delivered, r.replied, r.opted_out) for r in rows)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_sql_counts_equal_the_reference_counting(world: World, seed: int) -> None:
    _world(world, seed)
    starts = [NOW - timedelta(days=30), NOW - timedelta(days=7), NOW - timedelta(hours=9)]
    with world.store().session() as session:
        for organisations, regions in ((None, None), (["a"], None), (None, {"rotterdam", "den haag"})):
            data = outcome_stats.load(session, starts[0], organisations=organisations, regions=regions)
            counted = overview_counts(session, starts, organisations=organisations, regions=regions)
            assert counted.totals[0].persons_contacted > 5 and counted.funnel.persons_found > 5  # not an empty world
            for start, row in zip(starts, counted.totals, strict=True):
                (reference,) = outcome_stats.group(data, "total", ZONE, since=start) or [OutcomeRow("all")]
                assert _rows([row]) == _rows([reference]), (organisations, regions, start)
            for by, key in (("language", "lang"), ("site", "site"), ("region", "region")):
                assert _rows(counted.breakdowns[by]) == _rows(outcome_stats.group(data, key, ZONE)), by
            assert counted.funnel == funnel(session, data, regions=regions), (organisations, regions)
