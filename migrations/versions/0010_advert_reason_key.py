"""advert_reasons: one row per advert and person (and one per advert without a person), so two processes storing
their decisions at once cannot leave an advert with two reasons

Revision ID: 0010_advert_reason_key
Revises: 0009_cases
Create Date: 2026-11-30 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_advert_reason_key"
down_revision: str | None = "0009_cases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NO_PERSON = sa.text("person_id IS NULL")


def upgrade() -> None:
    # Duplicates a race may have left: keep the newest reason of each advert and person (NULLs group together).
    op.execute(
        "DELETE FROM advert_reasons WHERE id NOT IN "
        "(SELECT newest FROM (SELECT MAX(id) AS newest FROM advert_reasons GROUP BY advert_id, person_id) AS kept)"
    )
    op.create_index("ux_advert_reasons_advert_person", "advert_reasons", ["advert_id", "person_id"], unique=True)
    # A unique index treats NULLs as distinct: the row of an advert without a person needs its own.
    op.create_index(
        "ux_advert_reasons_advert_no_person",
        "advert_reasons",
        ["advert_id"],
        unique=True,
        sqlite_where=NO_PERSON,
        postgresql_where=NO_PERSON,
    )


def downgrade() -> None:
    op.drop_index("ux_advert_reasons_advert_no_person", table_name="advert_reasons")
    op.drop_index("ux_advert_reasons_advert_person", table_name="advert_reasons")
