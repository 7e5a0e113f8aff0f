"""INSERT ... ON CONFLICT DO NOTHING for both dialects: concurrent crawlers never fail on a known key."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from outreach.store.models import Base


def insert_ignore(session: Session, model: type[Base], values: dict[str, Any], conflict: list[str]) -> None:
    dialect = session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(model).values(**values).on_conflict_do_nothing(index_elements=conflict)
    session.execute(statement)


def insert_ignore_many(session: Session, model: type[Base], rows: list[dict[str, Any]], conflict: list[str]) -> None:
    """One multi-row INSERT ... ON CONFLICT DO NOTHING (rows with the same key: the first wins)."""
    unique = list({tuple(row[name] for name in conflict): row for row in reversed(rows)}.values())[::-1]
    dialect = session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    for start in range(0, len(unique), 500):  # SQLite's limit on bound parameters
        statement = (
            module.insert(model).values(unique[start : start + 500]).on_conflict_do_nothing(index_elements=conflict)
        )
        session.execute(statement)
