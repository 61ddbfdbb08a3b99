"""Keyset pagination: opaque cursors and the WHERE clause that resumes after one.

A cursor is base64 of ``[sort, [its keys' values], id]``. Resuming compares the
row's keys and id against the cursor's, which an index on ``(key, ..., id)`` answers
directly: a deep page costs what the first does. A page read backwards (``last``,
``before``) is the same sort read from its end, then turned around.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import cached_property
from typing import Any, Generic, TypeVar

import orjson
from sqlalchemy import ColumnElement, and_, bindparam, false, or_, tuple_

from zoo.core.entity import nullable
from zoo.core.errors import InvalidInput
from zoo.core.fields import TEXT_MAX_LENGTH

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_ID = 2**31 - 1
"""The largest integer a column holds on both databases (PostgreSQL's INTEGER)."""

T = TypeVar("T")


class OrderDirection(StrEnum):
    ASC = "ASC"
    DESC = "DESC"


@dataclass(frozen=True, slots=True)
class SortKey:
    """One key of a sort: an ordering's name (the domain's order enum value) and its
    direction. NULLs sort as if larger than every value: last ascending, first
    descending, on both databases."""

    ordering: str
    desc: bool = False


Sort = tuple[SortKey, ...]


def signature(sort: Sort) -> str:
    """What a cursor records of the sort it was made for: ``name,-species``."""
    return ",".join(("-" if key.desc else "") + key.ordering for key in sort)


@dataclass(frozen=True, slots=True)
class Cursor:
    """A decoded cursor: the sort keys' values of a row, and its id."""

    values: tuple[Any, ...]
    id: int

    @property
    def nulls(self) -> tuple[bool, ...]:
        """Which values are NULL: a keyset clause's shape depends on it (:func:`beyond`)."""
        return tuple(value is None for value in self.values)


@dataclass(frozen=True)
class PageRequest:
    """One page of a list: ``first`` rows after ``after``, or (``last`` given) the
    ``last`` rows before ``before``; either bound may be given with either size.

    ``sort`` (several keys) or, for version 1's ``orderBy``, ``order_by`` and
    ``direction``; the id follows the last key, in its direction.
    """

    first: int = DEFAULT_PAGE_SIZE
    after: str | None = None
    order_by: str = "id"
    direction: OrderDirection = OrderDirection.ASC
    sort: Sort = ()
    last: int | None = None
    before: str | None = None

    def __post_init__(self) -> None:
        for name, size in (("first", self.first), ("last", self.last)):
            if size is not None and not 0 <= size <= MAX_PAGE_SIZE:
                raise InvalidInput.for_field(name, f"must be between 0 and {MAX_PAGE_SIZE}")

    @cached_property
    def sort_given(self) -> Sort:
        """The sort as asked, up to its first key on the id (which is unique: keys after
        it could never order anything)."""
        given = self.sort or (SortKey(self.order_by, self.direction is OrderDirection.DESC),)
        for index, key in enumerate(given):
            if key.ordering == "id":
                return given[: index + 1]
        return given

    @cached_property
    def keys(self) -> Sort:
        """The sort's keys before the id."""
        return tuple(key for key in self.sort_given if key.ordering != "id")

    @cached_property
    def id_desc(self) -> bool:
        """The id's direction: as given, else the last key's."""
        return self.sort_given[-1].desc

    @property
    def backward(self) -> bool:
        return self.last is not None

    @property
    def size(self) -> int:
        return self.last if self.last is not None else self.first


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    has_next_page: bool | Callable[[], Awaitable[bool]]
    has_previous_page: bool | Callable[[], Awaitable[bool]]
    """Known from the rows read (the side the page was read towards), or found out by a
    statement of its own, only if a query asks (the other side)."""
    signature: str
    sort_attributes: tuple[str, ...]
    """The item attributes the sort's keys read, which each cursor holds."""

    def cursor(self, item: Any) -> str:
        """Where ``item`` sits in the page's sort: encoded only when a query asks."""
        values = [getattr(item, name) for name in self.sort_attributes]
        return encode_cursor(self.signature, values, item.id)


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def encode_cursor(sort: str, values: list[Any], id_: int) -> str:
    """Made for every row of a page: with orjson it costs less than half as much."""
    raw = orjson.dumps([sort, [_jsonable(v) for v in values], id_])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(
    cursor: str, sort: str, value_types: tuple[type, ...], argument: str = "after"
) -> Cursor:
    """Decode a cursor made for the sort whose signature is ``sort``; anything else is
    the caller's mistake: a cursor of another sort, or of the same keys in another
    direction, would resume somewhere meaningless."""
    malformed = InvalidInput.for_field(argument, "is not a valid cursor")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (binascii.Error, UnicodeError, ValueError, RecursionError):
        raise malformed from None
    if not (isinstance(decoded, list) and len(decoded) == 3):
        raise malformed
    cursor_sort, values, id_ = decoded
    if type(id_) is not int or not 0 <= id_ <= MAX_ID:
        raise malformed
    if not isinstance(values, list):
        # Version 1's cursors held one value, and their ordering without its direction.
        values = [values] if value_types else []
        cursor_sort = sort if sort.lstrip("-") == cursor_sort else cursor_sort
    if cursor_sort != sort:
        raise InvalidInput.for_field(argument, "was issued for a different sort or direction")
    if len(values) != len(value_types):
        raise malformed
    coerced = []
    for value, value_type in zip(values, value_types, strict=True):
        if value is not None:
            try:
                value = _coerce(value, value_type)
            except (TypeError, ValueError, OverflowError):
                raise malformed from None
        coerced.append(value)
    return Cursor(tuple(coerced), id_)


def _coerce(value: Any, value_type: type) -> Any:
    if value_type is datetime:
        if not isinstance(value, str):
            raise TypeError
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError
        # Stored in UTC: a moment outside 1..9999 there (0001-01-01T00:00+01:00) cannot be.
        return parsed.astimezone(UTC)
    if value_type is int:
        if type(value) is not int or not -MAX_ID - 1 <= value <= MAX_ID:
            raise TypeError
        return value
    if not isinstance(value, value_type):
        raise TypeError
    if isinstance(value, str):
        # What a stored value can be: never NUL or half a surrogate pair.
        if "\x00" in value or len(value) > TEXT_MAX_LENGTH:
            raise ValueError
        value.encode("utf-8")
    return value


Key = tuple[Any, bool]
"""A sort key as SQL sees it: its column (an ORM attribute) and whether descending."""


def order_clauses(keys: list[Key], id_column: Any, id_desc: bool) -> list[ColumnElement[Any]]:
    """ORDER BY the keys, then the id; NULLs last ascending (first descending) on every
    database."""
    clauses: list[ColumnElement[Any]] = [
        column.desc().nulls_first() if desc else column.asc().nulls_last() for column, desc in keys
    ]
    clauses.append(id_column.desc() if id_desc else id_column.asc())
    return clauses


def reversed_keys(keys: list[Key], id_desc: bool) -> tuple[list[Key], bool]:
    """The same sort read from its end: NULLs, larger than every value, flip with it."""
    return [(column, not desc) for column, desc in keys], not id_desc


def bound_name(bound: str, index: int | None) -> str:
    """The parameter that carries a cursor's value (``index`` None: its id)."""
    return f"{bound}_id" if index is None else f"{bound}_{index}"


def bound_parameters(bound: str, cursor: Cursor) -> dict[str, Any]:
    parameters = {bound_name(bound, i): v for i, v in enumerate(cursor.values)}
    parameters[bound_name(bound, None)] = cursor.id
    return parameters


def beyond(
    keys: list[Key], id_column: Any, id_desc: bool, bound: str, nulls: tuple[bool, ...]
) -> ColumnElement[bool]:
    """Rows strictly after a cursor in the order :func:`order_clauses` gives, the cursor
    bound as parameters (:func:`bound_parameters`; ``nulls``: which of its values are
    NULL, which changes the clause's shape): one statement serves every cursor.

    One key compares ``(key, id)`` as a row, which an index on ``(key, id)`` answers
    directly; several keys in one direction on NOT NULL columns, likewise. Otherwise
    the clause spells the order out: the first key after the cursor's, or equal and
    the second after, and so on.
    """
    after_id = bindparam(bound_name(bound, None), type_=id_column.type)
    id_after: ColumnElement[bool] = id_column < after_id if id_desc else id_column > after_id
    if not keys:
        return id_after
    values = [
        bindparam(bound_name(bound, i), type_=column.type) for i, (column, _) in enumerate(keys)
    ]
    if len(keys) == 1 and keys[0][1] == id_desc:
        return _one_key_after(keys[0], nulls[0], values[0], id_column, after_id, id_desc)
    same_direction = all(desc == id_desc for _, desc in keys)
    if same_direction and not any(nulls) and not any(nullable(c) for c, _ in keys):
        row = tuple_(*(column for column, _ in keys), id_column)
        key_row = tuple_(*values, after_id)
        return row < key_row if id_desc else row > key_row
    alternatives = []
    equal: list[ColumnElement[bool]] = []
    for (column, desc), value, null in zip(keys, values, nulls, strict=True):
        alternatives.append(and_(*equal, _key_after(column, desc, value, null)))
        equal.append(column.is_(None) if null else column == value)
    alternatives.append(and_(*equal, id_after))
    return or_(*alternatives)


def _key_after(column: Any, desc: bool, value: Any, null: bool) -> ColumnElement[bool]:
    """The key alone strictly after the cursor's value (NULL: larger than any value)."""
    if null:
        return column.is_not(None) if desc else false()
    after: ColumnElement[bool] = column < value if desc else column > value
    return or_(after, column.is_(None)) if nullable(column) and not desc else after


def _one_key_after(
    key: Key, null: bool, value: Any, id_column: Any, after_id: Any, id_desc: bool
) -> ColumnElement[bool]:
    column, desc = key
    if null:
        # NULLs sort last ascending: only NULLs with a larger id follow; descending, every
        # non-NULL follows the NULL block.
        if desc:
            return or_(column.is_not(None), and_(column.is_(None), id_column < after_id))
        return and_(column.is_(None), id_column > after_id)
    row = tuple_(column, id_column)
    # Bound through the column's type, so UTCDateTime stores the value as it stores rows.
    key_row = tuple_(value, after_id)
    after = row < key_row if desc else row > key_row
    if nullable(column) and not desc:
        return or_(after, column.is_(None))
    return after
