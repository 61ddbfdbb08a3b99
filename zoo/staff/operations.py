from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry

from zoo.core.keyset import DEFAULT_PAGE_SIZE
from zoo.graphql.connections import Connection, node_reads
from zoo.graphql.context import Info
from zoo.graphql.inputs import BEFORE, LAST, SORT, page_request, to_model, unwrap
from zoo.graphql.permissions import IsAdmin, IsCurator, actor_of
from zoo.graphql.subscriptions import AFTER, changes
from zoo.graphql.where_inputs import WHERE, where_of
from zoo.staff.schemas import (
    StaffMemberCreate,
    StaffMemberFilter,
    StaffMemberUpdate,
    StaffMemberWhere,
)
from zoo.staff.types import (
    CreateStaffMemberInput,
    StaffMemberEventType,
    StaffMemberFilterInput,
    StaffMemberOrder,
    StaffMemberSort,
    StaffMemberType,
    StaffMemberWhereInput,
    StaffSummary,
    UpdateStaffMemberInput,
)


@strawberry.type
class StaffQuery:
    @strawberry.field(description="One live staff member, or null.")
    async def staff_member(self, info: Info, id: int) -> StaffMemberType | None:
        return await info.context.loaders.staff_member_by_id.load(id)  # type: ignore[return-value]

    @strawberry.field(description="A page of live staff.")
    async def staff(
        self,
        info: Info,
        first: int | None = DEFAULT_PAGE_SIZE,
        after: strawberry.Maybe[str | None] = None,
        filter: strawberry.Maybe[StaffMemberFilterInput | None] = None,
        order_by: strawberry.Maybe[StaffMemberOrder | None] = None,
        where: Annotated[
            strawberry.Maybe[StaffMemberWhereInput | None], strawberry.argument(description=WHERE)
        ] = None,
        sort: Annotated[
            strawberry.Maybe[list[StaffMemberSort] | None], strawberry.argument(description=SORT)
        ] = None,
        last: Annotated[strawberry.Maybe[int | None], strawberry.argument(description=LAST)] = None,
        before: Annotated[
            strawberry.Maybe[str | None], strawberry.argument(description=BEFORE)
        ] = None,
    ) -> Connection[StaffMemberType]:
        service = info.context.services.staff
        filters = to_model(given, StaffMemberFilter) if (given := unwrap(filter)) else None
        tree = where_of(info, where, StaffMemberWhere, StaffMemberType)
        request = page_request(
            info, first, unwrap(after), unwrap(order_by), unwrap(sort), unwrap(last), unwrap(before)
        )
        page = await service.list(filters, request, *node_reads(info), where=tree)
        return await Connection.of_page(info, page, lambda: service.count(filters, tree))

    @strawberry.field(description="Live staff counted, whole and by group.")
    def staff_summary(
        self,
        info: Info,
        where: Annotated[
            strawberry.Maybe[StaffMemberWhereInput | None], strawberry.argument(description=WHERE)
        ] = None,
    ) -> StaffSummary:
        tree = where_of(info, where, StaffMemberWhere, StaffMemberType)
        return StaffSummary(where=tree)


@strawberry.type
class StaffMutation:
    @strawberry.mutation(permission_classes=[IsCurator], description="Needs CURATOR or ADMIN.")
    async def create_staff_member(
        self, info: Info, input: CreateStaffMemberInput
    ) -> StaffMemberType:
        data = to_model(input, StaffMemberCreate)
        return await info.context.services.staff.create(data, actor_of(info))  # type: ignore[no-any-return]

    @strawberry.mutation(permission_classes=[IsCurator], description="Needs CURATOR or ADMIN.")
    async def update_staff_member(
        self, info: Info, id: int, input: UpdateStaffMemberInput
    ) -> StaffMemberType:
        data = to_model(input, StaffMemberUpdate)
        return await info.context.services.staff.update(id, data, actor_of(info))  # type: ignore[return-value]

    @strawberry.mutation(permission_classes=[IsAdmin], description="Needs ADMIN.")
    async def delete_staff_member(self, info: Info, id: int) -> StaffMemberType:
        return await info.context.services.staff.delete(id, actor_of(info))  # type: ignore[return-value]

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description=(
            "Needs ADMIN. Brings back a deleted staff member: live again everywhere, "
            "logged and announced as RESTORED. BAD_USER_INPUT if it is not deleted, or if "
            "its exhibit is deleted (restore that first)."
        ),
    )
    async def restore_staff_member(self, info: Info, id: int) -> StaffMemberType:
        return await info.context.services.staff.restore(id, actor_of(info))  # type: ignore[return-value]


@strawberry.type
class StaffSubscription:
    @strawberry.subscription(
        description=(
            "Every change to staff; exhibitId narrows to one exhibit (a move counts for both)."
        )
    )
    async def staff_member_events(
        self,
        info: Info,
        exhibit_id: strawberry.Maybe[int | None] = None,
        after: Annotated[
            strawberry.Maybe[str | None], strawberry.argument(description=AFTER)
        ] = None,
    ) -> AsyncGenerator[StaffMemberEventType, None]:
        service = info.context.services.staff
        events = changes(info, service, unwrap(exhibit_id), unwrap(after))
        async for kind, row, cursor in events:
            yield StaffMemberEventType(kind=kind, cursor=cursor, staff_member=row)
