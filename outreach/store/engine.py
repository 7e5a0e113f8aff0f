"""One SQLAlchemy engine per database URL, with the SQLite pragmas every connection needs."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from outreach.errors import ConfigError

# An engine's execution option (Engine.execution_options) for transactions that only read: on SQLite they begin
# deferred instead of IMMEDIATE, so they take no write lock (Store.reading).
READ_ONLY = "outreach_read_only"


def make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"database_url: not a database URL: {url!r}") from exc
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            create_private(Path(parsed.database))
        engine = create_engine(parsed, connect_args={"timeout": 30})
        _sqlite_pragmas(engine)
        return engine
    try:
        return create_engine(parsed, pool_pre_ping=True)
    except (ArgumentError, ImportError) as exc:
        raise ConfigError(f"database_url: {exc}") from exc


def create_private(path: Path) -> None:
    """Create the SQLite file readable by its owner only, whatever the umask: it holds every encrypted number,
    the keyed hashes and the message log. SQLite gives its -wal and -shm files the database file's mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):  # an existing database keeps its mode: `config check` reports it
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def readable_by_others(url: str) -> list[Path]:
    """The SQLite database's files (with its -wal, -shm, -journal) that group or others may read; none for a
    server database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return []
    files = [Path(parsed.database + suffix) for suffix in ("", "-wal", "-shm", "-journal")]
    return [path for path in files if path.exists() and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO)]


def _sqlite_pragmas(engine: Engine) -> None:
    """SQLite: foreign keys on, WAL, and BEGIN IMMEDIATE so two writers queue instead of failing half-way; a
    transaction that only reads (READ_ONLY) begins deferred: it reads a snapshot of the WAL, waits for no writer and
    keeps none waiting. It is also query_only until it ends, so a write in it fails at once instead of writing
    without the lock the audit chain relies on (outreach/audit.py)."""

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
        # query_only belongs to the pooled connection, not to the transaction: an ordinary transaction on a
        # connection that last served a read turns it off again (its info lives as long as the connection).
        held = conn.connection.info
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("PRAGMA query_only=ON")
            held[READ_ONLY] = True
            conn.exec_driver_sql("BEGIN")
        else:
            if held.pop(READ_ONLY, False):
                conn.exec_driver_sql("PRAGMA query_only=OFF")
            conn.exec_driver_sql("BEGIN IMMEDIATE")
