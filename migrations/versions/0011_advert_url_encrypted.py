"""adverts: the address stored encrypted (url_encrypted) and found by a keyed hash (url_key), like a number: the
site's page behind an address shows the number, so a copy of the database without the keys must not lead to it

The stored addresses are encrypted here, so this step needs the keys (`outreach db upgrade` passes them). Without
them it refuses before it changes anything, with one line saying what to set. On SQLite the columns are added and
the plaintext one dropped in place (ALTER TABLE ... ADD/DROP COLUMN): rebuilding the table would fire the
ON DELETE CASCADE of advert_persons when the old table is dropped. SQLite cannot make an added column NOT NULL
without a default, so there the new columns carry DEFAULT ''; the code always sets them.

Revision ID: 0011_advert_url_encrypted
Revises: 0010_advert_reason_key
Create Date: 2026-12-02 10:00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import context, op

from outreach.errors import ConfigError

revision: str = "0011_advert_url_encrypted"
down_revision: str | None = "0010_advert_reason_key"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 500
ADVERTS = sa.table(
    "adverts",
    sa.column("id", sa.Integer),
    sa.column("url", sa.Text),
    sa.column("url_encrypted", sa.Text),
    sa.column("url_key", sa.String(64)),
)


def _vault(direction: str) -> Any:
    """The PhoneVault the caller passed (outreach.store.db.upgrade), or a clear refusal when adverts need it."""
    vault = context.config.attributes.get("vault")
    stored = op.get_bind().execute(sa.text("SELECT COUNT(*) FROM adverts")).scalar_one()
    if stored and vault is None:
        raise ConfigError(
            f"migration 0011 {direction} the {stored} stored advert addresses and needs the keys: set hmac_key and "
            "fernet_key (OUTREACH_HMAC_KEY_FILE, OUTREACH_FERNET_KEY_FILE) and run it again; nothing was changed"
        )
    return vault


def _add_text(name: str, length: int | None = None) -> None:
    kind: sa.types.TypeEngine[str] = sa.String(length) if length else sa.Text()
    if op.get_bind().dialect.name == "sqlite":
        op.add_column("adverts", sa.Column(name, kind, nullable=False, server_default=""))
    else:
        op.add_column("adverts", sa.Column(name, kind, nullable=True))


def _not_null(name: str) -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("adverts", name, nullable=False)


def _rows(after: int, column: str) -> list[tuple[int, str]]:
    found = op.get_bind().execute(
        sa.select(ADVERTS.c.id, ADVERTS.c[column]).where(ADVERTS.c.id > after).order_by(ADVERTS.c.id).limit(BATCH)
    )
    return [(int(row[0]), str(row[1])) for row in found]


def upgrade() -> None:
    vault = _vault("encrypts")
    _add_text("url_encrypted")
    _add_text("url_key", 64)
    last = 0
    while rows := _rows(last, "url"):
        op.get_bind().execute(
            ADVERTS.update().where(ADVERTS.c.id == sa.bindparam("row_id")),
            [{"row_id": id_, "url_encrypted": vault.encrypt(url), "url_key": vault.url_key(url)} for id_, url in rows],
        )
        last = rows[-1][0]
    _not_null("url_encrypted")
    _not_null("url_key")
    op.drop_column("adverts", "url")
    op.create_index("ix_adverts_site_url_key", "adverts", ["site_id", "url_key"])


def downgrade() -> None:
    vault = _vault("decrypts")
    _add_text("url")
    last = 0
    while rows := _rows(last, "url_encrypted"):
        op.get_bind().execute(
            ADVERTS.update().where(ADVERTS.c.id == sa.bindparam("row_id")),
            [{"row_id": id_, "url": vault.decrypt(token)} for id_, token in rows],
        )
        last = rows[-1][0]
    _not_null("url")
    op.drop_index("ix_adverts_site_url_key", table_name="adverts")
    op.drop_column("adverts", "url_key")
    op.drop_column("adverts", "url_encrypted")
