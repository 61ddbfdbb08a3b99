"""The baseline for the small-query goal: a plain FastAPI route, same row, same SQLAlchemy.

Plain means as SQLAlchemy's and FastAPI's documentation set it up: an async
engine and session with default settings, none of the tuning in ``zoo.storage.database``
(which would make the baseline move whenever ours does).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

import zoo.storage.tables  # noqa: F401  (configures every mapper)
from zoo.animals.models import Animal
from zoo.config import Settings

engine = create_async_engine(Settings().database_url)
Session = async_sessionmaker(engine, expire_on_commit=False)
app = FastAPI()


@app.get("/animals/{animal_id}")
async def animal(animal_id: int) -> dict[str, Any]:
    statement = select(Animal.id, Animal.name, Animal.species).where(
        Animal.id == animal_id, Animal.deleted_at.is_(None)
    )
    async with Session() as session:
        row = (await session.execute(statement)).first()
    if row is None:
        raise HTTPException(404)
    return {"data": {"animal": {"id": row.id, "name": row.name, "species": row.species}}}
