from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select

from zoo.auth.models import User
from zoo.storage.database import Database


async def users_by_id(database: Database, ids: Sequence[uuid.UUID]) -> list[User | None]:
    """Users by id, in the keys' order (None where an account no longer exists)."""
    async with database.read_session() as session:
        statement = select(User).where(User.id.in_(ids))  # type: ignore[attr-defined]
        found = {user.id: user for user in await session.scalars(statement)}
    return [found.get(id_) for id_ in ids]
