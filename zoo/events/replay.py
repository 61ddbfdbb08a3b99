"""Resuming a subscription: the changes after a cursor, read from the log, then live ones.

The subscriber is registered with the broker *before* the log is read, and the read
covers every position up to the log's last one at that moment (``through``). So a
change committed after that moment arrives live, and one committed before it is in
the read: the live stream only skips positions at or before ``through``, and nothing
falls between the two or comes twice (positions follow commit order, see
:mod:`zoo.events.change_log`; notifications arrive in commit order).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.engine import Connection

from zoo.core.errors import EventsMissed, InvalidInput
from zoo.events.change_log import (
    CHANGES,
    LoggedChange,
    encode_position,
    logged_select,
    read_changes,
    read_state,
    touching,
)
from zoo.storage.database import Database

BATCH = 500
"""Changes read from the log per statement while replaying."""


@dataclass(frozen=True, slots=True)
class Replay:
    """What one resuming subscription reads: ``entity``'s changes (touching ``exhibit_id``,
    if given) after ``after``, up to ``limit`` of them."""

    entity: str
    exhibit_id: int | None
    after: int
    limit: int

    def clauses(self) -> list[ColumnElement[bool]]:
        clauses = [CHANGES.c.entity == self.entity]
        if self.exhibit_id is not None:
            clauses.append(touching(self.exhibit_id))
        return clauses

    async def through(self, database: Database, retention: str) -> int:
        """The last position the replay covers; refuses a cursor the log no longer (or
        never) reaches, and a replay longer than ``limit``. ``retention``: how the
        error names the log's retention setting."""

        def check(connection: Connection) -> tuple[int, int, int]:
            state = read_state(connection)
            pending = select(CHANGES.c.position).where(
                *self.clauses(),
                CHANGES.c.position > self.after,
                CHANGES.c.position <= state.last_position,
            )
            counted = select(func.count()).select_from(pending.limit(self.limit + 1).subquery())
            return state.last_position, state.pruned_through, int(connection.scalar(counted) or 0)

        last, pruned, pending = await database.fetch(check)
        cursor = encode_position(self.after)
        if self.after < pruned:
            raise EventsMissed(
                f"The cursor is older than the change log keeps ({retention}): changes "
                "after it are gone; read afresh, then subscribe without `after`",
                last_cursor=cursor,
            )
        if self.after > last:
            raise InvalidInput.for_field("after", "names a change this server has not made")
        if pending > self.limit:
            raise EventsMissed(
                f"More than {self.limit} changes were made after the cursor; read afresh, "
                "then subscribe without `after`",
                last_cursor=cursor,
            )
        return last

    async def changes(self, database: Database, through: int) -> AsyncIterator[LoggedChange]:
        """The matching changes after ``after`` up to ``through``, in order, a batch at a
        time (so a long replay holds one batch in memory)."""
        last = self.after
        while True:
            statement = (
                logged_select()
                .where(*self.clauses(), CHANGES.c.position > last, CHANGES.c.position <= through)
                .order_by(CHANGES.c.position)
                .limit(BATCH)
            )
            batch = await database.fetch(partial(read_changes, statement=statement))
            for change in batch:
                yield change
            if len(batch) < BATCH:
                return
            last = batch[-1].position


async def logged_change(database: Database, position: int) -> LoggedChange | None:
    """One change, by position (what a live event shows of its row)."""
    statement = logged_select().where(CHANGES.c.position == position)
    found = await database.fetch(lambda connection: read_changes(connection, statement))
    return found[0] if found else None
