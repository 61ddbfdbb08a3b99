from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from zoo.core.keyset import DEFAULT_PAGE_SIZE
from zoo.exhibits.schemas import ExhibitCreate, ExhibitFilter, ExhibitUpdate
from zoo.exhibits.types import (
    CreateExhibitInput,
    ExhibitEventType,
    ExhibitFilterInput,
    ExhibitOrder,
    ExhibitType,
    UpdateExhibitInput,
)
from zoo.graphql.connections import Connection
from zoo.graphql.context import Info
from zoo.graphql.inputs import page_request, to_model, unwrap
from zoo.graphql.permissions import IsAdmin, IsCurator
from zoo.graphql.subscriptions import changes


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
    ) -> Connection[ExhibitType]:
        service = info.context.services.exhibits
        where = to_model(given, ExhibitFilter) if (given := unwrap(filter)) else None
        # Every column, not only those selected: the rows are shared with nested
        # `exhibit` fields (animal.exhibit), which then need no query of their own.
        page = await service.list(where, page_request(first, unwrap(after), unwrap(order_by)))
        info.context.loaders.exhibit_by_id.prime_many({row.id: row for row in page.items})
        return await Connection.of_page(info, page, lambda: service.count(where))


@strawberry.type
class ExhibitMutation:
    @strawberry.mutation(permission_classes=[IsCurator], description="Needs CURATOR or ADMIN.")
    async def create_exhibit(self, info: Info, input: CreateExhibitInput) -> ExhibitType:
        data = to_model(input, ExhibitCreate)
        return await info.context.services.exhibits.create(data)  # type: ignore[no-any-return]

    @strawberry.mutation(permission_classes=[IsCurator], description="Needs CURATOR or ADMIN.")
    async def update_exhibit(self, info: Info, id: int, input: UpdateExhibitInput) -> ExhibitType:
        data = to_model(input, ExhibitUpdate)
        return await info.context.services.exhibits.update(id, data)  # type: ignore[return-value]

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description=(
            "Needs ADMIN. Refused (BAD_USER_INPUT) while live animals or staff are still "
            "assigned to it."
        ),
    )
    async def delete_exhibit(self, info: Info, id: int) -> ExhibitType:
        return await info.context.services.exhibits.delete(id)  # type: ignore[return-value]


@strawberry.type
class ExhibitSubscription:
    @strawberry.subscription(description=("Every change to exhibits."))
    async def exhibit_events(self, info: Info) -> AsyncGenerator[ExhibitEventType, None]:
        service = info.context.services.exhibits
        async for kind, row in changes(info, service.entity_name, service.get_any):
            yield ExhibitEventType(kind=kind, exhibit=row)
