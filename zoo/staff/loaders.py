from __future__ import annotations

from collections.abc import Sequence

from zoo.core.batch_queries import Wanted, live_by_id, live_grouped_by, live_grouped_where
from zoo.core.where import WhereKey
from zoo.staff.models import StaffMember
from zoo.storage.database import Database


async def staff_members_by_id(database: Database, ids: Sequence[int]) -> list[StaffMember | None]:
    return await live_by_id(database, StaffMember, ids)


async def staff_by_exhibit_id(
    database: Database, keys: Sequence[tuple[int, Wanted]]
) -> list[list[StaffMember]]:
    return await live_grouped_by(database, StaffMember.exhibit_id, keys)


async def staff_by_exhibit_id_where(
    database: Database, keys: Sequence[tuple[int, Wanted, WhereKey]]
) -> list[list[StaffMember]]:
    return await live_grouped_where(database, StaffMember.exhibit_id, keys)
