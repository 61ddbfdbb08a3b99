from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from zoo.core.entity_service import EntityService, LiveReference
from zoo.core.filters import name_contains
from zoo.core.summaries import Grouping
from zoo.core.where import ToOne, register
from zoo.exhibits.models import Exhibit
from zoo.staff.models import StaffMember
from zoo.staff.schemas import StaffMemberFilter, StaffMemberOrderField, StaffMemberWhere


class StaffService(EntityService[StaffMember, StaffMemberFilter]):
    model = StaffMember
    entity_name = "StaffMember"
    groupings: ClassVar[dict[str, Grouping]] = {
        "job_title": Grouping(lambda m: m.job_title),
        "exhibit": Grouping(lambda m: m.exhibit_id),
    }
    orderings: ClassVar[dict[str, InstrumentedAttribute[Any]]] = {
        StaffMemberOrderField.ID: StaffMember.id,
        StaffMemberOrderField.NAME: StaffMember.name,
        StaffMemberOrderField.CREATED_AT: StaffMember.created_at,
    }
    references: ClassVar[dict[str, LiveReference]] = {
        "exhibit_id": LiveReference(Exhibit, "exhibit")
    }

    def filter_clauses(self, filters: StaffMemberFilter | None) -> list[ColumnElement[bool]]:
        if filters is None:
            return []
        clauses = []
        if filters.name_contains is not None:
            clauses.append(name_contains(StaffMember.name, filters.name_contains))
        if filters.job_title is not None:
            clauses.append(StaffMember.job_title == filters.job_title)
        if filters.exhibit_id is not None:
            clauses.append(StaffMember.exhibit_id == filters.exhibit_id)
        return clauses


register(StaffMemberWhere, StaffMember, exhibit=ToOne(Exhibit, "exhibit_id"))


async def keepers_exhibit(session: AsyncSession, staff_member_id: int | None) -> int | None:
    """The exhibit a live staff member is assigned to, share-locked (PostgreSQL) until the
    caller's commit, so that a reassignment made meanwhile waits for it (or is seen)."""
    if staff_member_id is None:
        return None
    statement = (
        select(StaffMember.exhibit_id)
        .where(StaffMember.id == staff_member_id, StaffMember.deleted_at.is_(None))
        .with_for_update(read=True)
    )
    exhibit_id: int | None = await session.scalar(statement)
    return exhibit_id
