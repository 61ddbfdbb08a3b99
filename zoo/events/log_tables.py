"""The change log's tables: one row per change to the zoo's data, and the log's counter.

``changes`` keeps, for each create, update, delete and restore, who made it and
when, the values each field had before and after, and the row as that commit left
it (what a replayed event shows). ``change_log_state`` is one row: the last
position handed out and the last one pruned (see :mod:`zoo.events.change_log`).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi_users_db_sqlalchemy.generics import GUID
from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from zoo.core.entity import Base, UTCDateTime


class ChangeRecord(Base):
    """One committed change. ``position`` orders the log in commit order; ``row`` and
    ``fields`` are JSON (field names in the domain's spelling, dates as ISO 8601)."""

    __tablename__ = "changes"
    __table_args__ = (
        Index(None, "entity", "entity_id", "position"),
        Index(None, "at"),
    )

    position: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=False
    )
    """On SQLite the rowid itself (an ``INTEGER`` key): a new row's position is the newest
    one's successor, known from the insert without reading anything back."""
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    entity: Mapped[str] = mapped_column(String(32), nullable=False)
    entity_id: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(GUID)
    """The user who made the change; null for the CLI and the demo data. No foreign key:
    the log outlives the accounts it names."""
    exhibit_id: Mapped[int | None] = mapped_column(Integer)
    """The exhibit the row belongs to after the change."""
    previous_exhibit_id: Mapped[int | None] = mapped_column(Integer)
    """The exhibit it belonged to before, where a move changed it."""
    row: Mapped[str] = mapped_column(Text, nullable=False)
    fields: Mapped[str] = mapped_column(Text, nullable=False)


class ChangeLogState(Base):
    """The log's one counter row (id 1): on PostgreSQL, positions are handed out from it
    under its lock; on both, how far the log is pruned."""

    __tablename__ = "change_log_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_position: Mapped[int] = mapped_column(BigInteger, nullable=False)
    """The last position handed out (PostgreSQL; SQLite follows the newest change)."""
    pruned_through: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    """Every position up to this one has been pruned (or never existed)."""
