"""Read-only rows as light named tuples instead of ORM entities.

Lists and loaders can return thousands of rows, and an ORM entity costs an
identity-map entry, instrumented state and attribute descriptors for each;
most of the time of a large read went there (and into the garbage collector
walking those cycles). A record has the same attribute names as the model's
columns, so the GraphQL types read either one.

A record may carry only some columns: a large list loads only what its query
selects (the baseline a hand-written endpoint sets), and nothing reads the rest.
A page's record may also carry a related row read by the same statement
(``zoo.core.joins``), under ``joined_<relation>``.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, select


@dataclass(frozen=True, slots=True)
class RecordShape:
    make: Callable[[Iterable[Any]], Any]
    """Builds a record from a result row's values (``namedtuple._make``)."""
    fields: tuple[str, ...]
    """The record's attributes: the columns', then the joined relations'."""
    columns: tuple[ColumnElement[Any], ...]
    """The table's columns (not the ORM attributes): selecting these keeps the
    statement out of the ORM's per-row loading machinery."""
    names: frozenset[str]
    """The columns' names as a set, made once (list loaders compare against it per batch)."""

    def select(self) -> Select[Any]:
        """``SELECT`` every column, in the order :attr:`make` expects."""
        return select(*self.columns)

    def position(self, field: str) -> int:
        return self.fields.index(field)


_shapes: dict[tuple[type[Any], frozenset[str] | None, tuple[str, ...]], RecordShape] = {}


def joined_attribute(relation: str) -> str:
    """Where a record carries the ``relation`` row read with it."""
    return f"joined_{relation}"


def records_of(
    model: type[Any], only: frozenset[str] | None = None, joined: tuple[str, ...] = ()
) -> RecordShape:
    """Records of ``model`` with every column, or ``only`` those named (in table order),
    and a place for each relation in ``joined``."""
    key = (model, only, joined)
    shape = _shapes.get(key)
    if shape is None:
        columns = tuple(c for c in model.__table__.columns if only is None or c.key in only)
        names = tuple(column.key for column in columns)
        if only is not None and len(names) != len(only):
            raise ValueError(f"{model.__name__} has no column {sorted(only - set(names))}")
        fields = names + tuple(map(joined_attribute, joined))
        record = namedtuple(f"{model.__name__}Record", fields)  # type: ignore[misc]
        shape = _shapes[key] = RecordShape(record._make, fields, columns, frozenset(names))
    return shape


def column_names(model: type[Any]) -> frozenset[str]:
    return records_of(model).names


def narrowed(model: type[Any], names: frozenset[str] | set[str]) -> frozenset[str] | None:
    """``names`` as :func:`records_of`'s ``only``; None (every column) when they are not
    fewer than the model's columns, or name an attribute that is not a column."""
    return frozenset(names) if names < column_names(model) else None
