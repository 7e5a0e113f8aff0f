"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, DateTime, Dialect, Integer, cast, extract, func
from sqlalchemy.types import TypeDecorator

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Always timezone-aware UTC in Python; SQLite drops the zone, so it is put back on the way out."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def micros(moment: datetime) -> int:
    """A time as whole microseconds since 1970 (UTC), exactly; what `epoch_micros` reads from the database."""
    return (moment - EPOCH) // timedelta(microseconds=1)


def epoch_micros(dialect: str, column: Any) -> ColumnElement[int]:
    """A UTCDateTime column as whole microseconds since 1970, counted by the database: reports that read tens of
    thousands of times compare and bucket integers instead of building a datetime per row (three times faster).
    SQLite keeps 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC: the whole seconds, then the six digits after the point."""
    if dialect == "postgresql":
        return cast(extract("epoch", column) * 1_000_000, BigInteger)
    seconds = func.unixepoch(column) if _UNIXEPOCH else cast(func.strftime("%s", column), Integer)
    return seconds * 1_000_000 + cast(func.substr(column, 21, 6), Integer)


# SQLite 3.38 (2022) has unixepoch(): the whole seconds as an integer, at half the cost of formatting them with
# strftime('%s') and reading the text back (the overview's 33,000 messages: 14 -> 6 ms).
_UNIXEPOCH = sqlite3.sqlite_version_info >= (3, 38)
