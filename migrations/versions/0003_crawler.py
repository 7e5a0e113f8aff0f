"""crawler: incremental recrawl (listing hash, detail fetch time, gone adverts) and full listing walks per site;
an advert's language as a fieldworker set it

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 18:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("adverts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("listing_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("detail_fetched_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("gone_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("language_override", sa.String(length=8), nullable=True))
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_full_walk_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.drop_column("last_full_walk_at")
    with op.batch_alter_table("adverts", schema=None) as batch_op:
        batch_op.drop_column("language_override")
        batch_op.drop_column("gone_at")
        batch_op.drop_column("detail_fetched_at")
        batch_op.drop_column("listing_hash")
