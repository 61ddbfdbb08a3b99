"""Lists load only the columns their query reads, and every column when unsure."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import strawberry

from tests.support import factories
from tests.support.clients import GraphQL, StatementCounter
from zoo.core.batch_queries import Wanted
from zoo.domains import Services
from zoo.graphql.context import Info
from zoo.graphql.fastpath.selection import read_attributes
from zoo.graphql.field_metadata import requires


@strawberry.type
class Item:
    a: int
    b: int

    @strawberry.field
    def unsure(self) -> int:
        return self.a

    @strawberry.field(metadata=requires("b"))
    def sure(self) -> int:
        return self.b


seen: list[Wanted] = []


@strawberry.type
class Query:
    @strawberry.field
    def items(self, info: Info) -> list[Item]:
        seen.append(read_attributes(info))
        return [Item(a=1, b=2)]


schema = strawberry.Schema(Query)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("{ items { a } }", {"a"}),
        ("{ items { __typename a sure } }", {"a", "b"}),
        ("{ items { ...F } } fragment F on Item { b }", {"b"}),
        ("{ items { ... on Item { a ... on Item { sure } } } }", {"a", "b"}),
        ("{ items { a unsure } }", None),
    ],
)
async def test_attributes_read_by_a_selection(query: str, expected: set[str] | None) -> None:
    seen.clear()
    context = SimpleNamespace(read_attributes={})
    result = await schema.execute(query, context_value=context)
    assert result.errors is None
    assert seen == [None if expected is None else frozenset(expected)]


def animal_select(statements: list[str]) -> str:
    (select,) = [s for s in statements if "FROM animals" in s]
    return select.split("FROM")[0]


async def make_zoo(services: Services) -> Any:
    exhibit = await factories.exhibit(services)
    for _ in range(2):
        await factories.animal(services, exhibit_id=exhibit.id)
    return exhibit


@pytest.mark.parametrize(
    ("query", "read", "unread"),
    [
        # A nested list: what its items show.
        (
            "{ exhibits { edges { node { animals { name } } } } }",
            ["name"],
            ["description", "species", "created_at", "updated_at", "deleted_at"],
        ),
        # A page: what its nodes show, and the id and sort column that make each cursor.
        (
            "{ animals(orderBy: {field: SPECIES}) { edges { node { name } } } }",
            ["id", "name", "species"],
            ["description", "exhibit_id", "created_at", "updated_at", "deleted_at"],
        ),
    ],
)
async def test_a_list_selects_only_the_columns_its_query_reads(
    gql: GraphQL,
    services: Services,
    count_statements: StatementCounter,
    query: str,
    read: list[str],
    unread: list[str],
) -> None:
    await make_zoo(services)
    count_statements.statements.clear()
    data = await gql.data(query)
    assert str(data).count("'name': 'Animal") == 2
    columns = animal_select(count_statements.statements)
    for name in read:
        assert f"animals.{name}" in columns
    for name in unread:
        assert f"animals.{name}" not in columns


async def test_a_resolver_field_brings_the_columns_it_requires(
    gql: GraphQL, services: Services, count_statements: StatementCounter
) -> None:
    exhibit = await make_zoo(services)
    count_statements.statements.clear()
    data = await gql.data("{ exhibits { edges { node { animals { exhibit { name } } } } } }")
    animals = data["exhibits"]["edges"][0]["node"]["animals"]
    assert animals == [{"exhibit": {"name": exhibit.name}}] * 2
    assert "animals.exhibit_id" in animal_select(count_statements.statements)


async def test_callers_wanting_different_columns_share_one_statement(
    gql: GraphQL, services: Services, count_statements: StatementCounter
) -> None:
    await make_zoo(services)
    count_statements.statements.clear()
    data = await gql.data(
        "{ exhibits { edges { node { a: animals { species } b: animals { createdAt } } } } }"
    )
    node = data["exhibits"]["edges"][0]["node"]
    assert len(node["a"]) == len(node["b"]) == 2
    assert all(set(animal) == {"species"} for animal in node["a"])
    columns = animal_select(count_statements.statements)
    assert "animals.species" in columns
    assert "animals.created_at" in columns


@pytest.mark.parametrize(
    "query",
    [
        "query($x: Boolean!) { animals { edges { node { id description @include(if: $x) } } } }",
        "query($x: Boolean!) { animals { edges @include(if: $x) { node { id description } } } }",
        "query($x: Boolean!) { animals { edges { node { id ...D } } } }"
        " fragment D on Animal { description @include(if: $x) }",
        "query($x: Boolean!) { animals { ... on AnimalConnection { edges { node { id"
        " ... on Animal @include(if: $x) { description } } } } } }",
    ],
)
async def test_a_page_reads_what_a_directive_may_select(
    gql: GraphQL, services: Services, query: str
) -> None:
    """The page's columns come from the document alone, shared by requests whose
    variables differ: a field under a directive is read whether or not it applies."""
    await make_zoo(services)
    plain = await gql.data("{ animals { edges { node { id description } } } }")
    assert await gql.data(query, {"x": True}) == plain
    skipped = await gql.data(query, {"x": False})
    assert "description" not in str(skipped)
