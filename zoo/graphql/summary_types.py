"""What every summary shares: reading a count or a group list through the request's
loader (one statement for each distinct one), and the groups that name no row."""

from __future__ import annotations

from typing import Any

import strawberry

from zoo.core.entity_service import Groups
from zoo.core.summaries import summary_request
from zoo.core.where import Where
from zoo.graphql.context import Info

GROUPS = "At most 100 groups, by count (largest first), then by key; null is a group."


async def counted(info: Info, service: Any, where: Where | None) -> int:
    """How many live rows ``where`` selects."""
    total: int = await info.context.loaders.summaries.load(summary_request(service, None, where))
    return total


async def grouped(
    info: Info, service: Any, grouping: str, where: Where | None, first: int
) -> Groups:
    """The first groups of the live rows ``where`` selects, with their counts."""
    request = summary_request(service, grouping, where, first)
    groups: Groups = await info.context.loaders.summaries.load(request)
    return groups


@strawberry.type(description="Rows created in one calendar month (UTC).")
class MonthCount:
    month: str = strawberry.field(description="The month, as YYYY-MM.")
    count: int
