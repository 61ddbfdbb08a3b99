"""Where trees: conditions on a list's columns and relations, joined by and/or/not.

The operators are named as postgraphile-plugin-connection-filter names them, so that
front-end developers recognise them. What they mean, alike on both databases:

- A comparison (``equalTo``, ``notEqualTo``, ``in``, ``notIn``, ``lessThan`` and the
  rest, ``includesInsensitive``, ``startsWithInsensitive``) is false on a NULL, as in
  SQL and the peer; only ``isNull`` matches one.
- ``not`` is plain negation: ``not: {species: {equalTo: "Lion"}}`` keeps the animals
  of unknown species, which ``species: {notEqualTo: "Lion"}`` leaves out. SQL would
  make ``NOT (NULL = 'Lion')`` unknown and drop them; each comparison on a nullable
  column is therefore compiled as ``col IS NOT NULL AND ...``, which is never unknown.
- The fields of one condition, and of one where, all apply (AND); ``and: []`` is true
  and ``or: []`` false.
- A relation matches through live rows only: ``exhibit`` needs a live exhibit that
  matches, ``animals: {some}`` a live animal that matches, ``{none}`` no such animal.

Bounds (:func:`check_bounds`): nesting, conditions and list sizes are capped, so one
request cannot make the database plan or scan without end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Self, TypeVar

from pydantic import AfterValidator, Field, ValidationError
from sqlalchemy import ColumnElement, String, and_, bindparam, exists, false, func, not_, or_, true
from sqlalchemy.orm import aliased

from zoo.core.entity import nullable
from zoo.core.errors import InvalidInput
from zoo.core.fields import FilterText, Schema

MAX_DEPTH = 5
"""Wheres nested inside the top one (and/or/not, relations), the top one counted."""
MAX_CONDITIONS = 50
"""Operators in one tree, at every level."""
MAX_VALUES = 100
"""Values in one ``in`` or ``notIn``."""


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must include a UTC offset")
    return value.astimezone(UTC)


Moment = Annotated[datetime, AfterValidator(_aware)]


NULL_FALSE = "False on null."
LISTED = f"One of these (at most {MAX_VALUES}); false on null."
NOT_LISTED = f"None of these (at most {MAX_VALUES}); false on null."
ORDERED = "False on null; text compares in code point order."


class Condition(Schema):
    """Operators on one column; each given operator must hold."""

    is_null: bool | None = Field(None, description="true: the column is null; false: it is not.")

    def operators(self) -> Iterator[tuple[str, Any]]:
        for name in self.model_fields_set:
            value = getattr(self, name)
            if value is not None:
                yield name, value


class IntCondition(Condition):
    equal_to: int | None = Field(None, description=NULL_FALSE)
    not_equal_to: int | None = Field(None, description=NULL_FALSE)
    in_: list[int] | None = Field(None, max_length=MAX_VALUES, description=LISTED)
    not_in: list[int] | None = Field(None, max_length=MAX_VALUES, description=NOT_LISTED)
    less_than: int | None = Field(None, description=ORDERED)
    less_than_or_equal_to: int | None = Field(None, description=ORDERED)
    greater_than: int | None = Field(None, description=ORDERED)
    greater_than_or_equal_to: int | None = Field(None, description=ORDERED)


class StringCondition(Condition):
    equal_to: FilterText | None = Field(None, description=NULL_FALSE)
    not_equal_to: FilterText | None = Field(None, description=NULL_FALSE)
    in_: list[FilterText] | None = Field(None, max_length=MAX_VALUES, description=LISTED)
    not_in: list[FilterText] | None = Field(None, max_length=MAX_VALUES, description=NOT_LISTED)
    less_than: FilterText | None = Field(None, description=ORDERED)
    less_than_or_equal_to: FilterText | None = Field(None, description=ORDERED)
    greater_than: FilterText | None = Field(None, description=ORDERED)
    greater_than_or_equal_to: FilterText | None = Field(None, description=ORDERED)
    includes_insensitive: FilterText | None = Field(
        None, description="Contains this, ignoring case (Unicode); false on null."
    )
    starts_with_insensitive: FilterText | None = Field(
        None, description="Starts with this, ignoring case (Unicode); false on null."
    )


class DateTimeCondition(Condition):
    equal_to: Moment | None = Field(None, description=NULL_FALSE)
    not_equal_to: Moment | None = Field(None, description=NULL_FALSE)
    in_: list[Moment] | None = Field(None, max_length=MAX_VALUES, description=LISTED)
    not_in: list[Moment] | None = Field(None, max_length=MAX_VALUES, description=NOT_LISTED)
    less_than: Moment | None = Field(None, description=ORDERED)
    less_than_or_equal_to: Moment | None = Field(None, description=ORDERED)
    greater_than: Moment | None = Field(None, description=ORDERED)
    greater_than_or_equal_to: Moment | None = Field(None, description=ORDERED)


class Where(Schema):
    """A domain's where: its columns' conditions and relations (declared by each
    subclass), and the connectives every where has."""

    and_: list[Self] | None = Field(None, description="All of these match (true when empty).")
    or_: list[Self] | None = Field(
        None, description="At least one of these matches (false when empty)."
    )
    not_: Self | None = Field(
        None,
        description="This does not match. Plain negation: a row whose column is null fails "
        "the comparison inside, so `not` keeps it.",
    )


W = TypeVar("W", bound=Where)


@dataclass(frozen=True)
class WhereKey:
    """A where as a key of a dict or a loader: two are equal when their JSON is."""

    json: str
    where: Where = field(compare=False, hash=False)

    @classmethod
    def of(cls, where: Where) -> WhereKey:
        return cls(where.model_dump_json(exclude_unset=True), where)


class ToManyWhere(Schema):
    """A to-many relation's condition: ``some`` of its live rows match, ``none`` does
    (each subclass gives them the related rows' where)."""

    some: Where | None = None
    none: Where | None = None


def parse_where(model: type[W], data: Mapping[str, Any], argument: str = "where") -> W:
    """Validate ``data`` into ``model``: a bad value is named by its whole path
    (``where.and.0.name.in``), then the tree's bounds are checked."""
    try:
        where = model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors(include_url=False, include_input=False)[0]
        path = ".".join([argument, *(str(part).rstrip("_") for part in error["loc"])])
        raise InvalidInput.for_field(path, error["msg"].removeprefix("Value error, ")) from None
    check_bounds(where, argument)
    return where


def check_bounds(where: Where, argument: str = "where") -> None:
    conditions = 0

    def walk(node: Where, depth: int) -> None:
        nonlocal conditions
        if depth > MAX_DEPTH:
            raise InvalidInput.for_field(argument, f"nests deeper than {MAX_DEPTH} levels")
        for value in _children(node):
            if isinstance(value, Condition):
                conditions += sum(1 for _ in value.operators())
            elif isinstance(value, Where):
                walk(value, depth + 1)
        if conditions > MAX_CONDITIONS:
            raise InvalidInput.for_field(argument, f"has more than {MAX_CONDITIONS} conditions")

    walk(where, 1)


def _children(node: Where) -> Iterator[Condition | Where]:
    for name in node.model_fields_set:
        value = getattr(node, name)
        if isinstance(value, list):
            yield from value
        elif isinstance(value, ToManyWhere):
            yield from (w for w in (value.some, value.none) if w is not None)
        elif value is not None:
            yield value


# Compiling to SQL ---------------------------------------------------------------------


@dataclass(frozen=True)
class ToOne:
    """A relation through a local column to one live row of ``model``."""

    model: type[Any]
    local: str


@dataclass(frozen=True)
class ToMany:
    """A relation to the live rows of ``model`` whose ``remote`` column names this row."""

    model: type[Any]
    remote: str


@dataclass(frozen=True)
class Target:
    """What a where class filters: its table's model and its relations."""

    model: type[Any]
    relations: Mapping[str, ToOne | ToMany]


_TARGETS: dict[type[Where], Target] = {}


def register(where: type[Where], model: type[Any], **relations: ToOne | ToMany) -> None:
    """Declare (once, beside the domain's service) the table a where class filters."""
    _TARGETS[where] = Target(model, relations)


def clause(where: Where, entity: Any | None = None) -> ColumnElement[bool]:
    """The SQL condition of ``where`` on ``entity`` (its model, or an alias of it), its
    values inlined (as bound literals)."""
    return _Builder(None).clause(where, entity)


def bound_clause(where: Where) -> ColumnElement[bool]:
    """The condition with each value a named parameter (``where_0``, ``where_1``, ...), in
    the order :func:`shape_and_values` gives them: one statement for every where of the
    same shape, built once (``EntityService.page_query``)."""
    return _Builder(0).clause(where, None)


def shape_and_values(where: Where) -> tuple[Any, dict[str, Any]]:
    """What a statement built by :func:`bound_clause` depends on (the tree without its
    values; ``isNull`` and the lists' kinds stay, as they change the SQL), and the
    parameters it takes."""
    values: list[Any] = []

    def walk(node: Where) -> Any:
        target = _TARGETS[type(node)]
        shape = []
        for name in sorted(node.model_fields_set):
            value = getattr(node, name)
            if value is None:
                continue
            if name in ("and_", "or_"):
                shape.append((name, tuple(walk(w) for w in value)))
            elif name == "not_":
                shape.append((name, walk(value)))
            elif isinstance(value, ToManyWhere):
                sides = tuple(
                    (side, walk(getattr(value, side)))
                    for side in ("some", "none")
                    if getattr(value, side) is not None
                )
                shape.append((name, sides))
            elif name in target.relations:
                shape.append((name, walk(value)))
            else:
                operators: list[tuple[Any, ...]] = []
                for operator, operand in sorted(value.operators()):
                    if operator == "is_null":
                        operators.append((operator, operand))
                        continue
                    operators.append((operator,))
                    values.append(_PARAMETER.get(operator, _same)(operand))
                shape.append((name, tuple(operators)))
        return (type(node).__name__, tuple(shape))

    shape = walk(where)
    return shape, {f"where_{i}": value for i, value in enumerate(values)}


def _same(value: Any) -> Any:
    return value


def _escaped(text: str) -> str:
    """LIKE's wildcards taken literally, with ``/`` as the escape character."""
    return text.lower().replace("/", "//").replace("%", "/%").replace("_", "/_")


_PARAMETER: dict[str, Callable[[Any], Any]] = {
    "includes_insensitive": lambda v: f"%{_escaped(v)}%",
    "starts_with_insensitive": lambda v: f"{_escaped(v)}%",
}


class _Builder:
    """Builds a where's SQL; ``index`` None inlines the values, else each is the next
    named parameter."""

    def __init__(self, index: int | None) -> None:
        self.index = index

    def clause(self, where: Where, entity: Any | None) -> ColumnElement[bool]:
        target = _TARGETS[type(where)]
        entity = target.model if entity is None else entity
        parts: list[ColumnElement[bool]] = []
        for name in sorted(where.model_fields_set):
            value = getattr(where, name)
            if value is None:
                continue
            if name == "and_":
                parts.append(and_(true(), *(self.clause(w, entity) for w in value)))
            elif name == "or_":
                parts.append(or_(false(), *(self.clause(w, entity) for w in value)))
            elif name == "not_":
                parts.append(not_(self.clause(value, entity)))
            elif name in target.relations:
                parts.append(self.relation(target.relations[name], value, entity))
            else:
                parts.extend(self.condition(getattr(entity, name), value))
        return and_(true(), *parts)

    def relation(self, relation: ToOne | ToMany, value: Any, entity: Any) -> ColumnElement[bool]:
        other = aliased(relation.model)
        if isinstance(relation, ToOne):
            return exists().where(
                other.id == getattr(entity, relation.local),
                other.deleted_at.is_(None),
                self.clause(value, other),
            )
        parts = []
        for wanted, matched in ((value.some, True), (value.none, False)):
            if wanted is None:
                continue
            found = exists().where(
                getattr(other, relation.remote) == entity.id,
                other.deleted_at.is_(None),
                self.clause(wanted, other),
            )
            parts.append(found if matched else not_(found))
        return and_(true(), *parts)

    def operand(self, column: Any, operator: str, value: Any) -> Any:
        if self.index is None:
            return _PARAMETER.get(operator, _same)(value)
        name = f"where_{self.index}"
        self.index += 1
        if operator in ("in_", "not_in"):
            return bindparam(name, expanding=True, type_=column.type)
        if operator in _PARAMETER:
            return bindparam(name, type_=String())
        return bindparam(name, type_=column.type)

    def condition(self, column: Any, condition: Condition) -> list[ColumnElement[bool]]:
        guarded = nullable(column)
        parts: list[ColumnElement[bool]] = []
        for name, value in sorted(condition.operators()):
            if name == "is_null":
                parts.append(column.is_(None) if value else column.is_not(None))
                continue
            compared = _COMPARISONS[name](column, self.operand(column, name, value))
            parts.append(and_(column.is_not(None), compared) if guarded else compared)
        return parts


_COMPARISONS: dict[str, Callable[[Any, Any], ColumnElement[bool]]] = {
    "equal_to": lambda c, v: c == v,
    "not_equal_to": lambda c, v: c != v,
    "in_": lambda c, v: c.in_(v),
    "not_in": lambda c, v: c.not_in(v),
    "less_than": lambda c, v: c < v,
    "less_than_or_equal_to": lambda c, v: c <= v,
    "greater_than": lambda c, v: c > v,
    "greater_than_or_equal_to": lambda c, v: c >= v,
    # The pattern is made by _PARAMETER. lower() is Unicode-aware on SQLite too
    # (zoo.storage.database replaces the built-in).
    "includes_insensitive": lambda c, v: func.lower(c).like(v, escape="/"),
    "starts_with_insensitive": lambda c, v: func.lower(c).like(v, escape="/"),
}
