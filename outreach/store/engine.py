"""One SQLAlchemy engine per database URL, with the SQLite pragmas every connection needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from outreach.errors import ConfigError


def make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"database_url: not a database URL: {url!r}") from exc
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": 30})
        _sqlite_pragmas(engine)
        return engine
    try:
        return create_engine(parsed, pool_pre_ping=True)
    except (ArgumentError, ImportError) as exc:
        raise ConfigError(f"database_url: {exc}") from exc


def _sqlite_pragmas(engine: Engine) -> None:
    """SQLite: foreign keys on, WAL, and BEGIN IMMEDIATE so two writers queue instead of failing half-way."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy's "begin" event emit BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        # Deleted rows are overwritten with zeros, so purged or erased text does not linger in free pages. Some
        # builds (Debian's) do this by default, others do not: it must not depend on the build.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
