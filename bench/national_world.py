"""The national benchmark world (bench/national.py): 25 organisations with four municipalities each, 8 ad sites, N
live adverts and a year of history, written with PostgreSQL's COPY instead of running a year of cycles.

What a year leaves behind, as the daily purge (retention: adverts 30 days, messages 365 days) would have left it:
- N live adverts (listed now): 3% without a mobile number; 0.5% first seen in the last hour (whom the timed cycle
  contacts); a tenth of the persons have a second advert; 90% in an organisation's region, 6% outside, 4% no city.
- 0.15 N gone adverts, last seen up to 31 days ago (a day of them is the purge's work), half of a live person's.
- N earlier persons whose adverts were purged: contacted 31 to 366 days ago (a day of them is the purge's work).
- Every person whose advert passes the policy (outreach.targeting.policy, the product's own) was contacted when it
  appeared, 30% of the live ones also in an earlier round 181-366 days ago; a reminder 5 days later unless they
  answered; 8% replied (a case, a fieldworker's answer), 2% opted out (STOP, a confirmation), 0.3% were blocked, 3%
  had an invalid number. Held adverts: 60% approved, 10% rejected, 30% pending.
- Hourly crawl runs and cycles for the year, a daily purge: their audit events.
- The audit chain: every message, status, reply and opt-out has its event, hashed with outreach.audit.event_hash in
  time order, so `outreach audit verify` walks a real chain.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql

from bench.dashboard import BODY, SITES
from bench.selection import TARGETING, TEXTS
from outreach import audit
from outreach.crypto import PhoneVault
from outreach.parsing.places import municipality
from outreach.settings import Settings
from outreach.store.types import utcnow
from outreach.targeting.policy import Policy, Verdict
from testworld.phrases import CATEGORIES

# 100 municipalities, four per organisation; adverts in the big ones are more frequent (weights below).
MUNICIPALITIES = (
    "Amsterdam|Rotterdam|Den Haag|Utrecht|Eindhoven|Groningen|Tilburg|Almere|Breda|Nijmegen|Apeldoorn|Arnhem|"
    "Haarlem|Haarlemmermeer|Amersfoort|Zaanstad|Enschede|Zwolle|Leiden|Zoetermeer|Leeuwarden|Maastricht|Dordrecht|"
    "Ede|Alphen aan den Rijn|Westland|Alkmaar|Emmen|Delft|Venlo|Deventer|Sittard-Geleen|Helmond|Oss|Amstelveen|"
    "Hilversum|Heerlen|Nissewaard|Hengelo|Purmerend|Schiedam|Lelystad|Roosendaal|Leidschendam-Voorburg|Almelo|"
    "Gouda|Vlaardingen|Assen|Zeist|Katwijk|Hoorn|Velsen|Capelle aan den IJssel|Veenendaal|Nieuwegein|"
    "Bergen op Zoom|Den Helder|Waalwijk|Harderwijk|Barneveld|Doetinchem|Hoogeveen|Smallingerland|Terneuzen|Kampen|"
    "Roermond|Oosterhout|Weert|Veldhoven|Pijnacker-Nootdorp|Rijswijk|Middelburg|Vlissingen|Goes|Woerden|Soest|"
    "Houten|Zutphen|Tiel|Culemborg|Wageningen|Meppel|Heerenveen|Stadskanaal|Winterswijk|Venray|Uden|Boxtel|Vught|"
    "Heusden|Gorinchem|Papendrecht|Zwijndrecht|Ridderkerk|Barendrecht|Maassluis|Krimpen aan den IJssel|"
    "Hellevoetsluis|Zandvoort|Huizen"
)
SERVED = tuple(MUNICIPALITIES.split("|"))
OUTSIDE = ("Bonaire", "Antwerpen", "Gent", "Aken", "Keulen", "Brussel")  # adverts across the border
SITE_NAMES = (*SITES, "rentmen", "escortdirect", "hookers")
ORGANISATIONS = 25
FIELDWORKERS = ("Sanne", "Noor", "Fleur", "Lotte", "Daan", "Sem", "Eva", "Mila")
LANGUAGE_OF_TEXT = ("nl", "en", "nl", "nl", "nl")  # TEXTS' languages
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
assert len(SERVED) == 4 * ORGANISATIONS and all(municipality(place) == place for place in SERVED), SERVED


def organisations() -> list[dict[str, Any]]:
    """25 organisations: four municipalities each; every third serves only women and trans people."""
    return [
        {
            "key": f"org{n + 1:02d}",
            "name": f"Hulp Regio {n + 1}",
            "fieldworker": FIELDWORKERS[n % len(FIELDWORKERS)],
            "municipalities": list(SERVED[4 * n : 4 * n + 4]),
            "categories": ["women", "trans"] if n % 3 == 2 else [],
            "members": [f"fieldworker{n + 1:02d}"],
        }
        for n in range(ORGANISATIONS)
    ]


def world_config(url: str, hmac_key: str, fernet_key: str) -> dict[str, Any]:
    """The world's settings (as a config file would hold them): the organisations, an umbrella supervisor."""
    return {
        "database_url": url,
        "hmac_key": hmac_key,
        "fernet_key": fernet_key,
        "organisations": organisations(),
        "umbrella_supervisors": ["bob"],
        "targeting": {"keywords": TARGETING["keywords"]},
        "web": {"public_url": "https://testserver"},
        "twilio": {"auth_token": "bench-token"},
    }


@dataclass(slots=True)
class _Person:
    id: int
    number: str
    first_seen: datetime
    last_seen: datetime
    new: bool = False  # first seen in the last hour: the timed cycle decides on it
    advert_id: int | None = None  # the advert a contact answers (None: purged since)
    organisation: str | None = None
    language: str = "nl"
    passes: bool = False
    contacted: datetime | None = None  # when the current contact round began (None: never contacted)


@dataclass
class WorldCounts:
    adverts_live: int = 0
    adverts_gone: int = 0
    persons: int = 0
    messages: int = 0
    opt_outs: int = 0
    cases: int = 0
    audit_events: int = 0
    held: int = 0
    extra: dict[str, int] = field(default_factory=dict)


class _Builder:
    def __init__(self, settings: Settings, vault: PhoneVault, now: datetime, seed: int) -> None:
        self.rng = random.Random(seed)
        self.now = now
        self.vault = vault
        self.policy = Policy(settings.targeting, settings.organisations)
        self.reminder_after = timedelta(days=settings.targeting.reminder.after_days)
        self.persons: list[_Person] = []
        self.adverts: list[tuple[Any, ...]] = []
        self.links: list[tuple[int, int]] = []
        self.held: list[tuple[Any, ...]] = []
        self.messages: list[list[Any]] = []  # sorted and numbered at the end
        self.opt_outs: list[tuple[Any, ...]] = []
        self.cases: list[tuple[Any, ...]] = []
        self.person_state: dict[int, dict[str, Any]] = {}
        self.live_persons: list[_Person] = []
        self.runs = 0  # hourly crawl runs of the year
        self.weights = [1 / (rank + 1) ** 0.8 for rank in range(len(SERVED))]

    # -- adverts and their persons ------------------------------------------------------------------------------
    def person(self, first_seen: datetime, last_seen: datetime) -> _Person:
        one = _Person(len(self.persons) + 1, f"+316{20_000_000 + len(self.persons):08d}", first_seen, last_seen)
        self.persons.append(one)
        return one

    def city(self) -> str | None:
        roll = self.rng.random()
        if roll < 0.04:
            return None
        if roll < 0.10:
            return self.rng.choice(OUTSIDE)
        return self.rng.choices(SERVED, self.weights)[0]

    def advert(self, person: _Person | None, first_seen: datetime, last_seen: datetime, gone: bool) -> None:
        rng, advert_id = self.rng, len(self.adverts) + 1
        text_index = rng.choices(range(len(TEXTS)), [60, 30, 4, 3, 3])[0]
        city, category = self.city(), rng.choice(CATEGORIES)
        content_hash = hashlib.sha256(str(advert_id).encode()).hexdigest()
        title = f"Advert {advert_id}"
        self.adverts.append(
            (
                advert_id,
                1 + advert_id % len(SITE_NAMES),
                f"A{advert_id}",
                self.vault.encrypt(f"https://example.invalid/ads/{advert_id}"),  # stored encrypted (migration 0011)
                self.vault.url_key(f"https://example.invalid/ads/{advert_id}"),
                title,
                TEXTS[text_index],
                city,
                category,
                LANGUAGE_OF_TEXT[text_index] if person is not None and not person.new else None,
                rng.random() < 0.2,
                1 if person is not None else 0,
                content_hash,
                first_seen,
                last_seen,
                last_seen + HOUR if gone else None,
                None if person is not None else "landline",
            )
        )
        if person is None:
            return
        self.links.append((advert_id, person.id))
        verdict = self.policy.judge(city=city, category=category, title=title, text=TEXTS[text_index])
        if verdict.reason is None and verdict.hold is not None and not person.new:
            verdict = self.hold(advert_id, content_hash, first_seen, verdict)
        if verdict.passes and not person.passes:
            person.passes, person.advert_id = True, advert_id
            person.organisation, person.language = verdict.organisation, LANGUAGE_OF_TEXT[text_index]

    def hold(self, advert_id: int, content_hash: str, held_at: datetime, verdict: Verdict) -> Verdict:
        """A held advert that a person decided on (or not yet): approved ones pass."""
        roll = self.rng.random()
        status = "approved" if roll < 0.6 else "rejected" if roll < 0.7 else "pending"
        decided = held_at + 2 * HOUR if status != "pending" else None
        self.held.append(
            (advert_id, verdict.hold, content_hash, status, held_at, decided, "bob" if decided else None, None)
        )
        return Verdict(organisation=verdict.organisation) if status == "approved" else Verdict(hold=verdict.hold)

    def live(self, count: int) -> None:
        rng, now = self.rng, self.now
        live: list[_Person] = []
        for _ in range(count):
            new = rng.random() < 0.005
            first_seen = now - rng.uniform(60, 3500) * timedelta(seconds=1) if new else now - rng.uniform(1, 90) * DAY
            last_seen = now - rng.uniform(60, 3000) * timedelta(seconds=1)
            if rng.random() < 0.03:
                self.advert(None, first_seen, last_seen, gone=False)
                continue
            if live and rng.random() < 0.1:
                person = rng.choice(live)  # a second advert: the person advertises on two sites
                person.first_seen = min(person.first_seen, first_seen)
            else:
                person = self.person(first_seen, last_seen)
                person.new = new
                live.append(person)
            self.advert(person, first_seen, last_seen, gone=False)
        self.live_persons = live

    def gone(self, count: int) -> None:
        rng, now = self.rng, self.now
        for _ in range(count):
            last_seen = now - rng.uniform(1 / 24, 31) * DAY
            first_seen = last_seen - rng.uniform(1, 60) * DAY
            if rng.random() < 0.5:
                person = rng.choice(self.live_persons)
                person.first_seen = min(person.first_seen, first_seen)
            else:
                person = self.person(first_seen, last_seen)
            self.advert(person, first_seen, last_seen, gone=True)

    def earlier(self, count: int) -> None:
        """Persons whose adverts the purge removed long ago: only their contact history is left."""
        rng, now = self.rng, self.now
        units = organisations()
        for _ in range(count):
            contacted = now - rng.uniform(31, 366) * DAY
            person = self.person(contacted - rng.uniform(0, 2) * HOUR, contacted + rng.uniform(0, 25) * DAY)
            person.passes, person.organisation = True, rng.choice(units)["key"]
            person.language = rng.choice(("nl", "nl", "en", "ro", "es", "pl", "hu", "bg"))
            person.contacted = contacted

    # -- the contact history ------------------------------------------------------------------------------------
    def history(self) -> None:
        rng, now = self.rng, self.now
        for person in self.persons:
            if not person.passes or person.new:
                continue
            if person.contacted is None:
                person.contacted = min(person.first_seen + rng.uniform(0, 2) * HOUR, now - HOUR)
                earlier = person.contacted - rng.uniform(181, 300) * DAY
                if rng.random() < 0.3 and earlier > now - 366 * DAY:
                    self.round(person, earlier, person.advert_id, answered=False)
                    person.first_seen = min(person.first_seen, earlier)
            self.round(person, person.contacted, person.advert_id, answered=True)

    def message(self, person: _Person, **values: Any) -> None:
        at: datetime = values["created_at"]
        self.messages.append(
            [
                at,
                person,
                values.get("advert_id"),
                values.get("direction", "out"),
                values["kind"],
                values.get("language"),
                values.get("body", BODY),
                values.get("status", "delivered"),
                values.get("error_code"),
                values.get("sent_by"),
                values.get("sent_at"),
            ]
        )

    def round(self, person: _Person, at: datetime, advert_id: int | None, *, answered: bool) -> None:
        """One contact round: the first contact, the reminder, and (the latest round only) what the person did."""
        rng, now = self.rng, self.now
        state = self.person_state.setdefault(person.id, {})
        state["last_contacted_at"] = at
        roll = rng.random()
        status, code = (
            ("delivered", None)
            if roll < 0.9
            else ("sent", None)
            if roll < 0.95
            else ("undelivered", 30006)
            if roll < 0.98
            else ("failed", 21211)
        )
        sent_at = at + timedelta(seconds=rng.uniform(1, 300))
        language = person.language
        self.message(
            person,
            created_at=at,
            advert_id=advert_id,
            kind="first_contact",
            language=language,
            status=status,
            error_code=code,
            sent_at=sent_at,
            sent_by="scheduler",
        )
        if code is not None:
            state["invalid_at"] = sent_at + HOUR
            return
        outcome = rng.random() if answered else 1.0
        answer_at = sent_at + rng.uniform(0.01, 4) * DAY
        if outcome < 0.08 and answer_at < now:
            self.replied(person, state, answer_at)
        elif outcome < 0.10 and answer_at < now:
            self.stopped(person, answer_at, "opt_out")
        elif outcome < 0.103 and answer_at < now:
            self.stopped(person, answer_at, "block")
        elif outcome < 0.105:
            state["paused_reason"] = "possible opt-out"
        due = sent_at + self.reminder_after
        if outcome >= 0.105 and due <= now - HOUR:  # one due in the last hour is the timed cycle's to send
            reminded = due + rng.uniform(0, 1) * HOUR
            state["reminded_at"] = reminded
            self.message(
                person,
                created_at=reminded,
                advert_id=advert_id,
                kind="reminder",
                language=language,
                sent_at=reminded + timedelta(seconds=30),
                sent_by="scheduler",
            )

    def replied(self, person: _Person, state: dict[str, Any], at: datetime) -> None:
        rng = self.rng
        state["last_inbound_at"] = at
        self.message(
            person,
            created_at=at,
            direction="in",
            kind="reply",
            status="received",
            body=self.vault.encrypt("Hoi, dank je. Wat bieden jullie?"),
        )
        closed = rng.random() < 0.8
        answer = at + rng.uniform(5, 600) * timedelta(minutes=1)
        if answer < self.now:
            worker = FIELDWORKERS[person.id % len(FIELDWORKERS)]
            self.message(
                person,
                created_at=answer,
                kind="reply",
                language=person.language,
                sent_by=worker,
                sent_at=answer + timedelta(seconds=5),
            )
        else:
            state["needs_fieldworker_since"] = at
        updated = min(answer, self.now)
        self.cases.append(
            (
                person.id,
                person.organisation or "",
                "closed" if closed else "open",
                f"fieldworker{1 + person.id % 25:02d}",
                at,
                updated,
                updated if closed else None,
                "bench" if closed else None,
            )
        )

    def stopped(self, person: _Person, at: datetime, kind: str) -> None:
        key = self.vault.key(person.number)
        if kind == "opt_out":
            self.message(
                person,
                created_at=at,
                direction="in",
                kind="opt_out",
                status="received",
                body=self.vault.encrypt("STOP"),
            )
            self.message(
                person,
                created_at=at + timedelta(seconds=2),
                kind="opt_out_confirmation",
                language=person.language,
                sent_at=at + timedelta(seconds=3),
                sent_by="webhook",
            )
            self.opt_outs.append((key, "opt_out", "keyword", "webhook", None, at, person.organisation))
        else:
            self.opt_outs.append((key, "block", "dashboard", "bob", "bench", at, person.organisation))


def _copy(conn: psycopg.Connection[Any], table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    statement = sql.SQL("COPY {table} ({columns}) FROM STDIN").format(
        table=sql.Identifier(table), columns=sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with conn.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def _events(builder: _Builder, message_ids: list[tuple[int, list[Any]]]) -> list[tuple[Any, ...]]:
    """(at, kind, ...) for every event of the year, in time order: the chain is hashed in this order."""
    events: list[tuple[Any, ...]] = []
    now = builder.now
    for message_id, (
        at,
        person,
        advert_id,
        direction,
        kind,
        language,
        _body,
        status,
        code,
        _by,
        sent_at,
    ) in message_ids:
        if direction == "in":
            events.append((at, "r", message_id, person.id, kind))
            continue
        events.append((at, "q", message_id, person.id, kind, advert_id, language, person.organisation))
        events.append((sent_at, "s", message_id))
        if status != "sent":
            events.append((sent_at + timedelta(seconds=20), "d", message_id, status, code))
    for key, kind, _source, actor, _reason, at, organisation in builder.opt_outs:
        events.append((at, "o", key[:12], kind, actor, organisation))
    hour = (now - 366 * DAY).replace(minute=0, second=0, microsecond=0)
    run_id = 0
    while hour < now - HOUR:
        run_id += 1
        events.append((hour, "cycle", run_id))
        if hour.hour == 3:
            events.append((hour + timedelta(minutes=30), "purge"))
        hour += HOUR
    builder.runs = run_id
    events.sort(key=lambda event: event[0])
    return events


def _event_row(event: tuple[Any, ...]) -> list[tuple[datetime, str, str, dict[str, Any]]]:
    """The stored (created_at, actor, name, fields) of one generated event, as the product writes them."""
    at, kind = event[0].replace(microsecond=0), event[1]
    if kind == "q":
        _, _, message_id, person_id, message_kind, advert_id, language, organisation = event
        fields = {
            "message_id": message_id,
            "person_id": person_id,
            "kind": message_kind,
            "advert_id": advert_id,
            "language": language,
            "mode": "auto",
            "organisation": organisation,
        }
        return [(at, "scheduler", "message.queued", fields)]
    if kind == "s":
        fields = {
            "message_id": event[2],
            "provider_sid": f"SM{event[2]:032x}",
            "channel": "sms",
            "mode": "auto",
            "approved_by": None,
            "dry_run": False,
            "late": False,
            "rate_limited": 0,
        }
        return [(at, "scheduler", "message.sent", fields)]
    if kind == "d":
        fields = {"message_id": event[2], "before": "sent", "status": event[3], "code": event[4], "consequence": None}
        return [(at, "webhook", "message.status", fields)]
    if kind == "r":
        return [
            (at, "webhook", "message.received", {"message_id": event[2], "person_id": event[3], "intent": event[4]})
        ]
    if kind == "o":
        _, _, key, stop_kind, actor, organisation = event
        fields = {
            "person_key": key,
            "source": "keyword" if stop_kind == "opt_out" else "dashboard",
            "organisation": organisation,
        }
        return [(at, actor, "person." + stop_kind, fields)]
    if kind == "purge":
        return [(at, "scheduler", "retention.purged", {"adverts": 40, "uncontacted_persons": 12, "messages": 90})]
    run_id, minute = event[2], timedelta(minutes=1)
    return [
        (at, "scheduler", "cycle.started", {"dry_run": False, "mode": "auto"}),
        (at, "scheduler", "crawl.started", {"run_id": run_id}),
        (at + 8 * minute, "scheduler", "crawl.finished", {"run_id": run_id, "status": "ok"}),
        (
            at + 9 * minute,
            "scheduler",
            "cycle.finished",
            {"run_id": run_id, "crawl_ok": True, "queued": 3, "sent": 3, "failed": 0, "send_failure": None},
        ),
    ]


def _chain(events: list[tuple[Any, ...]]) -> Iterable[tuple[Any, ...]]:
    """audit_events rows: hashed with outreach.audit.event_hash, exactly as audit.record chains them."""
    prev, seq = audit.GENESIS, 0
    for event in events:
        for at, actor, name, fields in _event_row(event):
            seq += 1
            digest = audit.event_hash(prev, seq, at, actor, name, fields)
            yield (seq, seq, at, actor, name, json.dumps(fields), prev, digest)
            prev = digest


# The columns each COPY writes, in the order the builder's rows hold them.
COLUMNS = {
    "sites": "id name created_at",
    "crawl_runs": "id started_at finished_at status stats",
    "persons": "id key phone_encrypted country is_mobile first_seen last_seen last_contacted_at last_inbound_at "
    "needs_fieldworker_since paused_reason invalid_at reminded_at",
    "adverts": "id site_id site_ad_id url_encrypted url_key title text city category language has_whatsapp phone_count "
    "content_hash first_seen last_seen gone_at numbers_left_out",
    "advert_persons": "advert_id person_id",
    "held_adverts": "advert_id rule content_hash status held_at decided_at decided_by decision_reason",
    "messages": "id person_id advert_id direction channel kind language language_detected language_confidence "
    "language_rule template_variant body fieldworker status provider_sid provider_status mode organisation sent_by "
    "error_code dry_run created_at claimed_at sent_at updated_at",
    "opt_outs": "person_key kind source actor reason created_at organisation",
    "cases": "person_id organisation status assigned_to opened_at updated_at closed_at closed_by",
    "audit_events": "id seq created_at actor name fields prev_hash hash",
}
PERSON_STATE = COLUMNS["persons"].split()[7:]


def _message_rows(numbered: list[tuple[int, list[Any]]]) -> Iterable[tuple[Any, ...]]:
    for message_id, (at, person, advert_id, direction, kind, language, body, status, code, by, sent_at) in numbered:
        out = direction == "out"
        detected = (language, 0.9, "detected", "a") if out else (None, None, None, None)
        yield (
            *(message_id, person.id, advert_id, direction, "sms", kind, language, *detected, body),
            *(FIELDWORKERS[0] if out else None, status, f"SM{message_id:032x}", status, "auto" if out else None),
            *(person.organisation, by, code, False, at, sent_at, sent_at, sent_at or at),
        )


def _crawl_runs(builder: _Builder) -> Iterable[tuple[Any, ...]]:
    stats = json.dumps({name: {"finish_reason": "finished", "item_scraped_count": 40} for name in SITE_NAMES})
    for run in range(1, builder.runs + 1):
        started = builder.now - (builder.runs - run + 1) * HOUR
        yield (run, started, started + 8 * timedelta(minutes=1), "ok", stats)


def _person_rows(builder: _Builder) -> Iterable[tuple[Any, ...]]:
    vault = builder.vault
    for p in builder.persons:
        state = builder.person_state.get(p.id, {})
        yield (
            p.id,
            vault.key(p.number),
            vault.encrypt(p.number),
            "NL",
            True,
            p.first_seen,
            p.last_seen,
            *(state.get(name) for name in PERSON_STATE),
        )


def generate(url: str, settings: Settings, live_adverts: int, seed: int = 21) -> WorldCounts:
    """Fill an empty, migrated PostgreSQL database (url: SQLAlchemy's) with the world of `live_adverts`."""
    now = utcnow().replace(microsecond=0)
    builder = _Builder(settings, PhoneVault.from_settings(settings), now, seed)
    builder.live(live_adverts)
    builder.gone(int(live_adverts * 0.15))
    builder.earlier(live_adverts)
    builder.history()
    builder.messages.sort(key=lambda row: row[0])
    numbered = list(enumerate(builder.messages, start=1))
    events = _events(builder, numbered)
    counts = WorldCounts(
        live_adverts,
        int(live_adverts * 0.15),
        len(builder.persons),
        len(numbered),
        len(builder.opt_outs),
        len(builder.cases),
        0,
        len(builder.held),
    )
    chained = 0

    def counted(rows: Iterable[tuple[Any, ...]]) -> Iterable[tuple[Any, ...]]:
        nonlocal chained
        for row in rows:
            chained += 1
            yield row

    tables: dict[str, Iterable[Sequence[Any]]] = {
        "sites": ((i + 1, name, now - 400 * DAY) for i, name in enumerate(SITE_NAMES)),
        "crawl_runs": _crawl_runs(builder),
        "persons": _person_rows(builder),
        "adverts": builder.adverts,
        "advert_persons": builder.links,
        "held_adverts": builder.held,
        "messages": _message_rows(numbered),
        "opt_outs": builder.opt_outs,
        "cases": builder.cases,
        "audit_events": counted(_chain(events)),
    }
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        for table, rows in tables.items():
            _copy(conn, table, COLUMNS[table].split(), rows)
        for table in tables:
            if "id" in COLUMNS[table].split():
                conn.execute(
                    sql.SQL(
                        "SELECT setval(pg_get_serial_sequence({name}, 'id'), (SELECT max(id) FROM {table}))"
                    ).format(name=sql.Literal(table), table=sql.Identifier(table))
                )
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")  # what autovacuum would have done over the year
    counts.audit_events = chained
    return counts
