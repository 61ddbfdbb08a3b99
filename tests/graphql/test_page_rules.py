"""Sorts and pages both ways: the refusals, version 1's cursors, and what the flags cost."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.support import factories
from tests.support.accounts import Account
from tests.support.clients import GraphQL, StatementCounter
from zoo.domains import Services

PAGE = (
    "query($after: String, $s: [AnimalSort!]) {"
    " animals(first: 2, after: $after, sort: $s) { edges { cursor node { name } } } }"
)


@pytest.fixture
async def names(services: Services) -> list[str]:
    made = ["Ant", "Bee", "Cat", "Dog", "Eel"]
    for name in made:
        await factories.animal(services, name=name, species="Insect" if name < "C" else None)
    return made


async def first_cursor(gql: GraphQL, sort: Any) -> str:
    data = await gql.data(PAGE, {"s": sort})
    return str(data["animals"]["edges"][0]["cursor"])


@pytest.mark.parametrize(
    "other",
    [
        [{"field": "NAME", "direction": "DESC"}],  # the same key, the other direction
        [{"field": "SPECIES"}, {"field": "NAME"}],  # another sort
        [{"field": "NAME"}, {"field": "SPECIES"}],  # one key more
    ],
)
async def test_a_cursor_of_another_sort_or_direction_is_refused(
    gql: GraphQL, names: list[str], other: Any
) -> None:
    cursor = await first_cursor(gql, [{"field": "NAME"}])
    error = await gql.error(PAGE, {"s": other, "after": cursor})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["fields"] == {
        "after": "was issued for a different sort or direction"
    }


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("{ animals(first: 2, last: 2) { totalCount } }", "first", "cannot be given with last"),
        (
            "{ animals(orderBy: {field: NAME}, sort: [{field: NAME}]) { totalCount } }",
            "sort",
            "cannot be given with orderBy",
        ),
        (
            "{ animals(sort: [{field: NAME}, {field: NAME, direction: DESC}]) { totalCount } }",
            "sort",
            "NAME is given twice",
        ),
        ("{ animals(last: 101) { totalCount } }", "last", "must be between 0 and 100"),
        ('{ animals(last: 1, before: "bm90") { totalCount } }', "before", "is not a valid cursor"),
    ],
)
async def test_arguments_that_contradict_are_bad_user_input(
    gql: GraphQL, query: str, field: str, message: str
) -> None:
    error = await gql.error(query)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["fields"] == {field: message}


async def test_a_cursor_from_version_1_still_resumes(gql: GraphQL, names: list[str]) -> None:
    """Cursors held by clients across the upgrade: ``[ordering, value, id]``."""
    data = await gql.data('{ animals(filter: {nameContains: "Bee"}) { edges { node { id } } } }')
    bee = data["animals"]["edges"][0]["node"]["id"]
    old = base64.urlsafe_b64encode(json.dumps(["name", "Bee", bee]).encode()).decode()
    query = (
        "query($c: String) { animals(orderBy: {field: NAME}, after: $c)"
        " { edges { node { name } } } }"
    )
    data = await gql.data(query, {"c": old.rstrip("=")})
    assert [e["node"]["name"] for e in data["animals"]["edges"]] == ["Cat", "Dog", "Eel"]


async def test_has_previous_page_is_exact_after_a_cursor(
    gql: GraphQL, names: list[str], admin: Account
) -> None:
    """Relay lets a server answer true for any ``after``; here it says whether rows
    really precede (the cursor's own row counts, if still there)."""
    query = (
        "query($c: String) { animals(first: 2, after: $c, sort: [{field: NAME}])"
        " { edges { node { id name } } pageInfo { hasPreviousPage hasNextPage } } }"
    )
    first = await gql.data(query)
    assert first["animals"]["pageInfo"] == {"hasPreviousPage": False, "hasNextPage": True}
    ant = first["animals"]["edges"][0]["node"]["id"]
    cursor = await first_cursor(gql, [{"field": "NAME"}])
    after_ant = await gql.data(query, {"c": cursor})
    assert after_ant["animals"]["pageInfo"]["hasPreviousPage"] is True
    await gql.data(f"mutation {{ deleteAnimal(id: {ant}) {{ id }} }}", token=admin.token)
    after_ant = await gql.data(query, {"c": cursor})
    assert [e["node"]["name"] for e in after_ant["animals"]["edges"]] == ["Bee", "Cat"]
    assert after_ant["animals"]["pageInfo"]["hasPreviousPage"] is False


async def test_the_far_side_costs_a_statement_only_when_asked(
    gql: GraphQL, names: list[str], count_statements: StatementCounter
) -> None:
    cursor = await first_cursor(gql, [{"field": "NAME"}])
    base = "query($c: String) {{ animals(last: 2, before: $c, sort: [{{field: NAME}}]) {{ {} }} }}"
    for selection, statements in [
        ("edges { node { name } }", 1),
        ("edges { node { name } } pageInfo { hasPreviousPage }", 1),
        ("edges { node { name } } pageInfo { hasNextPage hasPreviousPage }", 2),
    ]:
        count_statements.statements.clear()
        await gql.data(base.format(selection), {"c": cursor})
        assert count_statements.count == statements, (selection, count_statements.statements)
