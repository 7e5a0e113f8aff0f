"""`outreach db upgrade` is safe on a live database: one schema change at a time, and the newest can be undone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from outreach.errors import OutreachError
from outreach.store.db import alembic_config, current_revision, downgrade, head_revision, upgrade
from outreach.store.engine import make_engine

# About PostgreSQL itself too (locks, concurrency, migrations, at rest): it runs there in the fast run as well.
pytestmark = pytest.mark.postgres

HOLD_LOCK = """
import sys
from outreach.store.migration_lock import migration_lock
with migration_lock(sys.argv[1]):
    print("locked", flush=True)
    sys.stdin.readline()
"""


def _outreach(url: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "OUTREACH_DATABASE_URL": url}
    return subprocess.Popen(
        [sys.executable, "-m", "outreach", "db", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_second_upgrade_refuses_in_one_line_while_another_process_holds_the_lock(empty_database_url: str) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, empty_database_url], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        second = _outreach(empty_database_url, "upgrade")
        _out, err = second.communicate(timeout=60)
        assert second.returncode == 1
        assert err.strip().splitlines() == [
            "error: another `outreach db upgrade` or `downgrade` is running on this database; nothing was done"
        ]
        assert current_revision(empty_database_url) is None  # it did nothing
    finally:
        holder.communicate("\n", timeout=30)
    assert holder.returncode == 0
    upgraded = _outreach(empty_database_url, "upgrade")
    _out, err = upgraded.communicate(timeout=120)
    assert upgraded.returncode == 0, err
    assert current_revision(empty_database_url) == head_revision()


def test_two_upgrades_started_together_leave_one_clean_schema(empty_database_url: str) -> None:
    runs = [_outreach(empty_database_url, "upgrade") for _ in range(2)]
    results = [(run.communicate(timeout=120), run.returncode) for run in runs]
    assert 0 in [code for _, code in results]
    for (_, err), code in results:
        # Without the lock, the loser would fail half-way ("table already exists") or both would succeed by luck.
        assert code == 0 or "another `outreach db upgrade`" in err, err
    assert current_revision(empty_database_url) == head_revision()


def _schema(url: str) -> dict[str, object]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            found = inspect(conn)
            return {
                table: (
                    sorted(
                        (column["name"], str(column["type"]), column["nullable"]) for column in found.get_columns(table)
                    ),
                    sorted(str(index["column_names"]) for index in found.get_indexes(table)),
                )
                for table in found.get_table_names()
                if table != "alembic_version"
            }
    finally:
        engine.dispose()


def test_downgrade_undoes_the_newest_migration_to_the_previous_schema(empty_database_url: str, tmp_path: Path) -> None:
    head = head_revision()
    assert head is not None
    previous = ScriptDirectory.from_config(alembic_config(empty_database_url)).get_revision(head).down_revision
    assert isinstance(previous, str), "the newest migration must have exactly one parent"
    upgrade(empty_database_url, previous)
    schema_before = _schema(empty_database_url)
    upgrade(empty_database_url)
    assert _schema(empty_database_url) != schema_before  # the newest migration changes something to undo

    down = _outreach(empty_database_url, "downgrade")
    out, err = down.communicate(timeout=120)
    assert down.returncode == 0, err
    assert current_revision(empty_database_url) == previous
    assert f"(was {head})" in out
    assert _schema(empty_database_url) == schema_before
    upgrade(empty_database_url)
    assert current_revision(empty_database_url) == head


def test_downgrade_of_an_empty_database_says_so(empty_database_url: str) -> None:
    with pytest.raises(OutreachError, match="no schema to downgrade"):
        downgrade(empty_database_url)
