"""mail outbox and invitations

Revision ID: 50c1468f7d30
Revises: 838361e62b83
Create Date: 2026-12-07 17:26:02

``mail_outbox`` holds each mail from the transaction that causes it until it is
sent (ADR 0008); its partial index keeps the sender's look for due mails to the
pending ones. ``invitations`` holds an ADMIN's invitations, each token as a digest.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fastapi_users_db_sqlalchemy.generics
import zoo.core.entity

revision: str = "50c1468f7d30"
down_revision: str | None = "838361e62b83"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mail_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=False),
        sa.Column("html_body", sa.Text(), nullable=False),
        sa.Column("link", sa.Text(), nullable=True),
        sa.Column("created_at", zoo.core.entity.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", zoo.core.entity.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", zoo.core.entity.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", zoo.core.entity.UTCDateTime(timezone=True), nullable=True),
        sa.Column("failed_at", zoo.core.entity.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_outbox")),
    )
    with op.batch_alter_table("mail_outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_mail_outbox_due",
            ["next_attempt_at"],
            unique=False,
            sqlite_where=sa.text("sent_at IS NULL AND failed_at IS NULL"),
            postgresql_where=sa.text("sent_at IS NULL AND failed_at IS NULL"),
        )

    op.create_table(
        "invitations",
        sa.Column("id", fastapi_users_db_sqlalchemy.generics.GUID(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("staff_member_id", sa.Integer(), nullable=True),
        sa.Column("token", sa.String(length=43), nullable=False),
        sa.Column("invited_by", fastapi_users_db_sqlalchemy.generics.GUID(), nullable=True),
        sa.Column("created_at", zoo.core.entity.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", zoo.core.entity.UTCDateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", zoo.core.entity.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", zoo.core.entity.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["invited_by"],
            ["users.id"],
            name=op.f("fk_invitations_invited_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["staff_member_id"],
            ["staff.id"],
            name=op.f("fk_invitations_staff_member_id_staff"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitations")),
        sa.UniqueConstraint("token", name=op.f("uq_invitations_token")),
    )
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invitations_email"), ["email"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invitations_email"))

    op.drop_table("invitations")
    with op.batch_alter_table("mail_outbox", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_mail_outbox_due",
            sqlite_where=sa.text("sent_at IS NULL AND failed_at IS NULL"),
            postgresql_where=sa.text("sent_at IS NULL AND failed_at IS NULL"),
        )

    op.drop_table("mail_outbox")
