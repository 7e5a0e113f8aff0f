"""Transactions that only read (Store.reading), for the dashboard's counts: on SQLite they take no write lock, so a
count neither waits for a cycle's writes nor keeps them waiting; on PostgreSQL they are READ ONLY."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import DBAPIError

from outreach.store.db import Store
from outreach.store.models import Site

# Far below the busy timeout (30 s): a read that waited for the write lock would not finish in time.
PROMPT = 10.0


def _sites(store: Store) -> int:
    with store.reading() as session:
        return int(session.scalar(select(func.count()).select_from(Site)) or 0)


@pytest.fixture
def sqlite_file(migrated_sqlite_file: Path, tmp_path: Path) -> Path:
    """SQLite's write lock alone: PostgreSQL readers never take one."""
    path = tmp_path / "outreach.db"
    shutil.copyfile(migrated_sqlite_file, path)
    return path


def test_on_sqlite_a_read_neither_waits_for_a_writer_nor_keeps_one_waiting(sqlite_file: Path) -> None:
    database_url = f"sqlite:///{sqlite_file}"
    probe = sqlite3.connect(sqlite_file, timeout=0.1, isolation_level=None)
    with Store(database_url) as store:
        with store.session() as ordinary:
            ordinary.execute(select(Site.id)).all()  # an ordinary transaction holds the lock from its BEGIN on
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                probe.execute("BEGIN IMMEDIATE")
        with store.reading() as session:
            session.execute(select(Site.id)).all()
            probe.execute("BEGIN IMMEDIATE")  # a read transaction holds none
            probe.execute("ROLLBACK")
        with store.session() as writer:
            writer.add(Site(name="while-writing"))
            writer.flush()
            seen: list[int] = []
            reader = threading.Thread(target=lambda: seen.append(_sites(store)))
            reader.start()
            reader.join(PROMPT)
            assert not reader.is_alive(), "a read waited for the writer"
            assert seen == [0]  # the committed state: the writer's row is not visible before its commit
        assert _sites(store) == 1

        with store.reading() as session:
            before = session.scalar(select(func.count()).select_from(Site))
            done = threading.Event()

            def write() -> None:
                with store.session() as other:
                    other.add(Site(name="while-reading"))
                done.set()

            writer_thread = threading.Thread(target=write)
            writer_thread.start()
            writer_thread.join(PROMPT)
            assert done.is_set(), "a writer waited for a read"
            # The read goes on in its snapshot: the row committed meanwhile is not in it.
            assert session.scalar(select(func.count()).select_from(Site)) == before
        assert _sites(store) == 2
    probe.close()


def test_a_read_transaction_cannot_write_and_leaves_the_next_transaction_writable(database_url: str) -> None:
    refused = "read-only transaction" if database_url.startswith("postgresql") else "readonly database"
    with Store(database_url) as store:
        with pytest.raises(DBAPIError, match=refused), store.reading() as session:
            session.add(Site(name="not-here"))
            session.flush()
        with store.session() as session:  # the same pooled connection, writable again
            session.add(Site(name="here"))
        assert _sites(store) == 1
        with pytest.raises(DBAPIError, match=refused), store.reading() as session:
            session.execute(insert(Site).values(name="nor-here"))
        assert _sites(store) == 1
