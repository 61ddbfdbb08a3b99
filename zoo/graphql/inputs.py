"""From GraphQL input objects to the domain's validated pydantic models, and back to types."""

from __future__ import annotations

from typing import Any, TypeVar

import strawberry
from pydantic import BaseModel
from strawberry.types.base import StrawberryMaybe, has_object_definition
from strawberry.types.maybe import Some

from zoo.core.errors import InvalidInput
from zoo.core.fields import parse
from zoo.core.keyset import DEFAULT_PAGE_SIZE, PageRequest, SortKey
from zoo.core.keyset import OrderDirection as DomainOrderDirection
from zoo.graphql.context import Info
from zoo.graphql.fastpath.upstream import accepts_any_instance

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

OrderDirection = strawberry.enum(DomainOrderDirection, name="OrderDirection")


def to_model(value: object, model: type[M]) -> M:
    """Validate a strawberry input into the domain model the services take.

    Update inputs declare their fields ``strawberry.Maybe``: a field the
    client left out arrives as None and is not passed on, an explicit null
    arrives as ``Some(None)``. The model's ``model_fields_set`` therefore holds
    exactly the fields the client sent, which is what ``exclude_unset`` needs.
    """
    assert has_object_definition(value)
    data: dict[str, Any] = {}
    for field in value.__strawberry_definition__.fields:
        item = getattr(value, field.python_name)
        if isinstance(item, Some):
            data[field.python_name] = item.value
        elif item is not None or not isinstance(field.type, StrawberryMaybe):
            data[field.python_name] = item
    return parse(model, data)


def unwrap(value: Some[T] | None) -> T | None:
    """The value of an optional ``strawberry.Maybe`` argument; None when left out or null.

    Optional arguments are declared ``Maybe`` so that the SDL shows no ``= null``
    default, as the contract writes them.
    """
    return None if value is None else value.value


SORT = "Several keys, each with its direction; the id follows the last. Not with `orderBy`."
LAST = "The last rows (at most 100) before `before`, or of the list. Not with `first`."
BEFORE = "A cursor: rows before it (pass `pageInfo.startCursor` to page back)."


def page_request(
    info: Info,
    first: int | None,
    after: str | None,
    order: Any | None,
    sort: list[Any] | None = None,
    last: int | None = None,
    before: str | None = None,
) -> PageRequest:
    """Arguments of a list field, as the services take them (bounds checked there).

    ``first: null`` means the default page size, as leaving it out does; ``first``
    has a default in the contract, so whether it was given is read from the document.
    """
    if last is not None and _given(info, "first"):
        raise InvalidInput.for_field("first", "cannot be given with last")
    if order is not None and sort is not None:
        raise InvalidInput.for_field("sort", "cannot be given with orderBy")
    first = DEFAULT_PAGE_SIZE if first is None else first
    keys: tuple[SortKey, ...] = ()
    for key in sort or ():
        if any(k.ordering == key.field.value for k in keys):
            raise InvalidInput.for_field("sort", f"{key.field.name} is given twice")
        keys += (SortKey(key.field.value, key.direction is DomainOrderDirection.DESC),)
    if order is not None:
        keys = (SortKey(order.field.value, order.direction is DomainOrderDirection.DESC),)
    return PageRequest(first=first, after=after, sort=keys, last=last, before=before)


def _given(info: Info, argument: str) -> bool:
    """Whether the document (or its variables) gave the field ``argument``."""
    return argument in getattr(info.selected_fields[0], "arguments", {})


def orm_backed(cls: type[T]) -> type[T]:
    """Let a pydantic-mapped type resolve from ORM rows directly.

    The pydantic integration adds a type check that accepts only
    instances of the type or its model. Our resolvers return the rows the
    services loaded (they carry the same attributes), so converting each one
    with ``from_pydantic`` would cost a model and a copy per row for nothing.
    """
    accepts_any_instance(cls)
    return cls
