"""Keyset pages are answered from an index on PostgreSQL: a deep page costs what the first does."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.dialects import postgresql

from tests.support import factories
from zoo.core.keyset import OrderDirection, PageRequest
from zoo.domains import Services

pytestmark = pytest.mark.postgres

CASES = [
    ("animals", "name", "ix_animals_name_id"),
    ("animals", "species", "ix_animals_species_id"),
    ("animals", "created_at", "ix_animals_created_at_id"),
    ("animals", "id", "pk_animals"),
    ("exhibits", "name", "ix_exhibits_name_id"),
    ("staff", "created_at", "ix_staff_created_at_id"),
]


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
@pytest.mark.parametrize(("entity", "ordering", "index"), CASES)
@pytest.mark.parametrize("direction", [OrderDirection.ASC, OrderDirection.DESC])
async def test_deep_page_plan_uses_the_index(
    services: Services, entity: str, ordering: str, index: str, direction: OrderDirection
) -> None:
    make = {
        "animals": factories.animal,
        "exhibits": factories.exhibit,
        "staff": factories.staff_member,
    }[entity]
    for _ in range(3):
        await make(services, **({"species": "Felis"} if entity == "animals" else {}))
    service = getattr(services, entity)
    first = await service.list(None, PageRequest(first=1, order_by=ordering, direction=direction))
    after = first.cursor(first.items[0])
    page = PageRequest(first=20, after=after, order_by=ordering, direction=direction)
    statement, parameters = service.page_query(None, page)
    sql = str(
        statement.params(**parameters).compile(
            dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
        )
    )
    async with services.database.reader.connect() as connection:
        # The tables are tiny here; forbid sequential scans to ask whether an index fits.
        await connection.execute(text("SET enable_seqscan = off"))
        await connection.execute(text("SET enable_sort = off"))
        plan = "\n".join(row[0] for row in await connection.execute(text(f"EXPLAIN {sql}")))
    assert index in plan, plan
    assert "Sort" not in plan.split("\n")[1], plan


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_a_search_ignoring_case_uses_the_trigram_index(services: Services) -> None:
    """``includesInsensitive`` on a name is ``lower(name) LIKE '%...%'``: on a table of
    20,000 animals with few matches the planner takes the GIN trigram index (migration
    7a3e1c9b2d40), without being pushed to."""
    from zoo.animals.schemas import AnimalWhere
    from zoo.core.where import parse_where

    async with services.database.transaction() as session:
        await session.execute(
            text(
                "INSERT INTO animals (name, created_at, updated_at)"
                " SELECT 'Animal ' || n, now(), now() FROM generate_series(1, 20000) AS n"
            )
        )
        await session.execute(
            text(
                "INSERT INTO animals (name, created_at, updated_at)"
                " VALUES ('Leo the Lion', now(), now())"
            )
        )
    where = parse_where(AnimalWhere, {"name": {"includes_insensitive": "LION"}})
    service = services.animals
    statement = (
        service.model.__table__.select()
        .with_only_columns(service.model.id)
        .where(service.model.deleted_at.is_(None), *service.where_clauses(None, where))
    )
    sql = str(
        statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    )
    async with services.database.reader.connect() as connection:
        await connection.execute(text("ANALYZE animals"))
        plan = "\n".join(row[0] for row in await connection.execute(text(f"EXPLAIN {sql}")))
    assert "ix_animals_name_trgm" in plan, plan
    assert await service.count(None, where) == 1
