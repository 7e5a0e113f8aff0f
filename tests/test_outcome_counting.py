"""The period's counts (outreach.reports.outcome_stats and funnel) against a reference written plainly, one person
at a time from the stored objects, on generated worlds: random contacts, reminders, answers, statuses, replies,
keywords, opt-outs, advert reasons, organisations, cities and times near local midnight, on SQLite and PostgreSQL.

The fast counting reads times as whole microseconds and local days through a table per quarter hour; the reference
uses datetimes and zoneinfo for every fact, so a wrong day boundary, a lost microsecond or a wrong order shows."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.crypto import PhoneVault
from outreach.parsing.places import municipality
from outreach.reports import outcome_stats
from outreach.reports.funnel import NOT_ELIGIBLE, Funnel, funnel
from outreach.reports.outcome_stats import OutcomeRow
from outreach.store.adverts import FoundPhone, person_id, site_id
from outreach.store.models import Advert, AdvertPerson, AdvertReason, Message, OptOut, Person, Site
from outreach.store.states import CONTACTS, KEYWORDS, LEFT_US, Direction, MessageKind, MessageStatus, StopKind
from outreach.targeting.reasons import Reason
from tests.conftest import World
from tests.messaging_world import messaging_settings, numbers

NOW = datetime(2026, 11, 30, 11, 0, tzinfo=UTC)
CITIES = ["Rotterdam", "Schiedam", "Den Haag", "Scheveningen", "Utrecht", None]
STATUSES = [MessageStatus.DELIVERED, MessageStatus.SENT, MessageStatus.FAILED, MessageStatus.UNDELIVERED,
            MessageStatus.CANCELLED, MessageStatus.UNKNOWN, MessageStatus.QUEUED]  # fmt: skip
OUTBOUND = [MessageKind.FIRST_CONTACT, MessageKind.FIRST_CONTACT, MessageKind.REMINDER, MessageKind.REPLY]
INBOUND = [MessageKind.REPLY, MessageKind.REPLY, MessageKind.OPT_OUT, MessageKind.OPT_IN, MessageKind.POSSIBLE_OPT_OUT]


def _world(world: World, seed: int) -> None:
    rng = random.Random(seed)
    vault = PhoneVault.from_settings(messaging_settings(world))

    def when(days: float) -> datetime:
        moment = NOW - timedelta(days=rng.uniform(0, days))
        if rng.random() < 0.3:  # within two seconds of one of two local midnights (23:00 UTC in winter)
            midnight = (NOW - timedelta(days=rng.choice([1, 6]))).replace(hour=22, minute=59, second=59)
            return midnight + timedelta(microseconds=rng.randint(0, 2_000_000))
        return moment

    with world.store().session() as session:
        sites = [site_id(session, name) for name in ("alpha", "beta", "gamma")]
        persons = [
            person_id(session, vault, FoundPhone(number, "NL", True), NOW) for number in numbers(40, start=seed * 100)
        ]
        adverts: list[tuple[int, datetime]] = []
        for i in range(60):
            seen = when(40)
            advert = Advert(
                site_id=rng.choice(sites),
                site_ad_id=f"ad-{seed}-{i}",
                url_encrypted="-",
                url_key=f"key-{seed}-{i}",
                city=rng.choice(CITIES),
                content_hash=f"{seed:032d}{i:032d}",
                first_seen=seen,
                last_seen=seen,
            )
            session.add(advert)
            session.flush()
            adverts.append((advert.id, seen))
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
                    # about an advert seen before it (a message is composed after the crawl saved its advert)
                    advert_id=rng.choice([*(advert for advert, seen in adverts if seen <= at), None])
                    if outbound
                    else None,
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


class Reference:
    """The definitions of outreach.reports.outcome_stats and funnel, counted one person at a time."""

    def __init__(
        self,
        session: Session,
        since: datetime,
        until: datetime | None,
        organisations: list[str] | None,
        regions: set[str] | None,
    ) -> None:
        def inside(at: datetime) -> bool:
            return at >= since and (until is None or at < until)

        self.regions = regions
        messages = sorted(session.execute(select(Message)).scalars(), key=lambda m: (m.created_at, m.id))
        self.adverts = {advert.id: advert for advert in session.execute(select(Advert)).scalars()}
        self.site_names = {site.id: site.name for site in session.execute(select(Site)).scalars()}
        first_language: dict[int, str | None] = {}
        for message in sorted(messages, key=lambda m: m.id):
            if message.direction == Direction.OUT and message.kind == MessageKind.FIRST_CONTACT and message.advert_id:
                first_language.setdefault(message.advert_id, message.language)
        self.first_language = first_language
        self.outbound = [
            m
            for m in messages
            if m.direction == Direction.OUT
            and m.kind in CONTACTS
            and m.person_id is not None
            and m.status in LEFT_US
            and inside(m.created_at)
            and (organisations is None or m.organisation in organisations)
        ]
        self.inbound = [m for m in messages if m.direction == Direction.IN and m.person_id and inside(m.created_at)]
        keys = {person.key: person.id for person in session.execute(select(Person)).scalars()}
        self.opt_outs = [
            (keys[stop.person_key], stop.created_at)
            for stop in session.execute(select(OptOut)).scalars()
            if stop.kind == StopKind.OPT_OUT and inside(stop.created_at) and stop.person_key in keys
        ]
        self.cohort = [
            advert
            for advert in self.adverts.values()
            if inside(advert.first_seen)
            and (regions is None or (municipality(advert.city) or "").casefold() in regions)
        ]
        self.links = list(session.execute(select(AdvertPerson.advert_id, AdvertPerson.person_id)))
        self.reasons = list(
            session.execute(select(AdvertReason.advert_id, AdvertReason.person_id, AdvertReason.reason))
        )

    def where(self, advert_id: int | None) -> tuple[str | None, str | None]:
        advert = self.adverts.get(advert_id) if advert_id else None
        if advert is None:
            return None, None
        return self.site_names[advert.site_id], municipality(advert.city)

    def rows(
        self, key: Callable[[datetime, str | None, str | None, str | None], str], start: datetime
    ) -> list[tuple[object, ...]]:
        found: dict[str, list[int]] = {}

        def row(name: str) -> list[int]:
            return found.setdefault(name, [0, 0, 0, 0, 0])

        for advert in self.cohort:
            if advert.first_seen >= start:
                site, region = self.site_names[advert.site_id], municipality(advert.city)
                row(key(advert.first_seen, site, self.first_language.get(advert.id), region))[0] += 1
        for person in sorted({m.person_id or 0 for m in self.outbound if m.created_at >= start}):
            mine = [m for m in self.outbound if m.person_id == person and m.created_at >= start]
            first = mine[0]
            counts = row(key(first.created_at, *self._site_language_region(first)))
            counts[1] += 1
            counts[2] += any(m.status == MessageStatus.DELIVERED for m in mine)
            counts[3] += any(
                m.person_id == person and m.created_at >= first.created_at and m.kind not in KEYWORDS
                for m in self.inbound
            )
            counts[4] += any(who == person and at >= first.created_at for who, at in self.opt_outs)
        return sorted((name, *counts) for name, counts in found.items())

    def _site_language_region(self, message: Message) -> tuple[str | None, str | None, str | None]:
        site, region = self.where(message.advert_id)
        return site, message.language, region

    def funnel(self) -> Funnel:
        cohort = {advert.id for advert in self.cohort}
        persons_of: dict[int, set[int]] = {}
        for advert, person in self.links:
            if advert in cohort:
                persons_of.setdefault(person, set()).add(advert)
        allowed = {
            person
            for advert, person, reason in self.reasons
            if person is not None and advert in persons_of.get(person, ()) and reason not in NOT_ELIGIBLE
        }
        first: dict[int, Message] = {}
        for message in self.outbound:
            if message.person_id in persons_of:
                first.setdefault(message.person_id, message)
        return Funnel(
            adverts_found=len(cohort),
            adverts_with_number=len({advert for advert, _person in self.links if advert in cohort}),
            persons_found=len(persons_of),
            persons_eligible=len(allowed | set(first)),
            persons_contacted=len(first),
            delivered=len(
                {m.person_id for m in self.outbound if m.person_id in first and m.status == MessageStatus.DELIVERED}
            ),
            replied=len(
                {
                    m.person_id
                    for m in self.inbound
                    if m.person_id in first and m.created_at >= first[m.person_id].created_at and m.kind not in KEYWORDS
                }
            ),
            opted_out=len({who for who, at in self.opt_outs if who in first and at >= first[who].created_at}),
        )


def _keys(zone: str) -> dict[str, Callable[[datetime, str | None, str | None, str | None], str]]:
    tz = ZoneInfo(zone)
    return {
        "total": lambda at, site, language, region: "all",
        "day": lambda at, site, language, region: at.astimezone(tz).date().isoformat(),
        "week": lambda at, site, language, region: (
            at.astimezone(tz).date() - timedelta(days=at.astimezone(tz).weekday())
        ).isoformat(),
        "site": lambda at, site, language, region: site or "-",
        "lang": lambda at, site, language, region: language or "-",
        "region": lambda at, site, language, region: region or "-",
    }


def _rows(rows: list[OutcomeRow]) -> list[tuple[object, ...]]:
    return sorted((r.group, r.adverts_found, r.persons_contacted, r.delivered, r.replied, r.opted_out) for r in rows)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_counts_equal_a_plain_reference(world: World, seed: int) -> None:
    _world(world, seed)
    since = NOW - timedelta(days=30)
    later = [since, NOW - timedelta(days=7), NOW - timedelta(hours=9)]
    scopes = ((None, None, None), (["a"], None, None), (None, {"rotterdam", "den haag"}, None))
    with world.store().session() as session:
        for organisations, regions, until in (*scopes, (None, None, NOW - timedelta(days=3))):
            data = outcome_stats.load(session, since, until=until, organisations=organisations, regions=regions)
            reference = Reference(session, since, until, organisations, regions)
            assert reference.funnel().persons_contacted > 2  # not an empty world
            for zone in ("Europe/Amsterdam", "Asia/Kolkata", "America/St_Johns"):  # whole, half and odd hours
                for by, key in _keys(zone).items():
                    for start in later if by == "total" else [since]:
                        counted = outcome_stats.group(data, by, zone, since=start)
                        assert _rows(counted) == reference.rows(key, start), (by, zone, start, organisations, regions)
            assert funnel(data) == reference.funnel(), (organisations, regions, until)
