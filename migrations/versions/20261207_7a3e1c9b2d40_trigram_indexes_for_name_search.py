"""names: trigram indexes for searches that ignore case (PostgreSQL)

Revision ID: 7a3e1c9b2d40
Revises: 50c1468f7d30
Create Date: 2026-12-07 22:00:00

``includesInsensitive`` and ``nameContains`` compare ``lower(name) LIKE '%...%'``,
which no B-tree can answer: on a large table it read every row. A GIN index of
``lower(name)``'s trigrams (``pg_trgm``) answers it for a search of three characters
or more. SQLite has no such index and scans, as the README says.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "7a3e1c9b2d40"
down_revision: str | None = "50c1468f7d30"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("animals", "exhibits", "staff")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for table in TABLES:
        op.execute(
            f"CREATE INDEX ix_{table}_name_trgm ON {table} USING gin (lower(name) gin_trgm_ops)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP INDEX ix_{table}_name_trgm")
    # The extension stays: other databases' objects may have come to use it.
