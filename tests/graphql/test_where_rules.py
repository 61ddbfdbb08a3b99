"""The ``where`` argument's rules: gated fields, bounds, nulls, and ``filter`` beside it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import factories
from tests.support.accounts import Account
from tests.support.clients import GraphQL, StatementCounter
from zoo.core.roles import Role
from zoo.core.where import MAX_CONDITIONS, MAX_DEPTH, MAX_VALUES
from zoo.domains import Services

ANIMALS = (
    "query($w: AnimalWhere) { animals(first: 100, where: $w)"
    " { totalCount edges { node { name } } } }"
)
STAFF = "query($w: StaffMemberWhere) { staff(first: 100, where: $w) { edges { node { name } } } }"
EXHIBITS = "query($w: ExhibitWhere) { exhibits(first: 100, where: $w) { edges { node { name } } } }"


async def names(gql: GraphQL, query: str, where: Any, token: str | None = None) -> list[str]:
    data = await gql.data(query, {"w": where}, token)
    (page,) = data.values()
    return [edge["node"]["name"] for edge in page["edges"]]


@pytest.fixture
async def zoo(services: Services) -> dict[str, int]:
    savanna = await factories.exhibit(services, name="Savanna")
    await factories.animal(services, name="Leo", species="Lion", exhibit_id=savanna.id)
    await factories.animal(services, name="Mystery", species=None, exhibit_id=savanna.id)
    await factories.animal(services, name="Stripes", species="Zebra")
    await factories.staff_member(
        services,
        name="Ada",
        email="ada@example.com",
        notes="Allergic to cats",
        exhibit_id=savanna.id,
    )
    await factories.staff_member(services, name="Bo", email=None)
    return {"savanna": savanna.id}


async def test_not_keeps_a_null_that_not_equal_to_leaves_out(gql: GraphQL, zoo: Any) -> None:
    """A comparison is false on a null; ``not`` negates it, so the unknown species stays."""
    assert await names(gql, ANIMALS, {"not": {"species": {"equalTo": "Lion"}}}) == [
        "Mystery",
        "Stripes",
    ]
    assert await names(gql, ANIMALS, {"species": {"notEqualTo": "Lion"}}) == ["Stripes"]
    assert await names(gql, ANIMALS, {"species": {"isNull": True}}) == ["Mystery"]
    assert await names(gql, ANIMALS, {"or": []}) == []
    assert await names(gql, ANIMALS, {"and": []}) == ["Leo", "Mystery", "Stripes"]


async def test_filter_and_where_both_apply(gql: GraphQL, zoo: Any) -> None:
    query = (
        'query($w: AnimalWhere) { animals(filter: {nameContains: "e"}, where: $w)'
        " { totalCount edges { node { name } } } }"
    )
    data = await gql.data(query, {"w": {"exhibit": {"name": {"equalTo": "Savanna"}}}})
    assert [e["node"]["name"] for e in data["animals"]["edges"]] == ["Leo", "Mystery"]
    assert data["animals"]["totalCount"] == 2


async def test_relations_see_live_rows_only(
    gql: GraphQL, services: Services, zoo: dict[str, int], admin: Account
) -> None:
    lions = {"animals": {"some": {"species": {"equalTo": "Lion"}}}}
    assert await names(gql, EXHIBITS, lions) == ["Savanna"]
    leo = await gql.data('{ animals(filter: {nameContains: "Leo"}) { edges { node { id } } } }')
    leo_id = leo["animals"]["edges"][0]["node"]["id"]
    await gql.data(f"mutation {{ deleteAnimal(id: {leo_id}) {{ id }} }}", token=admin.token)
    assert await names(gql, EXHIBITS, lions) == []
    assert await names(gql, EXHIBITS, {"animals": {"none": {"species": {"equalTo": "Lion"}}}}) == [
        "Savanna"
    ]


@pytest.mark.parametrize(
    ("query", "where"),
    [
        (STAFF, {"email": {"isNull": False}}),
        (STAFF, {"or": [{"name": {"equalTo": "Ada"}}, {"notes": {"includesInsensitive": "cat"}}]}),
        (EXHIBITS, {"staff": {"some": {"phone": {"startsWithInsensitive": "+1"}}}}),
        (ANIMALS, {"exhibit": {"staff": {"none": {"not": {"email": {"equalTo": "a"}}}}}}),
    ],
)
@pytest.mark.parametrize("role", [None, Role.VISITOR, Role.KEEPER])
async def test_a_field_the_caller_may_not_read_may_not_filter_either(
    gql: GraphQL, make_account: Any, zoo: Any, query: str, where: Any, role: Role | None
) -> None:
    """Else a filter is an oracle: "is Ada's note about cats?" answered by a count."""
    token = None if role is None else (await make_account(role=role)).token
    if role is Role.KEEPER:
        await gql.data(query, {"w": where}, token)
        return
    body = await gql(query, {"w": where}, token, expect_errors=True)
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert "may not filter by" in error["message"]


def nested(depth: int) -> dict[str, Any]:
    where: dict[str, Any] = {"name": {"equalTo": "Leo"}}
    for _ in range(depth - 1):
        where = {"and": [where]}
    return where


async def test_bounds_are_bad_user_input_naming_the_field(gql: GraphQL, zoo: Any) -> None:
    assert await names(gql, ANIMALS, nested(MAX_DEPTH)) == ["Leo"]
    error = await gql.error(ANIMALS, {"w": nested(MAX_DEPTH + 1)})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["fields"] == {"where": f"nests deeper than {MAX_DEPTH} levels"}

    many = {"or": [{"id": {"equalTo": n}} for n in range(MAX_CONDITIONS)]}
    assert await names(gql, ANIMALS, many) != []
    many["or"].append({"id": {"equalTo": 0}})
    error = await gql.error(ANIMALS, {"w": many})
    assert error["extensions"]["fields"] == {"where": f"has more than {MAX_CONDITIONS} conditions"}

    values = [f"name {n}" for n in range(MAX_VALUES + 1)]
    error = await gql.error(ANIMALS, {"w": {"and": [{"name": {"in": values}}]}})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert list(error["extensions"]["fields"]) == ["where.and.0.name.in"]

    error = await gql.error(ANIMALS, {"w": {"name": {"includesInsensitive": "x" * 2001}}})
    assert list(error["extensions"]["fields"]) == ["where.name.includesInsensitive"]

    error = await gql.error(ANIMALS, {"w": {"createdAt": {"lessThan": "2026-01-01T00:00:00"}}})
    assert error["extensions"]["fields"] == {
        "where.createdAt.lessThan": "must include a UTC offset"
    }


async def test_a_null_operand_is_refused_not_dropped(gql: GraphQL, zoo: Any) -> None:
    """Dropping it would widen the list without a word (the peer refuses it too); in the
    document or in a variable, the same answer."""
    literal = await gql(
        "{ animals(where: {species: {equalTo: null}}) { totalCount } }", expect_errors=True
    )
    variable = await gql(ANIMALS, {"w": {"species": {"equalTo": None}}}, expect_errors=True)
    for body in (literal, variable):
        assert not body.get("data"), body
        [error] = body["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", error
        assert error["extensions"]["fields"] == {
            "where.species.equalTo": "cannot be null: leave it out instead"
        }


async def test_list_arguments_sent_as_null_are_left_out(gql: GraphQL, zoo: Any) -> None:
    query = (
        "query($w: AnimalWhere, $s: [AnimalSort!], $l: Int, $b: String, $a: String)"
        " { animals(where: $w, sort: $s, last: $l, before: $b, after: $a) { totalCount } }"
    )
    variables = {"w": None, "s": None, "l": None, "b": None, "a": None}
    assert (await gql.data(query, variables))["animals"]["totalCount"] == 3


async def test_a_nested_where_is_one_statement_per_distinct_where(
    gql: GraphQL, services: Services, zoo: Any, count_statements: StatementCounter
) -> None:
    for _ in range(3):
        await factories.exhibit(services)
    query = """{ exhibits(first: 100) { edges { node {
        lions: animals(where: {species: {equalTo: "Lion"}}) { name }
        again: animals(where: {species: {equalTo: "Lion"}}) { name }
        unknown: animals(where: {species: {isNull: true}}) { name } } } } }"""
    count_statements.statements.clear()
    data = await gql.data(query)
    savanna = data["exhibits"]["edges"][0]["node"]
    assert savanna == {
        "lions": [{"name": "Leo"}],
        "again": [{"name": "Leo"}],
        "unknown": [{"name": "Mystery"}],
    }
    # The page of exhibits, then one statement for each distinct where.
    assert count_statements.count == 3, count_statements.statements


async def test_a_nested_where_may_not_filter_by_a_hidden_field(gql: GraphQL, zoo: Any) -> None:
    error = await gql.error(
        "{ exhibits { edges { node { staff(where: {notes: {isNull: false}}) { name } } } } }"
    )
    assert error["extensions"]["code"] == "FORBIDDEN"
