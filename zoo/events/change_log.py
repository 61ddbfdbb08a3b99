"""The change log: every change to the zoo's data, appended by the commit that makes it.

Positions are dense and strictly increasing in commit order, on both databases.
Each is taken from the one counter row (``change_log_state``) by the transaction's
last statement, and the row's lock is held until the commit: a second writer's
statement waits for the first's commit, so it can neither take a smaller position
nor commit first (the announce-under-lock scheme; a plain sequence is not enough,
as two transactions can commit out of sequence order). A rolled-back transaction
rolls its position back too: the log has no holes, which the tests check.

On PostgreSQL, counter, row and notification are one statement (a data-modifying
``WITH``): the log costs a write no round trip. SQLite has one writer at a time: its
next position is the last one's successor, in one statement.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi_users_db_sqlalchemy.generics import GUID
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    String,
    Table,
    Text,
    TextClause,
    bindparam,
    delete,
    func,
    or_,
    select,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine

from zoo.core.entity import UTCDateTime
from zoo.core.errors import InvalidInput
from zoo.core.records import records_of
from zoo.events.log_tables import ChangeLogState, ChangeRecord

CHANGES: Table = ChangeRecord.__table__  # type: ignore[assignment]
STATE: Table = ChangeLogState.__table__  # type: ignore[assignment]

_CURSOR_PREFIX = "change:"


def encode_position(position: int) -> str:
    """The opaque cursor of a change: what events, history and ``after`` arguments carry."""
    raw = f"{_CURSOR_PREFIX}{position}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_position(cursor: str, argument: str = "after") -> int:
    """The position a cursor names; ``BAD_USER_INPUT`` for anything else."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode("ascii")).decode()
        if not text.startswith(_CURSOR_PREFIX):
            raise ValueError(text)
        position = int(text.removeprefix(_CURSOR_PREFIX))
        if position < 0 or len(cursor) > 40:
            raise ValueError(text)
    except (ValueError, UnicodeError, binascii.Error):
        raise InvalidInput.for_field(argument, "is not a change cursor") from None
    return position


def _encode(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"cannot log a {type(value).__name__}")


def to_json(value: object) -> str:
    return json.dumps(value, default=_encode, separators=(",", ":"), ensure_ascii=False)


FieldChanges = list[tuple[str, Any, Any]]
"""Each field a change touched: (name, value before, value after)."""


@dataclass(slots=True)
class Entry:
    """What one change appends: made by the service, written at its commit."""

    entity: str
    kind: str
    entity_id: int
    at: datetime
    actor_id: uuid.UUID | None
    exhibit_id: int | None
    previous_exhibit_id: int | None
    row: dict[str, Any]
    fields: FieldChanges
    position: int | None = field(default=None)
    """Set as the commit writes the row."""

    def parameters(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "entity": self.entity,
            "entity_id": self.entity_id,
            "kind": self.kind,
            "actor_id": self.actor_id,
            "exhibit_id": self.exhibit_id,
            "previous_exhibit_id": self.previous_exhibit_id,
            "row": to_json(self.row),
            "fields": to_json(self.fields),
        }


_BINDS: dict[str, TypeEngine[Any]] = {
    "at": UTCDateTime(),
    "entity": String(),
    "entity_id": Integer(),
    "kind": String(),
    "actor_id": GUID(),
    "exhibit_id": Integer(),
    "previous_exhibit_id": Integer(),
    "row": Text(),
    "fields": Text(),
}

_LOGGED = """
WITH counted AS (
  INSERT INTO change_log_state (id, last_position, pruned_through) VALUES (1, 1, 0)
  ON CONFLICT (id) DO UPDATE SET last_position = change_log_state.last_position + 1
  RETURNING last_position
), logged AS (
  INSERT INTO changes (position, at, entity, entity_id, kind, actor_id, exhibit_id,
                       previous_exhibit_id, "row", fields)
  SELECT last_position, :at, :entity, :entity_id, :kind, :actor_id, :exhibit_id,
         :previous_exhibit_id, :row, :fields FROM counted
  RETURNING position
)
"""


def _typed(sql: str, **extra: TypeEngine[Any]) -> TextClause:
    binds = {**_BINDS, **extra}
    return text(sql).bindparams(*(bindparam(name, type_=type_) for name, type_ in binds.items()))


_POSTGRES_APPEND = {
    False: _typed(_LOGGED + "SELECT position FROM logged"),  # noqa: S608 (constants)
    True: _typed(
        _LOGGED + "SELECT position, pg_notify(:channel, concat(:head, position, ']')) FROM logged",  # noqa: S608
        channel=Text(),
        head=Text(),
    ),
}
"""PostgreSQL's, one statement: the next position from the counter row (made on first
use, moved on by one, locked to the commit), the row, and (with a channel) its
notification, whose payload is the change's announcement with the position appended.
Written as text: SQLAlchemy compiled its own upsert again on every call (no cache key),
which cost a write a millisecond."""


_SQLITE_APPEND = _typed("""
INSERT INTO changes (at, entity, entity_id, kind, actor_id, exhibit_id, previous_exhibit_id,
                     "row", fields)
VALUES (:at, :entity, :entity_id, :kind, :actor_id, :exhibit_id, :previous_exhibit_id,
        :row, :fields)
""")
"""SQLite's: one writer at a time, and the position is the rowid, which SQLite makes the
newest one's successor (pruning always keeps the newest change, so none is handed out
twice) and the driver reports without reading anything back: each statement, and each
row read, costs a hop to SQLite's thread and back."""


def append(session: Session, entry: Entry, head: str, channel: str | None) -> int:
    """Write ``entry`` as the transaction's last statement, and return its position.
    ``head``: the announcement's JSON up to the position (see ``Change.payload_head``)."""
    parameters = entry.parameters()
    if session.get_bind().dialect.name == "postgresql":
        statement = _POSTGRES_APPEND[channel is not None]
        result = session.execute(statement, {**parameters, "head": head, "channel": channel})
        position = int(result.scalar_one())
    else:
        result = session.execute(_SQLITE_APPEND, parameters)
        position = int(result.lastrowid)  # type: ignore[attr-defined]
    entry.position = position
    return position


# Reading -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoggedChange:
    """A change as read back from the log."""

    position: int
    at: datetime
    entity: str
    entity_id: int
    kind: str
    actor_id: uuid.UUID | None
    exhibit_id: int | None
    previous_exhibit_id: int | None
    row_json: str
    fields_json: str

    @property
    def cursor(self) -> str:
        return encode_position(self.position)

    @property
    def fields(self) -> FieldChanges:
        return [(str(name), before, after) for name, before, after in json.loads(self.fields_json)]

    def row(self, model: type[Any]) -> Any:
        """The row as this change's commit left it, as a record of ``model``."""
        return snapshot_record(model, self.row_json)


_READ = select(*(CHANGES.c[name] for name in ("position", *_BINDS)))


def read_changes(connection: Connection, statement: Select[Any]) -> list[LoggedChange]:
    return [LoggedChange(*row) for row in connection.execute(statement).all()]


def logged_select() -> Select[Any]:
    """``SELECT`` every column of the log, in :class:`LoggedChange`'s order."""
    return _READ


def snapshot_record(model: type[Any], row_json: str) -> Any:
    """A record of ``model`` from a logged row (dates parsed back)."""
    values = json.loads(row_json)
    shape = records_of(model)
    converted = []
    for column in shape.columns:
        value = values.get(column.key)
        if value is not None and isinstance(column.type, UTCDateTime):
            value = datetime.fromisoformat(value)
        converted.append(value)
    return shape.make(converted)


def touching(exhibit_id: int) -> ColumnElement[bool]:
    """Changes to rows that were, or became, in ``exhibit_id``."""
    return or_(CHANGES.c.exhibit_id == exhibit_id, CHANGES.c.previous_exhibit_id == exhibit_id)


@dataclass(frozen=True, slots=True)
class LogState:
    last_position: int
    pruned_through: int


_STATE = select(
    select(func.max(CHANGES.c.position)).scalar_subquery(),
    select(STATE.c.pruned_through).where(STATE.c.id == 1).scalar_subquery(),
)


def read_state(connection: Connection) -> LogState:
    """The log's newest position (pruning keeps the newest change) and how far it is
    pruned, read together."""
    last, pruned = connection.execute(_STATE).one()
    return LogState(int(last or 0), int(pruned or 0))


def prune_through(connection: Connection, cutoff: datetime) -> int:
    """The last position to prune for ``cutoff``: every change before it is older, so that
    what is pruned is always a prefix of the log (times and positions can disagree by a
    transaction's length); never the newest change, which the next position follows."""
    older = select(func.max(CHANGES.c.position)).where(CHANGES.c.at < cutoff)
    kept = select(func.min(CHANGES.c.position)).where(CHANGES.c.at >= cutoff)
    last_older = connection.scalar(older)
    if last_older is None:
        return 0
    first_kept = connection.scalar(kept)
    newest = int(connection.scalar(select(func.max(CHANGES.c.position))) or 0)
    through = int(last_older) if first_kept is None else min(int(last_older), first_kept - 1)
    return min(through, newest - 1)


_MARK_PRUNED = text("""
INSERT INTO change_log_state (id, last_position, pruned_through) VALUES (1, 0, :through)
ON CONFLICT (id) DO UPDATE SET pruned_through = CASE
  WHEN change_log_state.pruned_through < excluded.pruned_through
  THEN excluded.pruned_through ELSE change_log_state.pruned_through END
""").bindparams(bindparam("through", type_=BigInteger()))


def mark_pruned(position: int) -> Any:
    """Record that the log is pruned through ``position`` (before deleting: a replay that
    starts meanwhile is told its cursor is too old, never served a hole)."""
    return _MARK_PRUNED.params(through=position)


def delete_through(position: int, batch: int) -> Any:
    """Delete up to ``batch`` of the oldest changes at or before ``position``."""
    oldest = (
        select(CHANGES.c.position)
        .where(CHANGES.c.position <= position)
        .order_by(CHANGES.c.position)
        .limit(batch)
    )
    return delete(CHANGES).where(CHANGES.c.position.in_(oldest))
