from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from zoo.animals.models import Animal
from zoo.animals.schemas import AnimalWhere
from zoo.core.batch_queries import Wanted
from zoo.core.entity_service import Groups
from zoo.core.where import WhereKey
from zoo.exhibits.loaders import exhibit_of
from zoo.exhibits.schemas import (
    ExhibitAnimalsWhere,
    ExhibitCreate,
    ExhibitFilter,
    ExhibitOrderField,
    ExhibitRead,
    ExhibitStaffWhere,
    ExhibitUpdate,
    ExhibitWhere,
)
from zoo.graphql.context import Info, deferred
from zoo.graphql.fastpath.selection import read_attributes
from zoo.graphql.field_metadata import preloaded_by, requires, sized_by
from zoo.graphql.inputs import OrderDirection, orm_backed
from zoo.graphql.subscriptions import ChangeKind
from zoo.graphql.summary_types import GROUPS, counted, grouped
from zoo.graphql.where_inputs import DateTimeFilter, IntFilter, StringFilter, where_of
from zoo.history.types import ChangeConnection, history_field
from zoo.staff.models import StaffMember
from zoo.staff.schemas import StaffMemberWhere

if TYPE_CHECKING:
    from zoo.animals.types import AnimalType, AnimalWhereInput
    from zoo.domains import Loaders
    from zoo.staff.types import StaffMemberType, StaffMemberWhereInput


def _preload_animals(loaders: Loaders, exhibits: Sequence[Any], wanted: Wanted) -> Awaitable[None]:
    return loaders.animals_by_exhibit_id.preload([(e.id, wanted) for e in exhibits])


def _preload_staff(loaders: Loaders, exhibits: Sequence[Any], wanted: Wanted) -> Awaitable[None]:
    return loaders.staff_by_exhibit_id.preload([(e.id, wanted) for e in exhibits])


def _preload_animal_count(
    loaders: Loaders, exhibits: Sequence[Any], _: Wanted
) -> Awaitable[object]:
    return loaders.animal_count_by_exhibit_id.load_many([e.id for e in exhibits])


NESTED_WHERE = "Only these rows (as a list's `where`); one statement per distinct where."


@orm_backed
@strawberry.experimental.pydantic.type(
    model=ExhibitRead, name="Exhibit", description="A place in the zoo that houses animals."
)
class ExhibitType:
    id: strawberry.auto
    name: strawberry.auto
    description: strawberry.auto
    location: strawberry.auto
    created_at: strawberry.auto
    updated_at: strawberry.auto
    deleted_at: strawberry.auto

    history: ChangeConnection = history_field("Exhibit", lambda: ExhibitType)

    @strawberry.field(
        description="Live animals housed here, ordered by id.",
        metadata={
            **requires("id"),
            **preloaded_by(_preload_animals),
            **sized_by(Animal.exhibit_id),
        },
    )
    def animals(
        self,
        info: Info,
        where: Annotated[
            strawberry.Maybe[
                Annotated[AnimalWhereInput, strawberry.lazy("zoo.animals.types")] | None
            ],
            strawberry.argument(description=NESTED_WHERE),
        ] = None,
    ) -> list[Annotated[AnimalType, strawberry.lazy("zoo.animals.types")]]:
        if where is not None:
            from zoo.animals.types import AnimalType  # here: it imports this module

            only = where_of(info, where, AnimalWhere, AnimalType)
            if only is not None:
                loader = info.context.loaders.animals_by_exhibit_id_where
                key = (self.id, read_attributes(info), WhereKey.of(only))
                return deferred(loader.load(key))  # type: ignore[arg-type]
        taking = info.context.loaders.animals_by_exhibit_id
        return taking.take((self.id, read_attributes(info)))  # type: ignore[return-value]

    @strawberry.field(
        description="Live staff assigned here, ordered by id.",
        metadata={
            **requires("id"),
            **preloaded_by(_preload_staff),
            **sized_by(StaffMember.exhibit_id),
        },
    )
    def staff(
        self,
        info: Info,
        where: Annotated[
            strawberry.Maybe[
                Annotated[StaffMemberWhereInput, strawberry.lazy("zoo.staff.types")] | None
            ],
            strawberry.argument(description=NESTED_WHERE),
        ] = None,
    ) -> list[Annotated[StaffMemberType, strawberry.lazy("zoo.staff.types")]]:
        if where is not None:
            from zoo.staff.types import StaffMemberType  # here: it imports this module

            only = where_of(info, where, StaffMemberWhere, StaffMemberType)
            if only is not None:
                loader = info.context.loaders.staff_by_exhibit_id_where
                key = (self.id, read_attributes(info), WhereKey.of(only))
                return deferred(loader.load(key))  # type: ignore[arg-type]
        taking = info.context.loaders.staff_by_exhibit_id
        return taking.take((self.id, read_attributes(info)))  # type: ignore[return-value]

    @strawberry.field(
        description="How many live animals are housed here.",
        metadata={**requires("id"), **preloaded_by(_preload_animal_count)},
    )
    def animal_count(self, info: Info) -> int:
        return deferred(info.context.loaders.animal_count_by_exhibit_id.load(self.id))


ExhibitOrderFieldEnum = strawberry.enum(ExhibitOrderField, name="ExhibitOrderField")


@strawberry.input(name="ExhibitOrder", description="How to sort exhibits.")
class ExhibitOrder:
    field: ExhibitOrderFieldEnum  # type: ignore[valid-type]
    direction: OrderDirection = OrderDirection.ASC  # type: ignore[valid-type]


@strawberry.input(
    name="ExhibitSort",
    description="One key of a sort; later keys order rows equal on earlier ones.",
)
class ExhibitSort:
    field: ExhibitOrderFieldEnum  # type: ignore[valid-type]
    direction: OrderDirection = OrderDirection.ASC  # type: ignore[valid-type]


@strawberry.experimental.pydantic.input(
    model=ExhibitFilter,
    name="ExhibitFilter",
    description="nameContains matches case-insensitively.",
)
class ExhibitFilterInput:
    name_contains: strawberry.Maybe[str | None]
    location: strawberry.Maybe[str | None]


@strawberry.experimental.pydantic.input(model=ExhibitCreate, name="CreateExhibitInput")
class CreateExhibitInput:
    name: strawberry.auto
    description: strawberry.Maybe[str | None]
    location: strawberry.Maybe[str | None]


@strawberry.experimental.pydantic.input(
    model=ExhibitUpdate,
    name="UpdateExhibitInput",
    description="Fields left out stay unchanged; a nullable field sent as null is cleared.",
)
class UpdateExhibitInput:
    name: strawberry.Maybe[str | None]
    description: strawberry.Maybe[str | None]
    location: strawberry.Maybe[str | None]


@strawberry.type(name="ExhibitEvent", description="A committed change to one exhibit.")
class ExhibitEventType:
    kind: ChangeKind  # type: ignore[valid-type]
    cursor: str = strawberry.field(
        description="This change's place in the change log: pass it as `after` to resume."
    )
    exhibit: ExhibitType


@strawberry.experimental.pydantic.input(
    model=ExhibitAnimalsWhere,
    name="ExhibitToManyAnimalFilter",
    description="Conditions on an exhibit's live animals.",
)
class ExhibitToManyAnimalFilter:
    some: strawberry.Maybe[
        Annotated[AnimalWhereInput, strawberry.lazy("zoo.animals.types")] | None
    ] = strawberry.field(description="At least one live animal here matches.")
    none: strawberry.Maybe[
        Annotated[AnimalWhereInput, strawberry.lazy("zoo.animals.types")] | None
    ] = strawberry.field(description="No live animal here matches (true for an empty exhibit).")


@strawberry.experimental.pydantic.input(
    model=ExhibitStaffWhere,
    name="ExhibitToManyStaffMemberFilter",
    description="Conditions on an exhibit's live staff.",
)
class ExhibitToManyStaffMemberFilter:
    some: strawberry.Maybe[
        Annotated[StaffMemberWhereInput, strawberry.lazy("zoo.staff.types")] | None
    ] = strawberry.field(description="At least one of its live staff matches.")
    none: strawberry.Maybe[
        Annotated[StaffMemberWhereInput, strawberry.lazy("zoo.staff.types")] | None
    ] = strawberry.field(description="None of its live staff matches (true when it has none).")


@strawberry.experimental.pydantic.input(
    model=ExhibitWhere,
    name="ExhibitWhere",
    description=("Which exhibits to list. Every field given applies."),
)
class ExhibitWhereInput:
    id: strawberry.Maybe[IntFilter | None]
    name: strawberry.Maybe[StringFilter | None]
    description: strawberry.Maybe[StringFilter | None]
    location: strawberry.Maybe[StringFilter | None]
    created_at: strawberry.Maybe[DateTimeFilter | None]
    updated_at: strawberry.Maybe[DateTimeFilter | None]
    animals: strawberry.Maybe[ExhibitToManyAnimalFilter | None]
    staff: strawberry.Maybe[ExhibitToManyStaffMemberFilter | None]
    and_: strawberry.Maybe[
        list[Annotated[ExhibitWhereInput, strawberry.lazy("zoo.exhibits.types")]] | None
    ] = strawberry.field(name="and")
    or_: strawberry.Maybe[
        list[Annotated[ExhibitWhereInput, strawberry.lazy("zoo.exhibits.types")]] | None
    ] = strawberry.field(name="or")
    not_: strawberry.Maybe[
        Annotated[ExhibitWhereInput, strawberry.lazy("zoo.exhibits.types")] | None
    ] = strawberry.field(name="not")


@strawberry.type(description="Live rows in one exhibit, or in none.")
class ExhibitCount:
    exhibit_id: strawberry.Private[int | None]
    count: int

    @strawberry.field(description="The live exhibit; null for the rows in none.")
    def exhibit(self, info: Info) -> ExhibitType | None:
        return exhibit_of(self, info)  # type: ignore[no-any-return]


def exhibit_counts(groups: Groups) -> list[ExhibitCount]:
    return [ExhibitCount(exhibit_id=key, count=n) for key, n in groups]


@strawberry.type(description="Exhibits at one location (null: none given).")
class LocationCount:
    location: str | None
    count: int


@strawberry.type(name="ExhibitsSummary", description="Live exhibits, counted.")
class ExhibitsSummary:
    where: strawberry.Private[ExhibitWhere | None]

    @strawberry.field(description="Live exhibits that match.")
    async def count(self, info: Info) -> int:
        return await counted(info, info.context.services.exhibits, self.where)

    @strawberry.field(description=GROUPS)
    async def by_location(self, info: Info, first: int = 20) -> list[LocationCount]:
        groups = await grouped(info, info.context.services.exhibits, "location", self.where, first)
        return [LocationCount(location=key, count=n) for key, n in groups]
