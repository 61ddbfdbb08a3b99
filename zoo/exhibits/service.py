from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from zoo.animals.models import Animal
from zoo.core.entity_service import EntityService
from zoo.core.errors import InvalidInput
from zoo.core.filters import name_contains
from zoo.exhibits.models import Exhibit
from zoo.exhibits.schemas import ExhibitFilter, ExhibitOrderField
from zoo.staff.models import StaffMember


class ExhibitService(EntityService[Exhibit, ExhibitFilter]):
    model = Exhibit
    entity_name = "Exhibit"
    orderings: ClassVar[dict[str, InstrumentedAttribute[Any]]] = {
        ExhibitOrderField.ID: Exhibit.id,
        ExhibitOrderField.NAME: Exhibit.name,
        ExhibitOrderField.CREATED_AT: Exhibit.created_at,
    }

    def filter_clauses(self, where: ExhibitFilter | None) -> list[ColumnElement[bool]]:
        if where is None:
            return []
        clauses = []
        if where.name_contains is not None:
            clauses.append(name_contains(Exhibit.name, where.name_contains))
        if where.location is not None:
            clauses.append(Exhibit.location == where.location)
        return clauses

    async def check_delete(self, session: AsyncSession, row: Exhibit) -> None:
        for model, what in ((Animal, "animals"), (StaffMember, "staff")):
            assigned = exists().where(model.exhibit_id == row.id, model.deleted_at.is_(None))
            if await session.scalar(select(assigned)):
                raise InvalidInput(
                    f"Exhibit {row.id} still has live {what}; move or delete them first",
                    {"id": f"exhibit still has live {what}"},
                )


async def ensure_live_exhibit(session: AsyncSession, exhibit_id: int | None) -> None:
    """Refuse an ``exhibit_id`` that names no live exhibit.

    The exhibit row is share-locked (PostgreSQL) so that it cannot be deleted
    between this check and the caller's commit.
    """
    if exhibit_id is None:
        return
    statement = (
        select(Exhibit.id)
        .where(Exhibit.id == exhibit_id, Exhibit.deleted_at.is_(None))
        .with_for_update(read=True)
    )
    if await session.scalar(statement) is None:
        raise InvalidInput.for_field("exhibit_id", f"exhibit {exhibit_id} does not exist")
