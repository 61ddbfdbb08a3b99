"""To-one relations read in the same statement as a page of rows.

A page whose nodes each show their exhibit would otherwise take a second
statement (a round trip, and as much Python again as the page's own) to load
the exhibits by id. Joined, the exhibit's columns arrive beside each row: a
``LEFT OUTER JOIN`` on the foreign key, live rows only, so a missing or
deleted exhibit reads as NULL, as the loader by id answers None for it.

Only the columns the caller will read from the related rows are selected
(as for the page's own), so each page record carries its related row
(``records.joined_attribute``), not the loader by id, which hands out whole
rows to anything in the request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, inspect

from zoo.core.batch_queries import Wanted
from zoo.core.records import RecordShape, narrowed, records_of


@dataclass(frozen=True, slots=True)
class Join:
    name: str
    """The ORM relationship's name on the page's model."""
    target: Any
    local: str
    """The page's column holding the related row's id."""
    on: ColumnElement[bool]

    def shape(self, wanted: Wanted) -> RecordShape:
        """Records of the related rows carrying ``wanted`` (None: every column) and the id."""
        only = None if wanted is None else narrowed(self.target, wanted | {"id"})
        return records_of(self.target, only)


_joins: dict[tuple[type[Any], str], Join] = {}


def join_of(model: type[Any], name: str) -> Join:
    """The relationship ``name`` of ``model``, made once."""
    join = _joins.get((model, name))
    if join is None:
        relationship = inspect(model).relationships[name]
        ((local, remote),) = relationship.local_remote_pairs
        target = relationship.mapper.class_
        on = and_(remote == local, target.deleted_at.is_(None))
        join = _joins[(model, name)] = Join(name, target, local.key, on)
    return join


Joined = Sequence[tuple[Join, RecordShape]]
"""The relations a page reads, each with the shape of its records."""


def joined(statement: Select[Any], joins: Joined) -> Select[Any]:
    """``statement`` with each relation's columns after its own, in order."""
    for join, shape in joins:
        statement = statement.add_columns(*shape.columns).outerjoin(join.target.__table__, join.on)
    return statement


def split(rows: Sequence[Sequence[Any]], shape: RecordShape, joins: Joined) -> list[Any]:
    """Records of ``shape`` from rows that :func:`joined` read, each carrying its related
    rows (None where it points at no live one), one record per related id."""
    width = len(shape.columns)
    related: list[tuple[int, int, int, int, RecordShape, dict[Any, Any]]] = []
    start = width
    for join, join_shape in joins:
        end = start + len(join_shape.columns)
        key_at, id_at = shape.position(join.local), start + join_shape.position("id")
        related.append((start, end, key_at, id_at, join_shape, {}))
        start = end
    make = shape.make
    items = []
    for row in rows:
        values = list(row[:width])
        for start, end, key_at, id_at, join_shape, made in related:
            key = row[key_at]
            if key not in made:
                made[key] = None if row[id_at] is None else join_shape.make(row[start:end])
            values.append(made[key])
        items.append(make(values))
    return items
