"""Exact statement counts of the writes, as the reads have them: a create is one INSERT
(the exhibit's check folded in), and the login's lookup the first time this process
sees the token (``auth.session_cache``); and the change log's row, written with the
commit, one statement (on PostgreSQL, it also announces the change with ``pg_notify``)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.accounts import Account
from tests.support.clients import GraphQL, StatementCounter
from tests.support.factories import animal, exhibit
from zoo.domains import Services

CREATE = """mutation($i: CreateAnimalInput!) { createAnimal(input: $i) { id name species } }"""
UPDATE = """mutation($id: Int!, $i: UpdateAnimalInput!) {
  updateAnimal(id: $id, input: $i) { id name exhibit { id } } }"""
DELETE = "mutation($id: Int!) { deleteAnimal(id: $id) { id } }"


def logged(backend: str) -> int:
    """The change log's statements (``zoo.events.change_log``): one on either database."""
    return 1


async def run(
    gql: GraphQL, counter: StatementCounter, query: str, token: str, **variables: Any
) -> tuple[dict[str, Any], list[str]]:
    counter.statements.clear()
    counter.estimates.clear()
    data = await gql.data(query, variables, token=token)
    return data, list(counter.statements)


@pytest.mark.parametrize("with_exhibit", [True, False])
async def test_a_create_is_the_login_and_one_insert(
    gql: GraphQL,
    user: Account,
    services: Services,
    count_statements: StatementCounter,
    backend: str,
    with_exhibit: bool,
) -> None:
    home = await exhibit(services)
    given = {"name": "Counted", "species": "Lion"}
    if with_exhibit:
        given["exhibitId"] = home.id
    for login in (1, 0):  # the second after a change the cost estimate heard of
        data, statements = await run(gql, count_statements, CREATE, user.token, i=given)
        assert data["createAnimal"]["name"] == "Counted"
        assert len(statements) == login + 1 + logged(backend), statements
        assert statements[login].lstrip().upper().startswith("INSERT"), statements
        # An answer without a list the data sizes reads no list sizes for its estimate.
        assert count_statements.estimates == []


async def test_an_update_and_a_delete(
    gql: GraphQL,
    admin: Account,
    services: Services,
    count_statements: StatementCounter,
    backend: str,
) -> None:
    home, other = await exhibit(services), await exhibit(services)
    row = await animal(services, exhibit_id=home.id)
    await gql.data("{ me { id } }", token=admin.token)  # the login, read and kept
    data, statements = await run(
        gql,
        count_statements,
        UPDATE,
        admin.token,
        id=row.id,
        i={"name": "Moved", "exhibitId": other.id},
    )
    assert data["updateAnimal"]["exhibit"] == {"id": other.id}
    # The row (locked), the new exhibit (share-locked), the UPDATE, and the answer's
    # exhibit through its loader.
    assert len(statements) == 4 + logged(backend), statements
    data, statements = await run(gql, count_statements, DELETE, admin.token, id=row.id)
    assert data["deleteAnimal"] == {"id": row.id}
    assert len(statements) == 2 + logged(backend), statements
