from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from zoo.animals.schemas import (
    AnimalCreate,
    AnimalFilter,
    AnimalOrderField,
    AnimalRead,
    AnimalUpdate,
    AnimalWhere,
)
from zoo.exhibits.loaders import exhibit_at_once, exhibit_of
from zoo.exhibits.types import ExhibitCount, exhibit_counts
from zoo.graphql.context import Info
from zoo.graphql.field_metadata import at_once, joined, requires
from zoo.graphql.inputs import OrderDirection, orm_backed
from zoo.graphql.subscriptions import ChangeKind
from zoo.graphql.summary_types import GROUPS, MonthCount, counted, grouped
from zoo.graphql.where_inputs import DateTimeFilter, IntFilter, StringFilter
from zoo.history.types import ChangeConnection, history_field

if TYPE_CHECKING:
    from zoo.exhibits.types import ExhibitType, ExhibitWhereInput


@orm_backed
@strawberry.experimental.pydantic.type(
    model=AnimalRead, name="Animal", description="An animal living at the zoo."
)
class AnimalType:
    id: strawberry.auto
    name: strawberry.auto
    description: strawberry.auto
    species: strawberry.auto
    exhibit_id: strawberry.auto
    created_at: strawberry.auto
    updated_at: strawberry.auto
    deleted_at: strawberry.auto

    history: ChangeConnection = history_field("Animal", lambda: AnimalType)

    @strawberry.field(
        description="The live exhibit housing the animal, or null.",
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


AnimalOrderFieldEnum = strawberry.enum(AnimalOrderField, name="AnimalOrderField")


@strawberry.input(name="AnimalOrder", description="How to sort animals.")
class AnimalOrder:
    field: AnimalOrderFieldEnum  # type: ignore[valid-type]
    direction: OrderDirection = OrderDirection.ASC  # type: ignore[valid-type]


@strawberry.input(
    name="AnimalSort", description="One key of a sort; later keys order rows equal on earlier ones."
)
class AnimalSort:
    field: AnimalOrderFieldEnum  # type: ignore[valid-type]
    direction: OrderDirection = OrderDirection.ASC  # type: ignore[valid-type]


@strawberry.experimental.pydantic.input(
    model=AnimalFilter, name="AnimalFilter", description="nameContains matches case-insensitively."
)
class AnimalFilterInput:
    name_contains: strawberry.Maybe[str | None]
    species: strawberry.Maybe[str | None]
    exhibit_id: strawberry.Maybe[int | None]


@strawberry.experimental.pydantic.input(model=AnimalCreate, name="CreateAnimalInput")
class CreateAnimalInput:
    name: strawberry.auto
    description: strawberry.Maybe[str | None]
    species: strawberry.Maybe[str | None]
    exhibit_id: strawberry.Maybe[int | None]


@strawberry.experimental.pydantic.input(
    model=AnimalUpdate,
    name="UpdateAnimalInput",
    description="Fields left out stay unchanged; a nullable field sent as null is cleared.",
)
class UpdateAnimalInput:
    name: strawberry.Maybe[str | None]
    description: strawberry.Maybe[str | None]
    species: strawberry.Maybe[str | None]
    exhibit_id: strawberry.Maybe[int | None]


@strawberry.type(name="AnimalEvent", description="A committed change to one animal.")
class AnimalEventType:
    kind: ChangeKind  # type: ignore[valid-type]
    cursor: str = strawberry.field(
        description="This change's place in the change log: pass it as `after` to resume."
    )
    animal: AnimalType


@strawberry.experimental.pydantic.input(
    model=AnimalWhere,
    name="AnimalWhere",
    description=("Which animals to list. Every field given applies."),
)
class AnimalWhereInput:
    id: strawberry.Maybe[IntFilter | None]
    name: strawberry.Maybe[StringFilter | None]
    description: strawberry.Maybe[StringFilter | None]
    species: strawberry.Maybe[StringFilter | None]
    exhibit_id: strawberry.Maybe[IntFilter | None]
    created_at: strawberry.Maybe[DateTimeFilter | None]
    updated_at: strawberry.Maybe[DateTimeFilter | None]
    exhibit: strawberry.Maybe[
        Annotated[ExhibitWhereInput, strawberry.lazy("zoo.exhibits.types")] | None
    ]
    and_: strawberry.Maybe[
        list[Annotated[AnimalWhereInput, strawberry.lazy("zoo.animals.types")]] | None
    ] = strawberry.field(name="and")
    or_: strawberry.Maybe[
        list[Annotated[AnimalWhereInput, strawberry.lazy("zoo.animals.types")]] | None
    ] = strawberry.field(name="or")
    not_: strawberry.Maybe[
        Annotated[AnimalWhereInput, strawberry.lazy("zoo.animals.types")] | None
    ] = strawberry.field(name="not")


@strawberry.type(description="Live animals of one species (null: unknown).")
class SpeciesCount:
    species: str | None
    count: int


@strawberry.type(name="AnimalsSummary", description="Live animals, counted.")
class AnimalsSummary:
    where: strawberry.Private[AnimalWhere | None]

    @strawberry.field(description="Live animals that match.")
    async def count(self, info: Info) -> int:
        return await counted(info, info.context.services.animals, self.where)

    @strawberry.field(description=GROUPS)
    async def by_species(self, info: Info, first: int = 20) -> list[SpeciesCount]:
        groups = await grouped(info, info.context.services.animals, "species", self.where, first)
        return [SpeciesCount(species=key, count=n) for key, n in groups]

    @strawberry.field(description=GROUPS)
    async def by_exhibit(
        self, info: Info, first: int = 20
    ) -> list[Annotated[ExhibitCount, strawberry.lazy("zoo.exhibits.types")]]:
        groups = await grouped(info, info.context.services.animals, "exhibit", self.where, first)
        return exhibit_counts(groups)

    @strawberry.field(description="Animals added per month (UTC), newest first; at most 100.")
    async def created_per_month(self, info: Info, first: int = 24) -> list[MonthCount]:
        services = info.context.services
        groups = await grouped(info, services.animals, "created_month", self.where, first)
        return [MonthCount(month=key, count=n) for key, n in groups]
