"""A page's node relations are loaded ahead, once per relation, and read without awaiting."""

from __future__ import annotations

import inspect
from collections import Counter
from typing import Any

import pytest
from graphql import GraphQLObjectType
from strawberry.types.nodes import InlineFragment, SelectedField

from tests.support import factories
from tests.support.clients import GraphQL, StatementCounter
from zoo import domains
from zoo.domains import Services
from zoo.graphql.context import HandoverLoader
from zoo.graphql.fastpath.page_reads import preloads
from zoo.graphql.fastpath.upstream import core_schema
from zoo.graphql.schema import schema


def field(name: str, *selections: Any, alias: str | None = None, **directives: Any) -> Any:
    return SelectedField(
        name=name, directives=directives, arguments={}, selections=list(selections), alias=alias
    )


def planned_for(connection: Any) -> Counter[tuple[str, Any]]:
    exhibit = core_schema(schema).get_type("Exhibit")
    assert isinstance(exhibit, GraphQLObjectType)
    return Counter(
        (preload.__name__, wanted) for preload, wanted in preloads(exhibit, [connection])
    )


def planned(*node_selections: Any, node_directives: Any = None) -> Counter[tuple[str, Any]]:
    node = field("node", *node_selections, **(node_directives or {}))
    return planned_for(field("exhibits", field("edges", node)))


def test_each_relation_is_planned_with_the_columns_it_reads() -> None:
    assert planned(
        field("id"), field("animals", field("id"), field("name")), field("animalCount")
    ) == Counter([("_preload_animals", frozenset({"id", "name"})), ("_preload_animal_count", None)])


def test_plain_fields_need_nothing_ahead() -> None:
    assert not planned(field("id"), field("name"))


def test_each_response_key_is_planned_and_one_key_is_merged() -> None:
    assert planned(
        field("animals", field("id"), alias="a"),
        field("animals", field("name"), alias="b"),
        field("animals", field("id")),
    ) == Counter(
        [
            ("_preload_animals", frozenset({"id"})),
            ("_preload_animals", frozenset({"name"})),
            ("_preload_animals", frozenset({"id"})),
        ]
    )
    assert planned(field("staff", field("id")), field("staff", field("email"))) == Counter(
        [("_preload_staff", frozenset({"id", "email"}))]
    )


def test_a_node_selected_twice_is_merged_as_graphql_core_merges_it() -> None:
    twice = field(
        "exhibits",
        field("edges", field("node", field("animals", field("id")))),
        field("edges", field("node", field("animals", field("name")))),
    )
    assert planned_for(twice) == Counter([("_preload_animals", frozenset({"id", "name"}))])


def test_fragments_are_looked_through() -> None:
    fragment = InlineFragment(
        type_condition="Exhibit", selections=[field("staff", field("name"))], directives={}
    )
    assert planned(fragment) == Counter([("_preload_staff", frozenset({"name"}))])


def test_nothing_under_a_directive_is_loaded_ahead() -> None:
    condition = {"include": {"if": True}}
    assert not planned(field("animals", field("id"), **condition))
    assert not planned(field("animals", field("id")), node_directives=condition)


async def test_a_loaded_ahead_value_is_taken_at_once_and_only_once() -> None:
    async def load(keys: list[int]) -> list[list[int]]:
        return [[key] for key in keys]

    loader: HandoverLoader[int, list[int]] = HandoverLoader(load)
    await loader.preload([1, 2])
    assert loader.take(1) == [1]
    again = loader.take(1)
    assert inspect.isawaitable(again)
    assert await again == [1]
    assert loader.take(2) == [2]
    await loader.preload([3, 3])
    assert loader.take(3) == [3]
    assert loader.take(3) == [3]


QUERY = """
{
  exhibits {
    edges {
      node %s {
        ...Names
        a: animals { id }
        b: animals { name species }
        staff { name }
        animalCount
      }
    }
  }
}
fragment Names on Exhibit { id animals { id } }
"""


async def test_loading_ahead_changes_no_result_and_no_statement_count(
    gql: GraphQL, services: Services, count_statements: StatementCounter
) -> None:
    for _ in range(3):
        exhibit = await factories.exhibit(services)
        for _ in range(2):
            await factories.animal(services, exhibit_id=exhibit.id, species="Panthera leo")
        await factories.staff_member(services, exhibit_id=exhibit.id)
    results = []
    # A directive on `node` keeps its relations from being loaded ahead.
    for node_directive in ("", "@include(if: true)"):
        count_statements.statements.clear()
        results.append(await gql.data(QUERY % node_directive))
        # exhibits; animals (both column sets, one batch); staff; animal counts.
        assert count_statements.count == 4, (node_directive, count_statements.statements)
    ahead, awaited = results
    assert ahead == awaited
    nodes = [edge["node"] for edge in ahead["exhibits"]["edges"]]
    assert len(nodes) == 3
    for node in nodes:
        assert node["animalCount"] == 2
        assert [a["id"] for a in node["animals"]] == [a["id"] for a in node["a"]]
        assert [a["species"] for a in node["b"]] == ["Panthera leo"] * 2
        assert len(node["staff"]) == 1


async def test_a_relation_that_fails_fails_on_its_own_field_not_the_page(
    gql: GraphQL, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exhibit under a directive is not read with the page: the field loads it."""
    exhibit = await factories.exhibit(services)
    animals = [await factories.animal(services, exhibit_id=exhibit.id) for _ in range(2)]

    async def broken(*args: Any) -> Any:
        raise RuntimeError("the exhibits table is on fire")

    monkeypatch.setattr(domains, "exhibits_by_id", broken)
    body = await gql(
        "{ animals { edges { node { id exhibit @include(if: true) { name } } } } }",
        expect_errors=True,
    )
    nodes = [edge["node"] for edge in body["data"]["animals"]["edges"]]
    assert nodes == [{"id": animal.id, "exhibit": None} for animal in animals]
    assert [error["path"] for error in body["errors"]] == [
        ["animals", "edges", i, "node", "exhibit"] for i in range(2)
    ]
    assert {error["extensions"]["code"] for error in body["errors"]} == {"INTERNAL_SERVER_ERROR"}


async def test_a_load_ahead_that_fails_is_made_again_by_its_field(
    gql: GraphQL, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    exhibit = await factories.exhibit(services)
    animals = [await factories.animal(services, exhibit_id=exhibit.id) for _ in range(2)]
    calls = []
    working = domains.animals_by_exhibit_id

    async def fails_once(*args: Any) -> Any:
        calls.append(args)
        if len(calls) == 1:
            raise RuntimeError("a moment's outage")
        return await working(*args)

    monkeypatch.setattr(domains, "animals_by_exhibit_id", fails_once)
    data = await gql.data("{ exhibits { edges { node { animals { id } } } } }")
    (edge,) = data["exhibits"]["edges"]
    assert edge["node"]["animals"] == [{"id": animal.id} for animal in animals]
    assert len(calls) == 2
