"""Odd input is a typed BAD_USER_INPUT on both databases, before any SQL: never a 500, never
"database unavailable", never stored on one database and refused by the other."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from tests.support.accounts import Account
from tests.support.clients import GraphQL

CREATE = "mutation($i: CreateExhibitInput!) { createExhibit(input: $i) { id } }"


def cursor(*parts: Any, raw: str | None = None) -> str:
    text = raw if raw is not None else json.dumps(list(parts))
    return base64.urlsafe_b64encode(text.encode("utf-8", "surrogatepass")).decode().rstrip("=")


@pytest.mark.parametrize(("field", "value"), [("name", "a\u0000b"), ("description", "x\u0000")])
async def test_nul_and_lone_surrogates_are_refused_alike(
    client: httpx.AsyncClient, gql: GraphQL, user: Account, field: str, value: str
) -> None:
    payload = {"name": "Fine", field: value}
    body = json.dumps({"query": CREATE, "variables": {"i": payload}}, ensure_ascii=True)
    response = await client.post(
        "/graphql",
        content=body,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {user.token}"},
    )
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert field in error["extensions"]["fields"]
    assert (await gql.data("{ exhibits { totalCount } }"))["exhibits"]["totalCount"] == 0


async def test_lone_surrogates_are_refused_before_anything_runs(
    client: httpx.AsyncClient, gql: GraphQL, user: Account
) -> None:
    """In a JSON variable the body is not valid JSON (RFC 8259: orjson refuses it); in the
    query text GraphQL's own grammar refuses it. Either way a coded 4xx, nothing stored."""
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {user.token}"}
    as_variable = json.dumps({"query": CREATE, "variables": {"i": {"name": "a\ud800"}}})
    in_the_query = json.dumps(
        {"query": 'mutation { createExhibit(input: {name: "a\\ud800"}) { id } }'}
    )
    for body in (as_variable, in_the_query):
        response = await client.post("/graphql", content=body, headers=headers)
        code = response.json()["errors"][0]["extensions"]["code"]
        assert code in {"BAD_REQUEST", "GRAPHQL_PARSE_FAILED", "BAD_USER_INPUT"}, response.text
    assert (await gql.data("{ exhibits { totalCount } }"))["exhibits"]["totalCount"] == 0


@pytest.mark.parametrize("value", ["a\u0000", "x" * 50_000])
async def test_odd_filters_are_bad_input(gql: GraphQL, value: str) -> None:
    query = "query($f: ExhibitFilter) { exhibits(filter: $f) { totalCount } }"
    error = await gql.error(query, {"f": {"nameContains": value}})
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error


@pytest.mark.parametrize(
    ("order", "after"),
    [
        ("ID", cursor("id", None, 2**63)),
        ("ID", cursor("id", None, 2**31)),
        ("ID", cursor("id", None, -1)),
        ("CREATED_AT", cursor("created_at", "0001-01-01T00:00:00+01:00", 1)),
        ("CREATED_AT", cursor("created_at", "9999-12-31T23:59:59-01:00", 1)),
        ("NAME", cursor("name", "a\u0000b", 1)),
        ("NAME", cursor(raw='["name", "\\ud800", 1]')),
        ("NAME", cursor(raw="[" * 50_000 + "]" * 50_000)),
    ],
)
async def test_malformed_cursors_are_bad_input(gql: GraphQL, order: str, after: str) -> None:
    query = (
        "query($a: String, $o: ExhibitOrderField!) {"
        " exhibits(after: $a, orderBy: {field: $o}) { totalCount } }"
    )
    error = await gql.error(query, {"a": after, "o": order})
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert error["extensions"]["fields"] == {"after": "is not a valid cursor"}
