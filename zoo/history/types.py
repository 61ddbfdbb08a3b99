"""The change log's GraphQL types: a change, each field it touched, pages of them.

A field's values before and after are JSON values (``JSON`` scalar: text, numbers,
null; dates as ISO 8601 text), under the field's GraphQL name. A gated field's
values follow the field's own rule: a role that may not read a staff member's
``email`` now may not read what it was either (null, with ``FORBIDDEN`` at its path).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON
from strawberry.utils.str_converters import to_camel_case

from zoo.auth.types import UserType
from zoo.core.errors import Forbidden, InvalidInput
from zoo.core.keyset import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from zoo.core.roles import Role
from zoo.events.change_log import CHANGES, LoggedChange, decode_position
from zoo.graphql.connections import PageInfo
from zoo.graphql.context import Info, deferred
from zoo.graphql.field_metadata import requires
from zoo.graphql.inputs import to_model, unwrap
from zoo.graphql.permissions import AdminsRead, KeepersRead, read_gates, role_of
from zoo.graphql.subscriptions import ChangeKind
from zoo.history.schemas import ChangeEntity, ChangeWhere
from zoo.history.service import HistoryKey, audit_clauses, newer_exists

ChangeEntityEnum = strawberry.enum(
    ChangeEntity, name="ChangeEntity", description="The kinds of row whose changes are kept."
)

HISTORY = (
    "Needs KEEPER. Every logged change to it, newest first (ZOO_HISTORY_DAYS back); "
    "gated fields' values follow the fields' own rules."
)
FIRST = f"How many changes (at most {MAX_PAGE_SIZE}), newest first."
AFTER = "A cursor: changes older than it (pass `pageInfo.endCursor` for the next page)."


@strawberry.type(name="FieldChange", description="One field a change touched.")
class FieldChangeType:
    field: str = strawberry.field(description="The field's GraphQL name.")
    old: strawberry.Private[Any]
    new: strawberry.Private[Any]
    minimum: strawberry.Private[Role | None]

    @strawberry.field(description="Its value before the change (null: none).")
    def before(self, info: Info) -> JSON | None:
        return self._readable(info, self.old)

    @strawberry.field(description="Its value after the change (null: none).")
    def after(self, info: Info) -> JSON | None:
        return self._readable(info, self.new)

    def _readable(self, info: Info, value: Any) -> JSON | None:
        if self.minimum is not None and not role_of(info.context.user).includes(self.minimum):
            raise Forbidden(f"Your role may not read {self.field}, nor what it was")
        return value  # type: ignore[no-any-return]


@strawberry.type(
    name="Change", description="One committed change to an exhibit, animal or staff member."
)
class ChangeType:
    logged: strawberry.Private[LoggedChange]
    gates: strawberry.Private[dict[str, Role]]

    @strawberry.field(
        description="Its place in the change log (a subscription's `after` takes it too)."
    )
    def cursor(self) -> str:
        return self.logged.cursor

    @strawberry.field(description="When it was made.")
    def at(self) -> datetime:
        return self.logged.at

    @strawberry.field(description="What it did.")
    def kind(self) -> ChangeKind:  # type: ignore[valid-type]
        return ChangeKind(self.logged.kind)

    @strawberry.field(description="The kind of row it changed.")
    def entity(self) -> ChangeEntityEnum:  # type: ignore[valid-type]
        return ChangeEntity(self.logged.entity)

    @strawberry.field(description="The id of the row it changed.")
    def entity_id(self) -> int:
        return self.logged.entity_id

    @strawberry.field(description="Who made it (null: the CLI or the demo data).")
    def actor_id(self) -> strawberry.ID | None:
        actor = self.logged.actor_id
        return None if actor is None else strawberry.ID(str(actor))

    @strawberry.field(
        description="Who made it, if their account still exists. Needs ADMIN.",
        permission_classes=[AdminsRead],
    )
    def actor(self, info: Info) -> UserType | None:
        actor = self.logged.actor_id
        if actor is None:
            return None
        return deferred(info.context.loaders.user_by_id.load(actor))  # type: ignore[return-value]

    @strawberry.field(
        description="Each field it touched: for a create, those given; for an update, those "
        "whose value changed; for a delete or restore, deletedAt."
    )
    def fields(self) -> list[FieldChangeType]:
        return [
            FieldChangeType(
                field=to_camel_case(name), old=before, new=after, minimum=self.gates.get(name)
            )
            for name, before, after in self.logged.fields
        ]


@strawberry.type(name="ChangeEdge")
class ChangeEdge:
    cursor: str = strawberry.field(description="The change's cursor.")
    node: ChangeType


@strawberry.type(name="ChangeConnection", description="A page of changes, newest first.")
class ChangeConnection:
    edges: list[ChangeEdge]
    page_info: PageInfo

    @classmethod
    def of(
        cls,
        changes: list[LoggedChange],
        first: int,
        gates: Callable[[str], dict[str, Role]],
        newer: Callable[[], Awaitable[bool]] | None,
    ) -> ChangeConnection:
        """A page from ``first`` + 1 changes read; ``newer``: whether changes precede it
        (None: it starts at the newest)."""
        page = changes[:first]
        edges = [
            ChangeEdge(cursor=c.cursor, node=ChangeType(logged=c, gates=gates(c.entity)))
            for c in page
        ]
        return cls(
            edges=edges,
            page_info=PageInfo(
                next_known=len(changes) > first,
                previous_known=False if newer is None else newer,
                start_cursor=page[0].cursor if page else None,
                end_cursor=page[-1].cursor if page else None,
            ),
        )


def page_bounds(first: int, after: str | None) -> int | None:
    """Check ``first``; the position ``after`` names (None: from the newest)."""
    if not 0 <= first <= MAX_PAGE_SIZE:
        raise InvalidInput.for_field("first", f"must be between 0 and {MAX_PAGE_SIZE}")
    return None if after is None else decode_position(after)


async def history_of(
    info: Info, entity: str, of: type, entity_id: int, first: int, after: str | None
) -> ChangeConnection:
    """One row's history: ``of`` is its GraphQL type, whose field rules its values follow."""
    before = page_bounds(first, after)
    key = HistoryKey(entity, entity_id, first, before)
    changes = await info.context.loaders.history.load(key)
    newer = None
    if before is not None:
        row = [CHANGES.c.entity == entity, CHANGES.c.entity_id == entity_id]
        database = info.context.services.database
        newer = lambda: newer_exists(database, row, before)  # noqa: E731
    gates = read_gates(of)
    return ChangeConnection.of(changes, first, lambda _entity: gates, newer)


def history_field(entity: str, of: Callable[[], type]) -> Any:
    """The ``history`` field of an entity's GraphQL type: ``of`` gives the type (whose
    field rules the logged values follow), called once the type exists."""

    async def history(
        self: Any,
        info: Info,
        first: Annotated[int, strawberry.argument(description=FIRST)] = DEFAULT_PAGE_SIZE,
        after: Annotated[
            strawberry.Maybe[str | None], strawberry.argument(description=AFTER)
        ] = None,
    ) -> ChangeConnection:
        return await history_of(info, entity, of(), self.id, first, unwrap(after))

    return strawberry.field(
        resolver=history,
        permission_classes=[KeepersRead],
        description=HISTORY,
        metadata=requires("id"),
    )


@strawberry.input(
    name="ChangeWhere", description="Which changes to list. Every field given applies."
)
class ChangeWhereInput:
    entity: strawberry.Maybe[ChangeEntityEnum | None]  # type: ignore[valid-type]
    kind: strawberry.Maybe[ChangeKind | None]  # type: ignore[valid-type]
    actor_id: strawberry.Maybe[strawberry.ID | None] = strawberry.field(
        description="Changes this user made."
    )
    after: strawberry.Maybe[datetime | None] = strawberry.field(
        description="Changes made after this time (with a UTC offset)."
    )
    before: strawberry.Maybe[datetime | None] = strawberry.field(
        description="Changes made before this time (with a UTC offset)."
    )


HISTORY_FIRST = DEFAULT_PAGE_SIZE


def change_where(value: Any) -> ChangeWhere | None:
    given = unwrap(value)
    return None if given is None else to_model(given, ChangeWhere)


def audit_newer(
    info: Info, where: ChangeWhere | None, before: int
) -> Callable[[], Awaitable[bool]]:
    database = info.context.services.database
    return lambda: newer_exists(database, audit_clauses(where), before)
