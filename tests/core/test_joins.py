"""A page's to-one relations are read by the page's own statement, with the same result
as loading them by id (which a field under a directive still does)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update

from tests.support import factories
from tests.support.clients import GraphQL, StatementCounter
from zoo.core.entity import utcnow
from zoo.domains import Services
from zoo.exhibits.models import Exhibit

EXHIBIT = "exhibit%s { id name location createdAt deletedAt }"


async def make_zoo(services: Services) -> dict[str, Any]:
    """Exhibits shared by several rows, one deleted, and rows with none."""
    north = await factories.exhibit(services, location="North")
    closed = await factories.exhibit(services)
    rows = {
        "animals": [
            await factories.animal(services, name="Ada", exhibit_id=north.id),
            await factories.animal(services, name="Bo", exhibit_id=north.id),
            await factories.animal(services, name="Cy", exhibit_id=closed.id),
            await factories.animal(services, name="Di"),
        ],
        "staff": [
            await factories.staff_member(services, name="Eve", exhibit_id=closed.id),
            await factories.staff_member(services, name="Fay", exhibit_id=north.id),
            await factories.staff_member(services, name="Gus"),
        ],
    }
    # The service refuses to delete an exhibit still in use; rows written before that
    # rule (or by hand) may still point at one, and must read as pointing at none.
    async with services.database.transaction() as session:
        await session.execute(
            update(Exhibit).where(Exhibit.id == closed.id).values(deleted_at=utcnow())
        )
    return {"north": north, **rows}


def page_query(entity: str, directive: str = "", arguments: str = "") -> str:
    return f"{{ {entity}{arguments} {{ edges {{ node {{ id name {EXHIBIT % directive} }} }} }} }}"


@pytest.mark.parametrize("entity", ["animals", "staff"])
async def test_a_page_reads_its_exhibits_in_its_own_statement(
    gql: GraphQL, services: Services, count_statements: StatementCounter, entity: str
) -> None:
    zoo = await make_zoo(services)
    count_statements.statements.clear()
    joined = await gql.data(page_query(entity))
    (statement,) = count_statements.statements
    assert "JOIN exhibits" in statement
    count_statements.statements.clear()
    loaded = await gql.data(page_query(entity, " @include(if: true)"))
    assert count_statements.count == 2
    assert joined == loaded
    exhibits = {e["node"]["name"]: e["node"]["exhibit"] for e in joined[entity]["edges"]}
    north = zoo["north"]
    expected_north = {"id": north.id, "name": north.name, "location": "North"}
    for name, exhibit in exhibits.items():
        row = next(r for r in zoo[entity] if r.name == name)
        if row.exhibit_id == north.id:
            assert {k: exhibit[k] for k in expected_north} == expected_north
            assert exhibit["deletedAt"] is None
        else:
            assert exhibit is None  # none, or deleted


async def test_a_joined_page_resumes_filters_and_sorts_as_any_page(
    gql: GraphQL, services: Services
) -> None:
    await make_zoo(services)
    for order in ("NAME", "SPECIES", "CREATED_AT"):
        for direction in ("ASC", "DESC"):
            arguments = f'(first: 1, filter: {{nameContains: "d"}}, orderBy: {{field: {order},'
            arguments += f" direction: {direction}}}, after: $after)"
            pages = {}
            for directive in ("", " @include(if: true)"):
                query = page_query("animals", directive, arguments).replace(
                    "{ animals", "query($after: String) { animals", 1
                )
                query = query.replace("} } } } }", "} } } pageInfo { endCursor } } }")
                first = (await gql.data(query, {"after": None}))["animals"]
                after = first["pageInfo"]["endCursor"]
                second = (await gql.data(query, {"after": after}))["animals"]
                pages[directive] = (first, second)
            assert pages[""] == pages[" @include(if: true)"], (order, direction)
            names = [e["node"]["name"] for page in pages[""] for e in page["edges"]]
            assert sorted(names) == ["Ada", "Di"]


async def test_one_join_serves_every_alias(
    gql: GraphQL, services: Services, count_statements: StatementCounter
) -> None:
    zoo = await make_zoo(services)
    count_statements.statements.clear()
    data = await gql.data(
        "{ animals(first: 1) { edges { node { a: exhibit { name } b: exhibit { location } } } } }"
    )
    (statement,) = count_statements.statements
    assert statement.count("JOIN exhibits") == 1
    node = data["animals"]["edges"][0]["node"]
    assert node == {"a": {"name": zoo["north"].name}, "b": {"location": "North"}}


async def test_a_page_reads_only_the_related_columns_its_query_reads(
    gql: GraphQL, services: Services, count_statements: StatementCounter
) -> None:
    """Every selection of the relation on the page's nodes is covered, those under a
    directive too: the row read with the page is what each of them gets."""
    zoo = await make_zoo(services)
    query = """query($more: Boolean!) { animals(first: 1) { edges { node {
        exhibit { name } more: exhibit @include(if: $more) { location ...Told } } } } }
        fragment Told on Exhibit { description }"""
    for more in (False, True):
        count_statements.statements.clear()
        data = await gql.data(query, {"more": more})
        (statement,) = count_statements.statements
        selected = statement.split("FROM")[0]
        for column in ("name", "location", "description"):
            assert f"exhibits.{column}" in selected
        for unread in ("created_at", "updated_at", "deleted_at"):
            assert f"exhibits.{unread}" not in selected
        node = data["animals"]["edges"][0]["node"]
        assert node["exhibit"] == {"name": zoo["north"].name}
        if more:
            assert node["more"] == {"location": "North", "description": None}
        else:
            assert "more" not in node


async def test_exhibits_read_deeper_are_loaded_by_id(
    gql: GraphQL, services: Services, count_statements: StatementCounter
) -> None:
    """The rows read with a page belong to its nodes: an exhibit reached another way is
    loaded by id, whole, as ever."""
    zoo = await make_zoo(services)
    count_statements.statements.clear()
    data = await gql.data(
        "{ animals(first: 1) { edges { node { exhibit { name"
        " animals { name exhibit { location description createdAt } } } } } } }"
    )
    exhibit = data["animals"]["edges"][0]["node"]["exhibit"]
    assert exhibit["name"] == zoo["north"].name
    assert [a["name"] for a in exhibit["animals"]] == ["Ada", "Bo"]
    assert {a["exhibit"]["location"] for a in exhibit["animals"]} == {"North"}
    # The page with its exhibits, the exhibit's animals, their exhibit by id.
    assert count_statements.count == 3, count_statements.statements
