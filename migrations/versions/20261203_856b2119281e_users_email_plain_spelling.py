"""users: every email in its plain spelling (NFKC)

Revision ID: 856b2119281e
Revises: 35448ba5e905
Create Date: 2026-12-03 22:00:00

Sign-up folded only canonical forms (NFC), so a fullwidth or otherwise
compatibility spelling of an address (U+FF21 for A, ligatures, halfwidth kana)
was an account of its own, a look-alike of the plain one. Addresses are now
stored, and looked up, in their NFKC form (zoo.auth.schemas.plain_spelling).
Each stored email is rewritten to it; one whose plain spelling another account
already has (ignoring case) is a look-alike: it is deactivated and its email
made unique (duplicate-<id>.<local part>), listed in the migration's log for an
administrator, as migration 982ca1522e7d does. The old spellings cannot be
told back: downgrading changes nothing.
"""

import logging
import unicodedata
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fastapi_users_db_sqlalchemy.generics

revision: str = "856b2119281e"
down_revision: str | None = "35448ba5e905"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

logger = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    connection = op.get_bind()
    users = sa.table(
        "users",
        sa.column("id", fastapi_users_db_sqlalchemy.generics.GUID()),
        sa.column("email", sa.String),
        sa.column("is_active", sa.Boolean),
    )
    rows: list[tuple[uuid.UUID, str]] = [
        (id_, email) for id_, email in connection.execute(sa.select(users.c.id, users.c.email))
    ]
    taken = {email.lower() for _, email in rows if unicodedata.normalize("NFKC", email) == email}
    for id_, email in rows:
        plain = unicodedata.normalize("NFKC", email)
        if plain == email:
            continue
        if plain.lower() not in taken and plain.count("@") == 1:
            taken.add(plain.lower())
            connection.execute(users.update().where(users.c.id == id_).values(email=plain))
            continue
        local, _, domain = email.rpartition("@")
        unique = f"duplicate-{id_.hex[:12]}.{local}@{domain}"
        connection.execute(
            users.update().where(users.c.id == id_).values(email=unique, is_active=False)
        )
        logger.warning(
            "users: %s (%s) cannot take its plain spelling %s (another account has it, "
            "or it is no address); renamed %s and deactivated",
            id_,
            email,
            plain,
            unique,
        )


def downgrade() -> None:
    pass
