"""Rows as the database driver gives them: plain tuples, for reports that read tens of thousands of rows and count
them. SQLAlchemy's Row objects cost about a microsecond each to build (measured: 100,000 rows of five columns, 0.4 s
as Rows, 0.2 s as the driver's tuples on both databases), a third of the dashboard overview's reading.

Only for columns whose types convert nothing on the way out (integers, strings, and `epoch_micros` times): the
driver's value is the value. A UTCDateTime column would come back naive on SQLite."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Connection, Executable


def plain_rows(connection: Connection, query: Executable) -> list[tuple[Any, ...]]:
    result = connection.execute(query)
    try:
        return cast(list[tuple[Any, ...]], result.cursor.fetchall())
    finally:
        result.close()
