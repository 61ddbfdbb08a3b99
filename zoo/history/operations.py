from __future__ import annotations

from typing import Annotated

import strawberry

from zoo.animals.types import AnimalType
from zoo.exhibits.types import ExhibitType
from zoo.graphql.context import Info
from zoo.graphql.inputs import unwrap
from zoo.graphql.permissions import IsAdmin, read_gates
from zoo.history.schemas import ChangeEntity
from zoo.history.service import audit_page
from zoo.history.types import (
    AFTER,
    FIRST,
    HISTORY_FIRST,
    ChangeConnection,
    ChangeWhereInput,
    audit_newer,
    change_where,
    page_bounds,
)
from zoo.staff.types import StaffMemberType

TYPES = {
    ChangeEntity.EXHIBIT: ExhibitType,
    ChangeEntity.ANIMAL: AnimalType,
    ChangeEntity.STAFF_MEMBER: StaffMemberType,
}
"""Whose field rules each entity's logged values follow."""


@strawberry.type
class HistoryQuery:
    @strawberry.field(
        permission_classes=[IsAdmin],
        description="Needs ADMIN. Every logged change, newest first: the audit screen.",
    )
    async def changes(
        self,
        info: Info,
        first: Annotated[int, strawberry.argument(description=FIRST)] = HISTORY_FIRST,
        after: Annotated[
            strawberry.Maybe[str | None], strawberry.argument(description=AFTER)
        ] = None,
        where: strawberry.Maybe[ChangeWhereInput | None] = None,
    ) -> ChangeConnection:
        chosen = change_where(where)
        before = page_bounds(first, unwrap(after))
        found = await audit_page(info.context.services.database, chosen, first, before)
        newer = None if before is None else audit_newer(info, chosen, before)
        return ChangeConnection.of(
            found, first, lambda entity: read_gates(TYPES[ChangeEntity(entity)]), newer
        )
