"""users: a role each, and the staff member a user works as

Revision ID: 838361e62b83
Revises: 856b2119281e
Create Date: 2026-12-07 15:03:23

Roles replace "any logged-in user may create and update" (contract v2). Existing
superusers become ADMIN; every other existing user keeps what version 1 let them
do, CURATOR (the README's upgrade note shows how to list and demote them). New
accounts default to VISITOR. ``staff_member_id`` links a user to at most one staff
member, and one staff member to at most one user (a unique index).

The columns are added in place, not by rebuilding the table, so the case-blind
unique index on the email (an expression SQLite's batch mode would drop) stays.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "838361e62b83"
down_revision: str | None = "856b2119281e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLES = ("VISITOR", "KEEPER", "CURATOR", "ADMIN")


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column("role", sa.String(length=16), server_default="VISITOR", nullable=False),
    )
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a reference in place only as part of its column.
        op.execute(
            "ALTER TABLE users ADD COLUMN staff_member_id INTEGER"
            " CONSTRAINT fk_users_staff_member_id_staff"
            " REFERENCES staff (id) ON DELETE SET NULL"
        )
    else:
        op.add_column("users", sa.Column("staff_member_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f("fk_users_staff_member_id_staff"),
            "users",
            "staff",
            ["staff_member_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_index(
        op.f("ix_users_staff_member_id"), "users", ["staff_member_id"], unique=True
    )
    users = sa.table("users", sa.column("role", sa.String), sa.column("is_superuser", sa.Boolean))
    op.execute(
        users.update().values(
            role=sa.case((users.c.is_superuser == sa.true(), "ADMIN"), else_="CURATOR")
        )
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_users_staff_member_id"), table_name="users")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f("fk_users_staff_member_id_staff"), "users", type_="foreignkey")
    # SQLite (3.35+) drops a column in place unless an index or a constraint names it.
    op.drop_column("users", "staff_member_id")
    op.drop_column("users", "role")
