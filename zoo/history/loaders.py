from __future__ import annotations

from collections.abc import Sequence

from zoo.events.change_log import LoggedChange
from zoo.history.service import HistoryKey, histories
from zoo.storage.database import Database


async def history_pages(database: Database, keys: Sequence[HistoryKey]) -> list[list[LoggedChange]]:
    return await histories(database, keys)
