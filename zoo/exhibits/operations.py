from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry

from zoo.core.keyset import DEFAULT_PAGE_SIZE
from zoo.exhibits.schemas import ExhibitCreate, ExhibitFilter, ExhibitUpdate, ExhibitWhere
from zoo.exhibits.types import (
    CreateExhibitInput,
    ExhibitEventType,
    ExhibitFilterInput,
    ExhibitOrder,
    ExhibitSort,
    ExhibitsSummary,
    ExhibitType,
    ExhibitWhereInput,
    UpdateExhibitInput,
)
from zoo.graphql.connections import Connection
from zoo.graphql.context import Info
from zoo.graphql.inputs import BEFORE, LAST, SORT, page_request, to_model, unwrap
from zoo.graphql.permissions import IsAdmin, IsCurator, actor_of
from zoo.graphql.subscriptions import AFTER, changes
from zoo.graphql.where_inputs import WHERE, where_of


@strawberry.type
class ExhibitQuery:
    @strawberry.field(description="One live exhibit, or null.")
    async def exhibit(self, info: Info, id: int) -> ExhibitType | None:
        return await info.context.loaders.exhibit_by_id.load(id)  # type: ignore[return-value]

    @strawberry.field(description="A page of live exhibits.")
    async def exhibits(
        self,
        info: Info,
        first: int | None = DEFAULT_PAGE_SIZE,
        after: strawberry.Maybe[str | None] = None,
        filter: strawberry.Maybe[ExhibitFilterInput | None] = None,
        order_by: strawberry.Maybe[ExhibitOrder | None] = None,
        where: Annotated[
            strawberry.Maybe[ExhibitWhereInput | None], strawberry.argument(description=WHERE)
        ] = None,
        sort: Annotated[
            strawberry.Maybe[list[ExhibitSort] | None], strawberry.argument(description=SORT)
        ] = None,
        last: Annotated[strawberry.Maybe[int | None], strawberry.argument(description=LAST)] = None,
        before: Annotated[
            strawberry.Maybe[str | None], strawberry.argument(description=BEFORE)
        ] = None,
    ) -> Connection[ExhibitType]:
        service = info.context.services.exhibits
        filters = to_model(given, ExhibitFilter) if (given := unwrap(filter)) else None
        tree = where_of(info, where, ExhibitWhere, ExhibitType)
        request = page_request(
            info, first, unwrap(after), unwrap(order_by), unwrap(sort), unwrap(last), unwrap(before)
        )
        # Every column, not only those selected: the rows are shared with nested
        # `exhibit` fields (animal.exhibit), which then need no query of their own.
        page = await service.list(filters, request, where=tree)
        info.context.loaders.exhibit_by_id.prime_many({row.id: row for row in page.items})
        return await Connection.of_page(info, page, lambda: service.count(filters, tree))

    @strawberry.field(description="Live exhibits counted, whole and by group.")
    def exhibits_summary(
        self,
        info: Info,
        where: Annotated[
            strawberry.Maybe[ExhibitWhereInput | None], strawberry.argument(description=WHERE)
        ] = None,
    ) -> ExhibitsSummary:
        tree = where_of(info, where, ExhibitWhere, ExhibitType)
        return ExhibitsSummary(where=tree)


@strawberry.type
class ExhibitMutation:
    @strawberry.mutation(permission_classes=[IsCurator], description="Needs CURATOR or ADMIN.")
    async def create_exhibit(self, info: Info, input: CreateExhibitInput) -> ExhibitType:
        data = to_model(input, ExhibitCreate)
        return await info.context.services.exhibits.create(data, actor_of(info))  # type: ignore[no-any-return]

    @strawberry.mutation(permission_classes=[IsCurator], description="Needs CURATOR or ADMIN.")
    async def update_exhibit(self, info: Info, id: int, input: UpdateExhibitInput) -> ExhibitType:
        data = to_model(input, ExhibitUpdate)
        return await info.context.services.exhibits.update(id, data, actor_of(info))  # type: ignore[return-value]

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description=(
            "Needs ADMIN. Refused (BAD_USER_INPUT) while live animals or staff are still "
            "assigned to it."
        ),
    )
    async def delete_exhibit(self, info: Info, id: int) -> ExhibitType:
        return await info.context.services.exhibits.delete(id, actor_of(info))  # type: ignore[return-value]

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description=(
            "Needs ADMIN. Brings back a deleted exhibit: live again everywhere, "
            "logged and announced as RESTORED. BAD_USER_INPUT if it is not deleted."
        ),
    )
    async def restore_exhibit(self, info: Info, id: int) -> ExhibitType:
        return await info.context.services.exhibits.restore(id, actor_of(info))  # type: ignore[return-value]


@strawberry.type
class ExhibitSubscription:
    @strawberry.subscription(description=("Every change to exhibits."))
    async def exhibit_events(
        self,
        info: Info,
        after: Annotated[
            strawberry.Maybe[str | None], strawberry.argument(description=AFTER)
        ] = None,
    ) -> AsyncGenerator[ExhibitEventType, None]:
        service = info.context.services.exhibits
        async for kind, row, cursor in changes(info, service, None, unwrap(after)):
            yield ExhibitEventType(kind=kind, cursor=cursor, exhibit=row)
