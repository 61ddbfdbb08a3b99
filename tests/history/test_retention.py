"""The server prunes the change log on its own, keeping what is recent and the newest."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from tests.history.test_resume import created
from tests.support.change_log import age_changes
from tests.support.servers import Live
from zoo.events.change_log import CHANGES, STATE


async def test_the_server_prunes_what_is_older_than_its_history_days(live: Live) -> None:
    async with live(history_days=1, history_prune_seconds=0.1) as (app, base, token):
        for name in ("Old", "Older", "Oldest"):
            await created(base, token, name)
        database = app.state.database
        await age_changes(database, days=2)
        await created(base, token, "Recent")
        positions = select(CHANGES.c.position).order_by(CHANGES.c.position)

        async def remaining() -> list[int]:
            return list(await database.fetch(lambda c: c.scalars(positions).all()))

        for _ in range(100):
            if await remaining() == [4]:
                break
            await asyncio.sleep(0.05)
        assert await remaining() == [4]
        pruned = await database.fetch(lambda c: c.scalar(select(STATE.c.pruned_through)))
        assert pruned == 3
