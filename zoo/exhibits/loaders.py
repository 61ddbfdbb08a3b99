from __future__ import annotations

from collections.abc import Sequence

from zoo.core.batch_queries import live_by_id
from zoo.exhibits.models import Exhibit
from zoo.storage.database import Database


async def exhibits_by_id(database: Database, ids: Sequence[int]) -> list[Exhibit | None]:
    return await live_by_id(database, Exhibit, ids)
