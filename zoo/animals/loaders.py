from __future__ import annotations

from collections.abc import Sequence

from zoo.animals.models import Animal
from zoo.core.batch_queries import (
    Wanted,
    live_by_id,
    live_count_grouped_by,
    live_grouped_by,
    live_grouped_where,
)
from zoo.core.where import WhereKey
from zoo.storage.database import Database


async def animals_by_id(database: Database, ids: Sequence[int]) -> list[Animal | None]:
    return await live_by_id(database, Animal, ids)


async def animals_by_exhibit_id(
    database: Database, keys: Sequence[tuple[int, Wanted]]
) -> list[list[Animal]]:
    return await live_grouped_by(database, Animal.exhibit_id, keys)


async def animals_by_exhibit_id_where(
    database: Database, keys: Sequence[tuple[int, Wanted, WhereKey]]
) -> list[list[Animal]]:
    return await live_grouped_where(database, Animal.exhibit_id, keys)


async def animal_count_by_exhibit_id(database: Database, ids: Sequence[int]) -> list[int]:
    return await live_count_grouped_by(database, Animal.exhibit_id, ids)
