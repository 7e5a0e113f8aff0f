"""The store's tables as typed SQLAlchemy models. The schema itself exists only through migrations/."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    Unicode,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from outreach.store.states import CaseStatus, CrawlRunStatus, Direction, MessageKind, MessageStatus, StopKind
from outreach.store.types import UTCDateTime, utcnow

# Named constraints keep migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _one_of(column: str, values: type[StrEnum]) -> str:
    """A CHECK constraint's text: exactly the strings the migrations wrote, as the enum lists them."""
    return f"{column} IN (" + ", ".join(f"'{value}'" for value in values) + ")"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}  # noqa: RUF012


class Site(Base):
    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Adverts are marked gone only after a listing walk that reached the end; incremental crawls stop early.
    last_full_walk_at: Mapped[datetime | None]


class CrawlRun(Base):
    """One crawl of all enabled sites, done by a child process; stats are what the crawl counted."""

    __tablename__ = "crawl_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20), default=CrawlRunStatus.RUNNING)
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Person(Base):
    """Whom we would contact: identified by HMAC(secret, E.164); the number only encrypted."""

    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    phone_encrypted: Mapped[str] = mapped_column(Text)
    country: Mapped[str] = mapped_column(String(2))
    is_mobile: Mapped[bool] = mapped_column(Boolean)
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)
    # Written in the same transaction as the outbox row: the contact decision.
    last_contacted_at: Mapped[datetime | None]
    # The person wrote to us: no more automatic messages, a fieldworker takes over; WhatsApp's 24-hour window.
    last_inbound_at: Mapped[datetime | None]
    needs_fieldworker_since: Mapped[datetime | None]
    # Automatic messages paused, e.g. "possible opt-out" until a fieldworker has read the reply.
    paused_reason: Mapped[str | None] = mapped_column(String(60))
    # The provider said the number cannot receive messages (21211, 21614, 30005, 30006 ...).
    invalid_at: Mapped[datetime | None]
    whatsapp_opt_in_at: Mapped[datetime | None]
    # The one reminder of the current contact round (later than last_contacted_at): the reminder decision.
    reminded_at: Mapped[datetime | None]


class Advert(Base):
    """One ad on one site. Phone numbers are removed from the stored text; they live in persons only.

    The advert's address is stored encrypted (PhoneVault), like a number: the site's page behind it shows the
    number. The crawl finds an advert by its address through `url_key`, a keyed hash (PhoneVault.url_key)."""

    __tablename__ = "adverts"
    __table_args__ = (
        UniqueConstraint("site_id", "site_ad_id", name="uq_adverts_site_ad"),
        Index("ix_adverts_site_url_key", "site_id", "url_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    site_ad_id: Mapped[str] = mapped_column(String(200))
    url_encrypted: Mapped[str] = mapped_column(Text)
    url_key: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    city: Mapped[str | None] = mapped_column(String(120))
    category: Mapped[str | None] = mapped_column(String(40))
    language: Mapped[str | None] = mapped_column(String(8))
    language_override: Mapped[str | None] = mapped_column(String(8))  # set by a fieldworker; wins over detection
    has_whatsapp: Mapped[bool] = mapped_column(Boolean, default=False)
    phone_count: Mapped[int] = mapped_column(Integer, default=0)
    content_hash: Mapped[str] = mapped_column(String(64))
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"), index=True)
    # Incremental crawling: the listing entry as last seen, when the detail page was last fetched, and when the
    # advert stopped being listed (never deleted by the crawl; listed again clears it).
    listing_hash: Mapped[str | None] = mapped_column(String(64))
    detail_fetched_at: Mapped[datetime | None]
    gone_at: Mapped[datetime | None]
    # Why numbers were left out by the crawl ("landline", "other_country"), so selection can say "not a mobile".
    numbers_left_out: Mapped[str | None] = mapped_column(String(20))


class AdvertPerson(Base):
    """An advert may show several numbers; a person may advertise on many adverts and sites."""

    __tablename__ = "advert_persons"

    advert_id: Mapped[int] = mapped_column(ForeignKey("adverts.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True, index=True)


class AdvertReason(Base):
    """Why an advert (for one of its persons) was or was not messaged, as the last cycle decided.

    Rows of listed adverts are replaced every cycle; a gone advert keeps its last reason. `detail` holds a keyword,
    a city, a date or an advert id, never a number or advert text."""

    __tablename__ = "advert_reasons"
    __table_args__ = (
        # One reason per advert and person, and one per advert without a person (NULLs are distinct in the first).
        Index("ux_advert_reasons_advert_person", "advert_id", "person_id", unique=True),
        Index(
            "ux_advert_reasons_advert_no_person",
            "advert_id",
            unique=True,
            sqlite_where=text("person_id IS NULL"),
            postgresql_where=text("person_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    advert_id: Mapped[int] = mapped_column(ForeignKey("adverts.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(30), index=True)
    detail: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)


class HeldAdvert(Base):
    """An advert a person must decide on (`outreach review`): a hold keyword, an unknown city or category.

    A decision holds for the advert's content as it was (content_hash); a changed advert is held again."""

    __tablename__ = "held_adverts"
    __table_args__ = (CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    advert_id: Mapped[int] = mapped_column(ForeignKey("adverts.id", ondelete="CASCADE"), unique=True)
    rule: Mapped[str] = mapped_column(String(200))
    content_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    held_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(80))
    decision_reason: Mapped[str | None] = mapped_column(Text)


class Message(Base):
    """One outbound or inbound message; outbound ones move through the outbox states.

    An inbound message's body is personal data and is stored encrypted (PhoneVault), like the number.
    """

    __tablename__ = "messages"
    __table_args__ = (
        CheckConstraint(_one_of("status", MessageStatus), name="status"),
        CheckConstraint(_one_of("direction", Direction), name="direction"),
        Index("ix_messages_status_id", "status", "id"),
        Index("ix_messages_sent_at", "sent_at"),
        # The dashboard: the overview counts by period, the contact log filters by date and by advert.
        Index("ix_messages_created_at", "created_at"),
        Index("ix_messages_advert_id", "advert_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"), index=True)
    advert_id: Mapped[int | None] = mapped_column(ForeignKey("adverts.id", ondelete="SET NULL"))
    direction: Mapped[str] = mapped_column(String(3), default=Direction.OUT)
    channel: Mapped[str] = mapped_column(String(16), default="sms")
    kind: Mapped[str] = mapped_column(String(20), default=MessageKind.FIRST_CONTACT)
    language: Mapped[str | None] = mapped_column(String(8))  # the template's language
    # How the language was chosen: what the detector saw, how sure it was, and the rule that decided.
    language_detected: Mapped[str | None] = mapped_column(String(8))
    language_confidence: Mapped[float | None] = mapped_column(Float)
    language_rule: Mapped[str | None] = mapped_column(String(20))
    template_variant: Mapped[str | None] = mapped_column(String(40))  # which wording of the template (A/B)
    body: Mapped[str] = mapped_column(Text)
    fieldworker: Mapped[str | None] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(16), default=MessageStatus.QUEUED)
    provider_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    provider_status: Mapped[str | None] = mapped_column(String(20))
    content_sid: Mapped[str | None] = mapped_column(String(40))  # WhatsApp: an approved Content template
    content_variables: Mapped[dict[str, Any] | None]
    mode: Mapped[str | None] = mapped_column(String(10))  # auto / approve / assist / manual
    # With several organisations (settings.organisations): whose message this is; its sender, its log.
    organisation: Mapped[str | None] = mapped_column(String(40))
    approved_by: Mapped[str | None] = mapped_column(String(80))
    sent_by: Mapped[str | None] = mapped_column(String(80))
    error_code: Mapped[int | None]
    error_message: Mapped[str | None] = mapped_column(Text)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class OptOut(Base):
    """Never contact this person again. Keyed by the person's HMAC key so it survives erasure of the person.

    kind is `opt_out` (the person asked) or `block` (a fieldworker decided): different states, one table.
    """

    __tablename__ = "opt_outs"
    __table_args__ = (
        UniqueConstraint("person_key", "kind", name="uq_opt_outs_person_kind"),
        CheckConstraint(_one_of("kind", StopKind), name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_key: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # With several organisations: the one that recorded it, which alone (or an umbrella supervisor) sees and lifts
    # it; every organisation honours it. NULL: the umbrella's (recorded before organisations were separated).
    organisation: Mapped[str | None] = mapped_column(String(40))


class AuditEvent(Base):
    """Append-only, hash-chained: hash = sha256(prev_hash + canonical event)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(60), index=True)
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(Base):
    """The result of one full verification of the audit chain (outreach.audit_checkpoints): the last event it read
    (seq, and that event's hash then), how many events and problems it found, when and by whom. The dashboard's
    /audit page verifies only the events after the newest intact one; a full verification never reads this table.

    `event_seq`: the audit.verified event that records the same result in the chain itself."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int]
    hash: Mapped[str] = mapped_column(String(64))
    verified_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(80))
    events: Mapped[int]
    problems: Mapped[int]
    first_problem: Mapped[int | None]
    event_seq: Mapped[int | None]


class SendingPause(Base):
    """Sending stops for everyone until a supervisor clears it (e.g. Twilio filtered us as spam, 30004/30007)."""

    __tablename__ = "sending_pauses"

    id: Mapped[int] = mapped_column(primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    code: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(80))
    cleared_at: Mapped[datetime | None]
    cleared_by: Mapped[str | None] = mapped_column(String(80))
    clear_reason: Mapped[str | None] = mapped_column(Text)


class Lock(Base):
    """A named lease held by one process until it expires: survives a crashed holder, works on both databases."""

    __tablename__ = "locks"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    holder: Mapped[str] = mapped_column(String(120))
    acquired_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class Heartbeat(Base):
    """A long-running process says it is alive, and what it last did (`outreach status` reads it)."""

    __tablename__ = "heartbeats"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    beat_at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)


# APScheduler's job store, in the same database. It would create this table itself; the schema exists only through
# migrations, so it is declared here exactly as apscheduler.jobstores.sqlalchemy defines it.
apscheduler_jobs = Table(
    "apscheduler_jobs",
    Base.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)


USER_ROLES = ("fieldworker", "supervisor")


class User(Base):
    """Someone who logs in to the dashboard; only an argon2 hash of the password is kept."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN (" + ", ".join(f"'{r}'" for r in USER_ROLES) + ")", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(80))
    disabled_at: Mapped[datetime | None]
    # Set by `outreach user passwd`: the one-time password works once, for choosing a new one.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The dashboard's language for this user (outreach.web.i18n.LANGUAGES); None: the installation's default.
    language: Mapped[str | None] = mapped_column(String(8))


class WebSession(Base):
    """A logged-in browser. The cookie holds a random token; only its SHA-256 is stored, so a copy of the
    database does not let anyone log in."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class KnownDevice(Base):
    """A browser that logged in as this user before: a random token in a long-lived cookie, only its SHA-256 here.
    A correct password from a known device passes the per-name and per-address log-in limits, so an attacker who
    guesses at a name cannot lock its owner out."""

    __tablename__ = "known_devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class LoginFailure(Base):
    """A failed log-in, counted per user name and per client (a hash of the address) to slow down guessing."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_username_created_at", "username", "created_at"),
        Index("ix_login_failures_client_created_at", "client", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80))
    client: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Case(Base):
    """A conversation with one person in one organisation, opened by their first message to it (reopened by the
    next one after closing): who works it, whether it is closed, and when it was flagged as waiting too long.

    How long the person waits is their `persons.needs_fieldworker_since`; `organisation` is "" with one
    organisation (NULLs would not be unique)."""

    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("person_id", "organisation", name="uq_cases_person_organisation"),
        CheckConstraint(_one_of("status", CaseStatus), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"))
    organisation: Mapped[str] = mapped_column(String(40), default="")
    status: Mapped[str] = mapped_column(String(10), default=CaseStatus.OPEN, index=True)
    assigned_to: Mapped[str | None] = mapped_column(String(80), index=True)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(80))
    escalated_at: Mapped[datetime | None]


class CaseLabel(Base):
    """An outcome label on a case (settings `cases.outcome_labels`), several per case."""

    __tablename__ = "case_labels"
    __table_args__ = (UniqueConstraint("case_id", "label", name="uq_case_labels_case_label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(60), index=True)
    added_by: Mapped[str] = mapped_column(String(80))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseNote(Base):
    """An internal note on a case: never sent; personal data, so stored encrypted (PhoneVault) like replies."""

    __tablename__ = "case_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(80))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
