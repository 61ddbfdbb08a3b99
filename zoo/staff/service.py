from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from zoo.core.entity_service import EntityService
from zoo.core.filters import name_contains
from zoo.exhibits.service import ensure_live_exhibit
from zoo.staff.models import StaffMember
from zoo.staff.schemas import StaffMemberFilter, StaffMemberOrderField


class StaffService(EntityService[StaffMember, StaffMemberFilter]):
    model = StaffMember
    entity_name = "StaffMember"
    orderings: ClassVar[dict[str, InstrumentedAttribute[Any]]] = {
        StaffMemberOrderField.ID: StaffMember.id,
        StaffMemberOrderField.NAME: StaffMember.name,
        StaffMemberOrderField.CREATED_AT: StaffMember.created_at,
    }

    def filter_clauses(self, where: StaffMemberFilter | None) -> list[ColumnElement[bool]]:
        if where is None:
            return []
        clauses = []
        if where.name_contains is not None:
            clauses.append(name_contains(StaffMember.name, where.name_contains))
        if where.job_title is not None:
            clauses.append(StaffMember.job_title == where.job_title)
        if where.exhibit_id is not None:
            clauses.append(StaffMember.exhibit_id == where.exhibit_id)
        return clauses

    async def check_references(self, session: AsyncSession, values: Mapping[str, Any]) -> None:
        await ensure_live_exhibit(session, values.get("exhibit_id"))
