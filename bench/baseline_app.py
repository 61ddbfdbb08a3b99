"""The baselines of the small-query and write goals: plain FastAPI routes, same SQLAlchemy.

Plain means as SQLAlchemy's and FastAPI's documentation set it up: an async
engine and session with default settings, none of the tuning in ``zoo.storage.database``
(which would make the baseline move whenever ours does). The write route checks the
bearer token the way Zoo must (its digest, joined to an active user, not too old)
and the exhibit (live, share-locked), then inserts with the ORM and commits.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI, Header, HTTPException
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

import zoo.storage.tables  # noqa: F401  (configures every mapper)
from zoo.animals.models import Animal
from zoo.auth.models import AccessToken, User
from zoo.auth.tokens import stored_form
from zoo.config import Settings
from zoo.exhibits.models import Exhibit

settings = Settings()
engine = create_async_engine(settings.database_url)
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


@app.get("/summaries/animals")
async def animals_summary() -> dict[str, Any]:
    """Goal 9's baseline: the dashboard's four counts, hand-written with SQLAlchemy."""
    live = Animal.deleted_at.is_(None)
    month = func.to_char(func.timezone("UTC", Animal.created_at), "YYYY-MM")
    n = func.count()
    async with Session() as session:
        count = await session.scalar(select(n).select_from(Animal).where(live))
        groups = {}
        for name, key, order in (
            ("bySpecies", Animal.species, [n.desc(), Animal.species]),
            ("byExhibit", Animal.exhibit_id, [n.desc(), Animal.exhibit_id]),
            ("createdPerMonth", month, [month.desc()]),
        ):
            statement = select(key, n).where(live).group_by(key).order_by(*order).limit(20)
            groups[name] = [[k, c] for k, c in (await session.execute(statement)).all()]
    return {"data": {"animalsSummary": {"count": count, **groups}}}


class NewAnimal(BaseModel):
    name: str
    species: str | None = None
    exhibitId: int | None = None  # noqa: N815 (the GraphQL input's spelling)


@app.post("/animals")
async def create_animal(given: NewAnimal, authorization: str = Header("")) -> dict[str, Any]:
    token = authorization.removeprefix("Bearer ").strip()
    tokens = AccessToken.__table__.c
    since = datetime.now(UTC) - timedelta(seconds=settings.token_lifetime_seconds)
    async with Session() as session:
        user = await session.scalar(
            select(User)
            .join(AccessToken, tokens.user_id == User.id)
            .where(tokens.token == stored_form(token), tokens.created_at >= since)
        )
        if user is None or not user.is_active:
            raise HTTPException(401)
        if given.exhibitId is not None:
            live = await session.scalar(
                select(Exhibit.id)
                .where(Exhibit.id == given.exhibitId, Exhibit.deleted_at.is_(None))
                .with_for_update(read=True)
            )
            if live is None:
                raise HTTPException(400)
        row = Animal(name=given.name, species=given.species, exhibit_id=given.exhibitId)
        session.add(row)
        await session.commit()
    return {"data": {"createAnimal": {"id": row.id, "name": row.name, "species": row.species}}}
