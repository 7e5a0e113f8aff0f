"""The store's tables as typed SQLAlchemy models. The schema itself exists only through migrations/."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from outreach.store.types import UTCDateTime, utcnow

# Named constraints keep migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Outbound states, see ARCHITECTURE.md. `received` is the state of an inbound message.
MESSAGE_STATES = (
    "queued",
    "sending",
    "unknown",
    "sent",
    "delivered",
    "undelivered",
    "failed",
    "cancelled",
    "received",
)
FINAL_STATES = ("delivered", "undelivered", "failed", "cancelled", "received")


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
    status: Mapped[str] = mapped_column(String(20), default="running")
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


class Advert(Base):
    """One ad on one site. Phone numbers are removed from the stored text; they live in persons only."""

    __tablename__ = "adverts"
    __table_args__ = (UniqueConstraint("site_id", "site_ad_id", name="uq_adverts_site_ad"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    site_ad_id: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    city: Mapped[str | None] = mapped_column(String(120))
    category: Mapped[str | None] = mapped_column(String(40))
    language: Mapped[str | None] = mapped_column(String(8))
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


class AdvertPerson(Base):
    """An advert may show several numbers; a person may advertise on many adverts and sites."""

    __tablename__ = "advert_persons"

    advert_id: Mapped[int] = mapped_column(ForeignKey("adverts.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True, index=True)


class Message(Base):
    """One outbound or inbound message; outbound ones move through the outbox states."""

    __tablename__ = "messages"
    __table_args__ = (
        CheckConstraint("status IN (" + ", ".join(f"'{state}'" for state in MESSAGE_STATES) + ")", name="status"),
        CheckConstraint("direction IN ('out', 'in')", name="direction"),
        Index("ix_messages_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"), index=True)
    advert_id: Mapped[int | None] = mapped_column(ForeignKey("adverts.id", ondelete="SET NULL"))
    direction: Mapped[str] = mapped_column(String(3), default="out")
    channel: Mapped[str] = mapped_column(String(16), default="sms")
    kind: Mapped[str] = mapped_column(String(20), default="first_contact")
    language: Mapped[str | None] = mapped_column(String(8))
    body: Mapped[str] = mapped_column(Text)
    fieldworker: Mapped[str | None] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    provider_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
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
        CheckConstraint("kind IN ('opt_out', 'block')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_key: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


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
