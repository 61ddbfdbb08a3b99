"""users: one account per email, whatever its letter case

Revision ID: 982ca1522e7d
Revises: 7298ba52df32
Create Date: 2026-11-30 12:40:00

The unique index on users.email compared case-sensitively while every lookup
ignores case, so concurrent sign-ups of one address in different cases made
several accounts (on PostgreSQL), after which every login for it failed.
Accounts that already share an email this way keep the one that is active
and spelled in lower case (else any one); the others are deactivated and
their email is made unique (duplicate-<id>.<local part>), and each is
listed in the migration's log, for an administrator to merge or delete.
"""

import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fastapi_users_db_sqlalchemy.generics

revision: str = "982ca1522e7d"
down_revision: str | None = "7298ba52df32"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "uq_users_email_lower"
logger = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    connection = op.get_bind()
    users = sa.table(
        "users",
        sa.column("id", fastapi_users_db_sqlalchemy.generics.GUID()),
        sa.column("email", sa.String),
        sa.column("is_active", sa.Boolean),
    )
    groups: dict[str, list[tuple[uuid.UUID, str, bool]]] = defaultdict(list)
    rows = connection.execute(sa.select(users.c.id, users.c.email, users.c.is_active))
    for id_, email, active in rows:
        groups[email.lower()].append((id_, email, bool(active)))
    for lowered, accounts in groups.items():
        if len(accounts) < 2:
            continue
        accounts.sort(key=lambda a: (not a[2], a[1] != lowered, str(a[0])))
        kept, *others = accounts
        for id_, email, _ in others:
            local, _, domain = email.partition("@")
            unique = f"duplicate-{id_.hex[:12]}.{local}@{domain}"
            connection.execute(
                users.update()
                .where(users.c.id == id_)
                .values(email=unique, is_active=False)
            )
            logger.warning(
                "users: %s duplicates %s (kept: %s); renamed %s and deactivated",
                id_,
                email,
                kept[0],
                unique,
            )
    if connection.dialect.name == "postgresql":
        op.execute(f"CREATE UNIQUE INDEX {INDEX} ON users (lower(email))")
    else:
        # SQLite's lower() is replaced per connection by a Unicode-aware one (zoo.storage.database);
        # an index must not depend on a function that can change, so it uses NOCASE.
        op.execute(f"CREATE UNIQUE INDEX {INDEX} ON users (email COLLATE NOCASE)")


def downgrade() -> None:
    op.execute(f"DROP INDEX {INDEX}")
