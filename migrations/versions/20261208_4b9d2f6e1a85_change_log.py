"""change log

Revision ID: 4b9d2f6e1a85
Revises: 7a3e1c9b2d40
Create Date: 2026-12-08 00:23:00

``changes`` keeps every change to exhibits, animals and staff: its author, each
field's values before and after, and the row as the commit left it; its position
comes from ``change_log_state``'s one counter row, taken under that row's lock so
that positions follow commit order (``zoo.events.change_log``). The log starts
empty: changes made before this migration have no history.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fastapi_users_db_sqlalchemy.generics
import zoo.core.entity

revision: str = "4b9d2f6e1a85"
down_revision: str | None = "7a3e1c9b2d40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "change_log_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_position", sa.BigInteger(), nullable=False),
        sa.Column("pruned_through", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_log_state")),
    )
    op.create_table(
        "changes",
        sa.Column(
            "position",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("at", zoo.core.entity.UTCDateTime(timezone=True), nullable=False),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", fastapi_users_db_sqlalchemy.generics.GUID(), nullable=True),
        sa.Column("exhibit_id", sa.Integer(), nullable=True),
        sa.Column("previous_exhibit_id", sa.Integer(), nullable=True),
        sa.Column("row", sa.Text(), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_changes")),
    )
    with op.batch_alter_table("changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_changes_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_changes_entity_entity_id_position"),
            ["entity", "entity_id", "position"],
            unique=False,
        )



def downgrade() -> None:
    with op.batch_alter_table("changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_changes_entity_entity_id_position"))
        batch_op.drop_index(batch_op.f("ix_changes_at"))

    op.drop_table("changes")
    op.drop_table("change_log_state")
