"""targeting: why each advert was or was not messaged, the review queue of held adverts, the reminder decision,
why an advert's numbers were left out by the crawl, and the organisation of a message (several organisations)

Revision ID: 0005_targeting
Revises: 0004_users
Create Date: 2026-11-28 07:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_targeting"
down_revision: str | None = "0004_users"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "advert_reasons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("advert_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=30), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["advert_id"], ["adverts.id"], name=op.f("fk_advert_reasons_advert_id_adverts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_advert_reasons_person_id_persons"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_advert_reasons")),
    )
    with op.batch_alter_table("advert_reasons", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_advert_reasons_advert_id"), ["advert_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_advert_reasons_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_advert_reasons_reason"), ["reason"], unique=False)
    op.create_table(
        "held_adverts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("advert_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=200), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=80), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')", name=op.f("ck_held_adverts_status")),
        sa.ForeignKeyConstraint(
            ["advert_id"], ["adverts.id"], name=op.f("fk_held_adverts_advert_id_adverts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_held_adverts")),
        sa.UniqueConstraint("advert_id", name=op.f("uq_held_adverts_advert_id")),
    )
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("adverts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("numbers_left_out", sa.String(length=20), nullable=True))
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("organisation", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("organisation")
    with op.batch_alter_table("adverts", schema=None) as batch_op:
        batch_op.drop_column("numbers_left_out")
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.drop_column("reminded_at")
    op.drop_table("held_adverts")
    with op.batch_alter_table("advert_reasons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_advert_reasons_reason"))
        batch_op.drop_index(batch_op.f("ix_advert_reasons_person_id"))
        batch_op.drop_index(batch_op.f("ix_advert_reasons_advert_id"))
    op.drop_table("advert_reasons")
