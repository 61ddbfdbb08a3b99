"""The baseline for the small-query goal: a plain FastAPI route, same row, same SQLAlchemy."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException
from sqlalchemy import select

import zoo.models  # noqa: F401  (configures every mapper)
from zoo.animals.models import Animal
from zoo.config import Settings
from zoo.db import Database

database = Database(Settings())
app = FastAPI()


@app.get("/animals/{animal_id}")
async def animal(animal_id: int) -> dict[str, Any]:
    statement = select(Animal.id, Animal.name, Animal.species).where(
        Animal.id == animal_id, Animal.deleted_at.is_(None)
    )
    async with database.read_session() as session:
        row = (await session.execute(statement)).first()
    if row is None:
        raise HTTPException(404)
    return {"data": {"animal": {"id": row.id, "name": row.name, "species": row.species}}}
