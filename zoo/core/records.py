"""Read-only rows as light named tuples instead of ORM entities.

Lists and loaders can return thousands of rows, and an ORM entity costs an
identity-map entry, instrumented state and attribute descriptors for each;
most of the time of a large read went there (and into the garbage collector
walking those cycles). A record has the same attribute names as the model's
columns, so the GraphQL types read either one.
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
    columns: tuple[ColumnElement[Any], ...]
    """The table's columns (not the ORM attributes): selecting these keeps the
    statement out of the ORM's per-row loading machinery."""

    def select(self) -> Select[Any]:
        """``SELECT`` every column, in the order :attr:`make` expects."""
        return select(*self.columns)

    def position(self, field: str) -> int:
        return self.fields.index(field)


_shapes: dict[type[Any], RecordShape] = {}


def records_of(model: type[Any]) -> RecordShape:
    shape = _shapes.get(model)
    if shape is None:
        columns = tuple(model.__table__.columns)
        fields = tuple(column.key for column in columns)
        record = namedtuple(f"{model.__name__}Record", fields)  # type: ignore[misc]
        shape = _shapes[model] = RecordShape(record._make, fields, columns)
    return shape
