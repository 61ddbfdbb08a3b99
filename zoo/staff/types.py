from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from zoo.exhibits.loaders import exhibit_at_once, exhibit_of
from zoo.exhibits.types import ExhibitCount, exhibit_counts
from zoo.graphql.context import Info
from zoo.graphql.field_metadata import at_once, joined, requires
from zoo.graphql.inputs import OrderDirection, orm_backed
from zoo.graphql.permissions import KeepersRead
from zoo.graphql.subscriptions import ChangeKind
from zoo.graphql.summary_types import GROUPS, counted, grouped
from zoo.graphql.where_inputs import DateTimeFilter, IntFilter, StringFilter
from zoo.history.types import ChangeConnection, history_field
from zoo.staff.schemas import (
    StaffMemberCreate,
    StaffMemberFilter,
    StaffMemberOrderField,
    StaffMemberRead,
    StaffMemberUpdate,
    StaffMemberWhere,
)

if TYPE_CHECKING:
    from zoo.exhibits.types import ExhibitType, ExhibitWhereInput


@orm_backed
@strawberry.experimental.pydantic.type(
    model=StaffMemberRead, name="StaffMember", description="Someone who works at the zoo."
)
class StaffMemberType:
    id: strawberry.auto
    name: strawberry.auto
    job_title: strawberry.auto
    email: strawberry.auto = strawberry.field(permission_classes=[KeepersRead])
    phone: strawberry.auto = strawberry.field(permission_classes=[KeepersRead])
    notes: strawberry.auto = strawberry.field(permission_classes=[KeepersRead])
    exhibit_id: strawberry.auto
    created_at: strawberry.auto
    updated_at: strawberry.auto
    deleted_at: strawberry.auto

    history: ChangeConnection = history_field("StaffMember", lambda: StaffMemberType)

    @strawberry.field(
        description="The live exhibit they are assigned to, or null.",
        metadata={
            **requires("exhibit_id"),
            **joined("exhibit"),
            **at_once(exhibit_at_once),
        },
    )
    def exhibit(
        self, info: Info
    ) -> Annotated[ExhibitType, strawberry.lazy("zoo.exhibits.types")] | None:
        return exhibit_of(self, info)  # type: ignore[no-any-return]


StaffMemberOrderFieldEnum = strawberry.enum(StaffMemberOrderField, name="StaffMemberOrderField")


@strawberry.input(name="StaffMemberOrder", description="How to sort staff.")
class StaffMemberOrder:
    field: StaffMemberOrderFieldEnum  # type: ignore[valid-type]
    direction: OrderDirection = OrderDirection.ASC  # type: ignore[valid-type]


@strawberry.input(
    name="StaffMemberSort",
    description="One key of a sort; later keys order rows equal on earlier ones.",
)
class StaffMemberSort:
    field: StaffMemberOrderFieldEnum  # type: ignore[valid-type]
    direction: OrderDirection = OrderDirection.ASC  # type: ignore[valid-type]


@strawberry.experimental.pydantic.input(
    model=StaffMemberFilter,
    name="StaffMemberFilter",
    description="nameContains matches case-insensitively.",
)
class StaffMemberFilterInput:
    name_contains: strawberry.Maybe[str | None]
    job_title: strawberry.Maybe[str | None]
    exhibit_id: strawberry.Maybe[int | None]


@strawberry.experimental.pydantic.input(model=StaffMemberCreate, name="CreateStaffMemberInput")
class CreateStaffMemberInput:
    name: strawberry.auto
    job_title: strawberry.Maybe[str | None]
    email: strawberry.Maybe[str | None]
    phone: strawberry.Maybe[str | None]
    notes: strawberry.Maybe[str | None]
    exhibit_id: strawberry.Maybe[int | None]


@strawberry.experimental.pydantic.input(
    model=StaffMemberUpdate,
    name="UpdateStaffMemberInput",
    description="Fields left out stay unchanged; a nullable field sent as null is cleared.",
)
class UpdateStaffMemberInput:
    name: strawberry.Maybe[str | None]
    job_title: strawberry.Maybe[str | None]
    email: strawberry.Maybe[str | None]
    phone: strawberry.Maybe[str | None]
    notes: strawberry.Maybe[str | None]
    exhibit_id: strawberry.Maybe[int | None]


@strawberry.type(name="StaffMemberEvent", description="A committed change to one staffmember.")
class StaffMemberEventType:
    kind: ChangeKind  # type: ignore[valid-type]
    cursor: str = strawberry.field(
        description="This change's place in the change log: pass it as `after` to resume."
    )
    staff_member: StaffMemberType


@strawberry.experimental.pydantic.input(
    model=StaffMemberWhere,
    name="StaffMemberWhere",
    description=(
        "Which staff to list; filtering by email, phone or notes needs KEEPER or above "
        "(FORBIDDEN below). Every field given applies."
    ),
)
class StaffMemberWhereInput:
    id: strawberry.Maybe[IntFilter | None]
    name: strawberry.Maybe[StringFilter | None]
    job_title: strawberry.Maybe[StringFilter | None]
    email: strawberry.Maybe[StringFilter | None]
    phone: strawberry.Maybe[StringFilter | None]
    notes: strawberry.Maybe[StringFilter | None]
    exhibit_id: strawberry.Maybe[IntFilter | None]
    created_at: strawberry.Maybe[DateTimeFilter | None]
    updated_at: strawberry.Maybe[DateTimeFilter | None]
    exhibit: strawberry.Maybe[
        Annotated[ExhibitWhereInput, strawberry.lazy("zoo.exhibits.types")] | None
    ]
    and_: strawberry.Maybe[
        list[Annotated[StaffMemberWhereInput, strawberry.lazy("zoo.staff.types")]] | None
    ] = strawberry.field(name="and")
    or_: strawberry.Maybe[
        list[Annotated[StaffMemberWhereInput, strawberry.lazy("zoo.staff.types")]] | None
    ] = strawberry.field(name="or")
    not_: strawberry.Maybe[
        Annotated[StaffMemberWhereInput, strawberry.lazy("zoo.staff.types")] | None
    ] = strawberry.field(name="not")


@strawberry.type(description="Live staff with one job title (null: none given).")
class JobTitleCount:
    job_title: str | None
    count: int


@strawberry.type(name="StaffSummary", description="Live staff, counted.")
class StaffSummary:
    where: strawberry.Private[StaffMemberWhere | None]

    @strawberry.field(description="Live staff that match.")
    async def count(self, info: Info) -> int:
        return await counted(info, info.context.services.staff, self.where)

    @strawberry.field(description=GROUPS)
    async def by_job_title(self, info: Info, first: int = 20) -> list[JobTitleCount]:
        groups = await grouped(info, info.context.services.staff, "job_title", self.where, first)
        return [JobTitleCount(job_title=key, count=n) for key, n in groups]

    @strawberry.field(description=GROUPS)
    async def by_exhibit(
        self, info: Info, first: int = 20
    ) -> list[Annotated[ExhibitCount, strawberry.lazy("zoo.exhibits.types")]]:
        groups = await grouped(info, info.context.services.staff, "exhibit", self.where, first)
        return exhibit_counts(groups)
