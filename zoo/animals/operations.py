from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry

from zoo.animals.schemas import AnimalCreate, AnimalFilter, AnimalUpdate, AnimalWhere
from zoo.animals.types import (
    AnimalEventType,
    AnimalFilterInput,
    AnimalOrder,
    AnimalSort,
    AnimalsSummary,
    AnimalType,
    AnimalWhereInput,
    CreateAnimalInput,
    UpdateAnimalInput,
)
from zoo.core.keyset import DEFAULT_PAGE_SIZE
from zoo.graphql.connections import Connection, node_reads
from zoo.graphql.context import Info
from zoo.graphql.inputs import BEFORE, LAST, SORT, page_request, to_model, unwrap
from zoo.graphql.permissions import IsAdmin, IsKeeper, actor_of
from zoo.graphql.subscriptions import AFTER, changes
from zoo.graphql.where_inputs import WHERE, where_of


@strawberry.type
class AnimalQuery:
    @strawberry.field(description="One live animal, or null.")
    async def animal(self, info: Info, id: int) -> AnimalType | None:
        return await info.context.loaders.animal_by_id.load(id)  # type: ignore[return-value]

    @strawberry.field(description="A page of live animals.")
    async def animals(
        self,
        info: Info,
        first: int | None = DEFAULT_PAGE_SIZE,
        after: strawberry.Maybe[str | None] = None,
        filter: strawberry.Maybe[AnimalFilterInput | None] = None,
        order_by: strawberry.Maybe[AnimalOrder | None] = None,
        where: Annotated[
            strawberry.Maybe[AnimalWhereInput | None], strawberry.argument(description=WHERE)
        ] = None,
        sort: Annotated[
            strawberry.Maybe[list[AnimalSort] | None], strawberry.argument(description=SORT)
        ] = None,
        last: Annotated[strawberry.Maybe[int | None], strawberry.argument(description=LAST)] = None,
        before: Annotated[
            strawberry.Maybe[str | None], strawberry.argument(description=BEFORE)
        ] = None,
    ) -> Connection[AnimalType]:
        service = info.context.services.animals
        filters = to_model(given, AnimalFilter) if (given := unwrap(filter)) else None
        tree = where_of(info, where, AnimalWhere, AnimalType)
        request = page_request(
            info, first, unwrap(after), unwrap(order_by), unwrap(sort), unwrap(last), unwrap(before)
        )
        page = await service.list(filters, request, *node_reads(info), where=tree)
        return await Connection.of_page(info, page, lambda: service.count(filters, tree))

    @strawberry.field(description="Live animals counted, whole and by group, for dashboards.")
    def animals_summary(
        self,
        info: Info,
        where: Annotated[
            strawberry.Maybe[AnimalWhereInput | None], strawberry.argument(description=WHERE)
        ] = None,
    ) -> AnimalsSummary:
        tree = where_of(info, where, AnimalWhere, AnimalType)
        return AnimalsSummary(where=tree)


KEEPER_WRITES = (
    "Needs KEEPER (only within the exhibit of their linked staff member; moving an "
    "animal, both exhibits), CURATOR or ADMIN."
)


@strawberry.type
class AnimalMutation:
    @strawberry.mutation(
        permission_classes=[IsKeeper],
        description=KEEPER_WRITES,
    )
    async def create_animal(self, info: Info, input: CreateAnimalInput) -> AnimalType:
        data = to_model(input, AnimalCreate)
        return await info.context.services.animals.create(data, actor_of(info))  # type: ignore[no-any-return]

    @strawberry.mutation(
        permission_classes=[IsKeeper],
        description=KEEPER_WRITES,
    )
    async def update_animal(self, info: Info, id: int, input: UpdateAnimalInput) -> AnimalType:
        data = to_model(input, AnimalUpdate)
        return await info.context.services.animals.update(id, data, actor_of(info))  # type: ignore[return-value]

    @strawberry.mutation(permission_classes=[IsAdmin], description="Needs ADMIN.")
    async def delete_animal(self, info: Info, id: int) -> AnimalType:
        return await info.context.services.animals.delete(id, actor_of(info))  # type: ignore[return-value]

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description=(
            "Needs ADMIN. Brings back a deleted animal: live again everywhere, "
            "logged and announced as RESTORED. BAD_USER_INPUT if it is not deleted, or if "
            "its exhibit is deleted (restore that first)."
        ),
    )
    async def restore_animal(self, info: Info, id: int) -> AnimalType:
        return await info.context.services.animals.restore(id, actor_of(info))  # type: ignore[return-value]


@strawberry.type
class AnimalSubscription:
    @strawberry.subscription(
        description=(
            "Every change to animals; exhibitId narrows to one exhibit "
            "(an animal moved in or out counts for both)."
        )
    )
    async def animal_events(
        self,
        info: Info,
        exhibit_id: strawberry.Maybe[int | None] = None,
        after: Annotated[
            strawberry.Maybe[str | None], strawberry.argument(description=AFTER)
        ] = None,
    ) -> AsyncGenerator[AnimalEventType, None]:
        service = info.context.services.animals
        events = changes(info, service, unwrap(exhibit_id), unwrap(after))
        async for kind, row, cursor in events:
            yield AnimalEventType(kind=kind, cursor=cursor, animal=row)
