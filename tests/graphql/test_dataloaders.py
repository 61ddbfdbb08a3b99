"""Relations resolve through per-request DataLoaders: a constant number of statements."""

from __future__ import annotations

import pytest

from tests.support import factories
from tests.support.clients import GraphQL, StatementCounter
from zoo.domains import Services

NESTED = """
query($n: Int!) {
  exhibits(first: $n) {
    edges { node { id name animals { id name exhibit { id name staff { id name } } } } }
  }
}
"""


async def make_zoo(services: Services, exhibits: int, animals_each: int = 2) -> None:
    for _ in range(exhibits):
        exhibit = await factories.exhibit(services)
        for _ in range(animals_each):
            await factories.animal(services, exhibit_id=exhibit.id)
        await factories.staff_member(services, exhibit_id=exhibit.id)


@pytest.mark.parametrize("size", [10, 100])
async def test_nested_lists_run_one_statement_per_level(
    gql: GraphQL, services: Services, count_statements: StatementCounter, size: int
) -> None:
    await make_zoo(services, size, animals_each=1)
    count_statements.statements.clear()
    data = await gql.data(NESTED, {"n": size})
    edges = data["exhibits"]["edges"]
    assert len(edges) == size
    assert all(len(e["node"]["animals"]) == 1 for e in edges)
    first = edges[0]["node"]
    assert first["animals"][0]["exhibit"]["id"] == first["id"]
    assert len(first["animals"][0]["exhibit"]["staff"]) == 1
    # exhibits, animals by exhibit, staff by exhibit; animal.exhibit is primed by the list.
    assert count_statements.count == 3, count_statements.statements
    count_statements.statements.clear()
    await gql.data(NESTED.replace("edges {", "totalCount edges {", 1), {"n": size})
    assert count_statements.count == 4, count_statements.statements


async def test_total_count_costs_one_statement_and_only_when_selected(
    gql: GraphQL, services: Services, count_statements: StatementCounter
) -> None:
    await make_zoo(services, 3, animals_each=0)
    count_statements.statements.clear()
    await gql.data("{ exhibits { edges { node { id } } } }")
    assert count_statements.count == 1
    count_statements.statements.clear()
    await gql.data("{ exhibits { totalCount edges { node { id } } } }")
    assert count_statements.count == 2


async def test_loader_gets_one_batch_holding_every_key(
    gql: GraphQL, services: Services, count_statements: StatementCounter
) -> None:
    animals = []
    for _ in range(4):
        exhibit = await factories.exhibit(services)
        animals.append(await factories.animal(services, exhibit_id=exhibit.id))
    count_statements.statements.clear()
    # Under a directive, the exhibits are not read with the page (``test_joins``): each
    # node's field loads its own, and the loader batches them.
    data = await gql.data("{ animals { edges { node { id exhibit @include(if: true) { id } } } } }")
    assert [e["node"]["exhibit"]["id"] for e in data["animals"]["edges"]] == [
        a.exhibit_id for a in animals
    ]
    exhibit_queries = [s for s in count_statements.statements if "FROM exhibits" in s]
    assert len(exhibit_queries) == 1
    assert count_statements.count == 2


async def test_concurrent_fan_out_to_several_loaders(
    gql: GraphQL, services: Services, count_statements: StatementCounter
) -> None:
    """Sibling fields resolve concurrently; each loader batch uses its own session."""
    await make_zoo(services, 6, animals_each=3)
    count_statements.statements.clear()
    query = """{
      exhibits(first: 6) { totalCount edges { node { animalCount animals { id exhibit { id } }
        staff { id exhibit { animalCount } } } } }
      animals(first: 100) { totalCount edges { node { exhibit { name staff { id } } } } }
      staff { totalCount edges { node { exhibit { animals { id } } } } }
      a: animal(id: 1) { id } b: animal(id: 2) { id }
    }"""
    for _ in range(3):
        data = await gql.data(query)
        assert data["exhibits"]["totalCount"] == 6
        assert data["animals"]["totalCount"] == 18
        assert all(e["node"]["animalCount"] == 3 for e in data["exhibits"]["edges"])
        assert all(len(e["node"]["exhibit"]["animals"]) == 3 for e in data["staff"]["edges"])


async def test_a_list_selected_twice_is_whole_both_times_from_one_statement(
    gql: GraphQL, services: Services, count_statements: StatementCounter
) -> None:
    """Lists are handed over, not cached: each selection gets its own, from the same batch."""
    await make_zoo(services, 2, animals_each=3)
    count_statements.statements.clear()
    data = await gql.data(
        "{ exhibits { edges { node { a: animals { id } b: animals { id name }"
        " c: staff { id } d: staff { name } } } } }"
    )
    for edge in data["exhibits"]["edges"]:
        node = edge["node"]
        assert len(node["a"]) == 3
        assert [a["id"] for a in node["a"]] == [b["id"] for b in node["b"]]
        assert len(node["c"]) == len(node["d"]) == 1
    assert count_statements.count == 3, count_statements.statements
