"""Reading the change log for people: each row's history, and the audit list.

Both list newest first. A history is read for a whole page of rows at once (one
statement, numbering each row's changes with a window function), so that a list
of animals with their histories costs one read, not one per animal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.engine import Connection

from zoo.events.change_log import CHANGES, LoggedChange, logged_select, read_changes
from zoo.history.schemas import ChangeWhere
from zoo.storage.database import Database


@dataclass(frozen=True, slots=True)
class HistoryKey:
    """One row's history page: ``first`` changes (and one more, to tell whether more
    follow) older than position ``before`` (None: from the newest)."""

    entity: str
    entity_id: int
    first: int
    before: int | None


async def histories(database: Database, keys: Sequence[HistoryKey]) -> list[list[LoggedChange]]:
    """The pages of ``keys``, in their order: one statement per (entity, first, before)."""
    found: dict[HistoryKey, list[LoggedChange]] = {}

    def read(connection: Connection) -> None:
        def shape(key: HistoryKey) -> tuple[str, int, int]:
            return key.entity, key.first, -1 if key.before is None else key.before

        for (entity, first, before), group in groupby(sorted(set(keys), key=shape), key=shape):
            ids = [key.entity_id for key in group]
            clauses = [CHANGES.c.entity == entity, CHANGES.c.entity_id.in_(ids)]
            if before >= 0:
                clauses.append(CHANGES.c.position < before)
            rank = (
                func.row_number()
                .over(partition_by=CHANGES.c.entity_id, order_by=CHANGES.c.position.desc())
                .label("rank")
            )
            ranked = logged_select().add_columns(rank).where(*clauses).subquery()
            statement = (
                select(*(ranked.c[str(column.key)] for column in logged_select().selected_columns))
                .where(ranked.c.rank <= first + 1)
                .order_by(ranked.c.entity_id, ranked.c.position.desc())
            )
            for change in read_changes(connection, statement):
                key = HistoryKey(entity, change.entity_id, first, None if before < 0 else before)
                found.setdefault(key, []).append(change)

    await database.fetch(read)
    return [found.get(key, []) for key in keys]


def audit_clauses(where: ChangeWhere | None) -> list[ColumnElement[bool]]:
    if where is None:
        return []
    clauses = []
    if where.entity is not None:
        clauses.append(CHANGES.c.entity == where.entity.value)
    if where.kind is not None:
        clauses.append(CHANGES.c.kind == where.kind.value)
    if where.actor_id is not None:
        clauses.append(CHANGES.c.actor_id == where.actor_id)
    if where.after is not None:
        clauses.append(CHANGES.c.at > where.after)
    if where.before is not None:
        clauses.append(CHANGES.c.at < where.before)
    return clauses


async def audit_page(
    database: Database, where: ChangeWhere | None, first: int, before: int | None
) -> list[LoggedChange]:
    """``first`` changes (and one more) that ``where`` selects, newest first, older than
    position ``before`` (None: from the newest)."""
    clauses = audit_clauses(where)
    if before is not None:
        clauses.append(CHANGES.c.position < before)
    statement = logged_select().where(*clauses).order_by(CHANGES.c.position.desc()).limit(first + 1)
    return await database.fetch(lambda connection: read_changes(connection, statement))


async def newer_exists(
    database: Database, clauses: list[ColumnElement[bool]], position: int
) -> bool:
    """Whether a change that ``clauses`` select is at or after ``position`` (a page's
    ``hasPreviousPage``, asked only when selected)."""
    statement = select(exists().where(*clauses, CHANGES.c.position >= position))
    return bool(await database.fetch(lambda connection: connection.scalar(statement)))
