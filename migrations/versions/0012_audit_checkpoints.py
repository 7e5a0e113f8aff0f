"""audit_checkpoints: the result of each full verification of the audit chain, so the dashboard's /audit page
verifies only the events after the last intact one

Revision ID: 0012_audit_checkpoints
Revises: 0011_advert_url_encrypted
Create Date: 2026-11-30 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_audit_checkpoints"
down_revision: str | None = "0011_advert_url_encrypted"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("problems", sa.Integer(), nullable=False),
        sa.Column("first_problem", sa.Integer(), nullable=True),
        sa.Column("event_seq", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
    )
    op.create_index(op.f("ix_audit_checkpoints_verified_at"), "audit_checkpoints", ["verified_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_audit_checkpoints_verified_at"), table_name="audit_checkpoints")
    op.drop_table("audit_checkpoints")
