"""Moving the change log back in time, for the retention tests."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from zoo.events.change_log import CHANGES
from zoo.storage.database import Database


async def age_changes(database: Database, days: int) -> None:
    """Make every change logged so far ``days`` older."""
    async with database.transaction() as session:
        rows = (await session.execute(select(CHANGES.c.position, CHANGES.c.at))).all()
        for position, at in rows:
            await session.execute(
                update(CHANGES)
                .where(CHANGES.c.position == position)
                .values(at=at - timedelta(days=days))
            )
