from __future__ import annotations

from collections.abc import Sequence

from zoo.core.loaders import live_by_id
from zoo.db import Database
from zoo.exhibits.models import Exhibit


async def exhibits_by_id(database: Database, ids: Sequence[int]) -> list[Exhibit | None]:
    return await live_by_id(database, Exhibit, ids)
