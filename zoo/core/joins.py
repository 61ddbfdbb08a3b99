"""To-one relations read in the same statement as a page of rows.

A page whose nodes each show their exhibit would otherwise take a second
statement (a round trip, and as much Python again as the page's own) to load
the exhibits by id. Joined, the exhibit's columns arrive beside each row: a
``LEFT OUTER JOIN`` on the foreign key, live rows only, so a missing or
deleted exhibit reads as NULL, as the loader by id answers None for it.
Related rows come whole (every column), so that they may be shared with
anything else in the request that reads them by id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, inspect

from zoo.core.records import RecordShape, records_of


@dataclass(frozen=True, slots=True)
class Join:
    name: str
    """The ORM relationship's name on the page's model."""
    target: Any
    local: str
    """The page's column holding the related row's id."""
    on: ColumnElement[bool]
    shape: RecordShape


_joins: dict[tuple[type[Any], str], Join] = {}


def join_of(model: type[Any], name: str) -> Join:
    """The relationship ``name`` of ``model``, made once."""
    join = _joins.get((model, name))
    if join is None:
        relationship = inspect(model).relationships[name]
        ((local, remote),) = relationship.local_remote_pairs
        target = relationship.mapper.class_
        on = and_(remote == local, target.deleted_at.is_(None))
        join = _joins[(model, name)] = Join(name, target, local.key, on, records_of(target))
    return join


def joined(statement: Select[Any], joins: Sequence[Join]) -> Select[Any]:
    """``statement`` with each relation's columns after its own, in order."""
    for join in joins:
        statement = statement.add_columns(*join.shape.columns).outerjoin(
            join.target.__table__, join.on
        )
    return statement


def split(
    rows: Sequence[Sequence[Any]], shape: RecordShape, joins: Sequence[Join]
) -> tuple[list[Any], dict[str, Mapping[int, Any]]]:
    """The page's records, and for each relation its records by id (None where the
    row points at no live one), from rows that :func:`joined` read."""
    width = len(shape.fields)
    make = shape.make
    items = [make(row[:width]) for row in rows]
    related: dict[str, Mapping[int, Any]] = {}
    start = width
    for join in joins:
        end = start + len(join.shape.fields)
        key_at, id_at = shape.position(join.local), start + join.shape.position("id")
        found: dict[int, Any] = {}
        for row in rows:
            key = row[key_at]
            if key is not None and key not in found:
                found[key] = None if row[id_at] is None else join.shape.make(row[start:end])
        related[join.name] = found
        start = end
    return items, related
