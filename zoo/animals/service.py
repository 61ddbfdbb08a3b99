from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from zoo.animals.models import Animal
from zoo.animals.schemas import AnimalFilter, AnimalOrderField, AnimalWhere
from zoo.core.entity_service import EntityService, LiveReference
from zoo.core.errors import Forbidden
from zoo.core.filters import name_contains
from zoo.core.roles import Actor, Role
from zoo.core.summaries import Grouping, year_month
from zoo.core.where import ToOne, register
from zoo.exhibits.models import Exhibit
from zoo.staff.service import keepers_exhibit


class AnimalService(EntityService[Animal, AnimalFilter]):
    model = Animal
    entity_name = "Animal"
    groupings: ClassVar[dict[str, Grouping]] = {
        "species": Grouping(lambda m: m.species),
        "exhibit": Grouping(lambda m: m.exhibit_id),
        "created_month": Grouping(lambda m: year_month(m.created_at), newest_first=True),
    }
    orderings: ClassVar[dict[str, InstrumentedAttribute[Any]]] = {
        AnimalOrderField.ID: Animal.id,
        AnimalOrderField.NAME: Animal.name,
        AnimalOrderField.SPECIES: Animal.species,
        AnimalOrderField.CREATED_AT: Animal.created_at,
    }
    references: ClassVar[dict[str, LiveReference]] = {
        "exhibit_id": LiveReference(Exhibit, "exhibit")
    }

    def filter_clauses(self, filters: AnimalFilter | None) -> list[ColumnElement[bool]]:
        if filters is None:
            return []
        clauses = []
        if filters.name_contains is not None:
            clauses.append(name_contains(Animal.name, filters.name_contains))
        if filters.species is not None:
            clauses.append(Animal.species == filters.species)
        if filters.exhibit_id is not None:
            clauses.append(Animal.exhibit_id == filters.exhibit_id)
        return clauses

    async def check_actor(
        self,
        session: AsyncSession,
        actor: Actor | None,
        row: Animal | None,
        values: Mapping[str, Any],
    ) -> None:
        """A keeper creates and changes animals only within the exhibit their linked staff
        member is assigned to: moving one out needs the target exhibit to be theirs too."""
        if actor is None or actor.role is not Role.KEEPER:
            return
        touched = {values.get("exhibit_id")} if row is None else {row.exhibit_id}
        if row is not None and "exhibit_id" in values:
            touched.add(values["exhibit_id"])
        theirs = await keepers_exhibit(session, actor.staff_member_id)
        if theirs is None or touched != {theirs}:
            raise Forbidden("Keepers may create and change animals only in their own exhibit")


register(AnimalWhere, Animal, exhibit=ToOne(Exhibit, "exhibit_id"))
