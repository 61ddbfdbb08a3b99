"""From GraphQL input objects to the domain's validated pydantic models, and back to types."""

from __future__ import annotations

from typing import Any, TypeVar

import strawberry
from pydantic import BaseModel
from strawberry.types.base import StrawberryMaybe, has_object_definition
from strawberry.types.maybe import Some

from zoo.core.fields import parse
from zoo.core.keyset import DEFAULT_PAGE_SIZE, PageRequest
from zoo.core.keyset import OrderDirection as DomainOrderDirection
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


def page_request(first: int | None, after: str | None, order: Any | None) -> PageRequest:
    """Arguments of a list field, as the services take them (bounds checked there).

    ``first: null`` means the default page size, as leaving it out does.
    """
    first = DEFAULT_PAGE_SIZE if first is None else first
    if order is None:
        return PageRequest(first=first, after=after)
    return PageRequest(
        first=first, after=after, order_by=order.field.value, direction=order.direction
    )


def orm_backed(cls: type[T]) -> type[T]:
    """Let a pydantic-mapped type resolve from ORM rows directly.

    The pydantic integration adds a type check that accepts only
    instances of the type or its model. Our resolvers return the rows the
    services loaded (they carry the same attributes), so converting each one
    with ``from_pydantic`` would cost a model and a copy per row for nothing.
    """
    accepts_any_instance(cls)
    return cls
