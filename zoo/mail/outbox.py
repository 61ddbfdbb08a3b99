"""The outbox: each mail a row, written in the same transaction as the change it tells of.

A mail sent from inside a request is lost when the mail server is down, and sent
for nothing when the transaction then rolls back; one sent after the commit is
lost when the process dies in between. A row committed with the change is
neither: the sender (``zoo.mail.sender``) finds it, whichever process is alive.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Index, Integer, String, Text, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from zoo.core.entity import Base, UTCDateTime, utcnow
from zoo.storage.database import at_commit

PENDING = "sent_at IS NULL AND failed_at IS NULL"


@dataclass(frozen=True)
class Mail:
    """A rendered mail: what the recipient reads, and the one link it carries (if any)."""

    kind: str
    recipient: str
    subject: str
    text_body: str
    html_body: str
    link: str | None = None


class OutboxMail(Base):
    """A mail to send: due from ``next_attempt_at``, held by one sender until
    ``claimed_until``, then sent (``sent_at``) or given up on (``failed_at``). Its bodies
    and link are emptied once sent, so that no used token stays in the table."""

    __tablename__ = "mail_outbox"
    __table_args__ = (
        Index(
            "ix_mail_outbox_due",
            "next_attempt_at",
            sqlite_where=text(PENDING),
            postgresql_where=text(PENDING),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(200))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)


def queue(session: AsyncSession, mail: Mail, wake: Callable[[], None]) -> None:
    """Add ``mail`` to the outbox in ``session``'s transaction; ``wake`` (the sender)
    is called once it commits, so that the mail leaves at once rather than at the next
    poll. Nothing is sent if the transaction rolls back."""
    session.add(
        OutboxMail(
            kind=mail.kind,
            recipient=mail.recipient,
            subject=mail.subject,
            text_body=mail.text_body,
            html_body=mail.html_body,
            link=mail.link,
        )
    )
    at_commit(session, None, wake)
