"""access_tokens: keep each session token's digest, not the token

Revision ID: 35448ba5e905
Revises: 982ca1522e7d
Create Date: 2026-12-03 21:40:00

A copy of the table held every live session. Each stored token is replaced by
its SHA-256 digest (base64url, unpadded: 43 characters, the column's width),
which is what the server now looks up (zoo.auth.tokens), so sessions made
before the upgrade go on working. The digest cannot be undone: downgrading
ends every session (users log in again).
"""

import base64
import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "35448ba5e905"
down_revision: str | None = "982ca1522e7d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000


def digest(token: str) -> str:
    """As zoo.auth.tokens.stored_form, copied: a migration must not change with the code."""
    hashed = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
    return base64.urlsafe_b64encode(hashed).rstrip(b"=").decode("ascii")


def upgrade() -> None:
    connection = op.get_bind()
    tokens = sa.table("access_tokens", sa.column("token", sa.String))
    stored = list(connection.execute(sa.select(tokens.c.token)).scalars())
    rewrite = tokens.update().where(tokens.c.token == sa.bindparam("old"))
    rewrite = rewrite.values(token=sa.bindparam("new"))
    for start in range(0, len(stored), BATCH):
        batch = stored[start : start + BATCH]
        connection.execute(rewrite, [{"old": t, "new": digest(t)} for t in batch])


def downgrade() -> None:
    op.execute("DELETE FROM access_tokens")
