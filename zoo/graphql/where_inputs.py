"""The ``where`` argument's GraphQL side: the per-type condition inputs, the walk from a
strawberry input tree to the domain's :class:`~zoo.core.where.Where`, and the rule that
a caller may filter only by the fields they may read.

An operator left out does not apply; one sent as ``null`` is refused (as
postgraphile-plugin-connection-filter does by default), since a dropped ``null``
would silently widen the list.
"""

from __future__ import annotations

import typing
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeVar

import strawberry
from pydantic import BaseModel
from strawberry.types.base import StrawberryContainer, has_object_definition
from strawberry.types.lazy_type import LazyType
from strawberry.types.maybe import Some

from zoo.core.errors import Forbidden, InvalidInput
from zoo.core.roles import Role
from zoo.core.where import (
    DateTimeCondition,
    IntCondition,
    StringCondition,
    ToManyWhere,
    Where,
    parse_where,
)
from zoo.graphql.context import Info
from zoo.graphql.permissions import read_gates, role_of

W = TypeVar("W", bound=Where)

WHERE = "Which rows to list: operators, and/or/not, relations. With `filter`, both apply."


@strawberry.experimental.pydantic.input(
    model=IntCondition, name="IntFilter", description="Conditions on an Int; each given applies."
)
class IntFilter:
    is_null: strawberry.Maybe[bool | None]
    equal_to: strawberry.Maybe[int | None]
    not_equal_to: strawberry.Maybe[int | None]
    in_: strawberry.Maybe[list[int] | None] = strawberry.field(name="in")
    not_in: strawberry.Maybe[list[int] | None]
    less_than: strawberry.Maybe[int | None]
    less_than_or_equal_to: strawberry.Maybe[int | None]
    greater_than: strawberry.Maybe[int | None]
    greater_than_or_equal_to: strawberry.Maybe[int | None]


@strawberry.experimental.pydantic.input(
    model=StringCondition,
    name="StringFilter",
    description="Conditions on a String; each given applies. Values up to 2,000 characters.",
)
class StringFilter:
    is_null: strawberry.Maybe[bool | None]
    equal_to: strawberry.Maybe[str | None]
    not_equal_to: strawberry.Maybe[str | None]
    in_: strawberry.Maybe[list[str] | None] = strawberry.field(name="in")
    not_in: strawberry.Maybe[list[str] | None]
    less_than: strawberry.Maybe[str | None]
    less_than_or_equal_to: strawberry.Maybe[str | None]
    greater_than: strawberry.Maybe[str | None]
    greater_than_or_equal_to: strawberry.Maybe[str | None]
    includes_insensitive: strawberry.Maybe[str | None]
    starts_with_insensitive: strawberry.Maybe[str | None]


@strawberry.experimental.pydantic.input(
    model=DateTimeCondition,
    name="DateTimeFilter",
    description="Conditions on a DateTime (with its UTC offset); each given applies.",
)
class DateTimeFilter:
    is_null: strawberry.Maybe[bool | None]
    equal_to: strawberry.Maybe[datetime | None]
    not_equal_to: strawberry.Maybe[datetime | None]
    in_: strawberry.Maybe[list[datetime] | None] = strawberry.field(name="in")
    not_in: strawberry.Maybe[list[datetime] | None]
    less_than: strawberry.Maybe[datetime | None]
    less_than_or_equal_to: strawberry.Maybe[datetime | None]
    greater_than: strawberry.Maybe[datetime | None]
    greater_than_or_equal_to: strawberry.Maybe[datetime | None]


def where_of(info: Info, argument: Some[Any] | None, model: type[W], of: type) -> W | None:
    """The domain's where for a ``where`` argument (None when left out or null): validated
    with every value's path named, bounded, and refused with ``FORBIDDEN`` if it names a
    field the caller may not read on ``of`` (the listed GraphQL type), or on a related
    type, at any depth: a filter must not become an oracle for hidden values."""
    given = None if argument is None else argument.value
    if given is None:
        return None
    where = parse_where(model, _plain(given))
    _check_readable(role_of(info.context.user), where, of)
    return where


def _plain(value: object, path: str = "where") -> Any:
    """A strawberry input tree as the dicts and lists pydantic validates; a ``null``
    anywhere in it is refused, named by its path, whether the document or a variable
    sent it."""
    if isinstance(value, Some):
        value = value.value
        if value is None:
            raise InvalidInput.for_field(path, "cannot be null: leave it out instead")
    if isinstance(value, list):
        return [_plain(item, f"{path}.{index}") for index, item in enumerate(value)]
    if not has_object_definition(value):
        return value
    data = {}
    for field in value.__strawberry_definition__.fields:
        item = getattr(value, field.python_name)
        if item is not None:
            data[field.python_name] = _plain(item, f"{path}.{field.python_name.rstrip('_')}")
    return data


def _check_readable(role: Role, where: BaseModel, of: type) -> None:
    gates, related = _fields_of(of)
    for name in where.model_fields_set:
        value = getattr(where, name)
        if value is None:
            continue
        minimum = gates.get(name)
        if minimum is not None and not role.includes(minimum):
            field = strawberry_name(of, name)
            raise Forbidden(f"Your role may not filter by {field}: it may not read it")
        nested = value if isinstance(value, list) else [value]
        for item in nested:
            if isinstance(item, ToManyWhere):
                for side in (item.some, item.none):
                    if side is not None:
                        _check_readable(role, side, related[name])
            elif isinstance(item, Where):
                _check_readable(role, item, related.get(name, of))


def strawberry_name(of: type, python_name: str) -> str:
    for field in of.__strawberry_definition__.fields:  # type: ignore[attr-defined]
        if field.python_name == python_name:
            return str(field.graphql_name or python_name)
    return python_name


@lru_cache(maxsize=32)
def _fields_of(of: type) -> tuple[dict[str, Role], dict[str, type]]:
    """For a GraphQL object type: the fields gated by a :class:`Reads` permission (with
    the role each needs), and the object type each relation field leads to."""
    related: dict[str, type] = {}
    for field in of.__strawberry_definition__.fields:  # type: ignore[attr-defined]
        target = field.type
        while isinstance(target, StrawberryContainer):
            target = target.of_type
        for option in typing.get_args(target) or (target,):
            if isinstance(option, LazyType):
                option = option.resolve_type()
            if has_object_definition(option):
                related[field.python_name] = option
    return read_gates(of), related
