from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from zoo.animals.models import Animal
from zoo.core.entity_service import EntityService
from zoo.core.errors import InvalidInput
from zoo.core.filters import name_contains
from zoo.core.summaries import Grouping
from zoo.core.where import ToMany, register
from zoo.exhibits.models import Exhibit
from zoo.exhibits.schemas import ExhibitFilter, ExhibitOrderField, ExhibitWhere
from zoo.staff.models import StaffMember


class ExhibitService(EntityService[Exhibit, ExhibitFilter]):
    model = Exhibit
    entity_name = "Exhibit"
    groupings: ClassVar[dict[str, Grouping]] = {
        "location": Grouping(lambda m: m.location),
    }
    orderings: ClassVar[dict[str, InstrumentedAttribute[Any]]] = {
        ExhibitOrderField.ID: Exhibit.id,
        ExhibitOrderField.NAME: Exhibit.name,
        ExhibitOrderField.CREATED_AT: Exhibit.created_at,
    }

    def filter_clauses(self, filters: ExhibitFilter | None) -> list[ColumnElement[bool]]:
        if filters is None:
            return []
        clauses = []
        if filters.name_contains is not None:
            clauses.append(name_contains(Exhibit.name, filters.name_contains))
        if filters.location is not None:
            clauses.append(Exhibit.location == filters.location)
        return clauses

    async def check_delete(self, session: AsyncSession, row: Exhibit) -> None:
        for model, what in ((Animal, "animals"), (StaffMember, "staff")):
            assigned = exists().where(model.exhibit_id == row.id, model.deleted_at.is_(None))
            if await session.scalar(select(assigned)):
                raise InvalidInput(
                    f"Exhibit {row.id} still has live {what}; move or delete them first",
                    {"id": f"exhibit still has live {what}"},
                )


register(
    ExhibitWhere,
    Exhibit,
    animals=ToMany(Animal, "exhibit_id"),
    staff=ToMany(StaffMember, "exhibit_id"),
)
