"""Keyset pagination over GraphQL: every ordering, both directions, every entity."""

from __future__ import annotations

import base64
import itertools
import json
from datetime import timedelta
from typing import Any

import pytest

from tests.support import factories
from tests.support.clients import GraphQL
from zoo.animals.models import Animal
from zoo.core.entity import utcnow
from zoo.domains import Services
from zoo.exhibits.models import Exhibit
from zoo.staff.models import StaffMember

ORDERINGS = {
    "exhibits": ["ID", "NAME", "CREATED_AT"],
    "animals": ["ID", "NAME", "SPECIES", "CREATED_AT"],
    "staff": ["ID", "NAME", "CREATED_AT"],
}
MAKERS = {
    "exhibits": factories.exhibit,
    "animals": factories.animal,
    "staff": factories.staff_member,
}
MODELS = {"exhibits": Exhibit, "animals": Animal, "staff": StaffMember}
SORT_ATTR = {"ID": "id", "NAME": "name", "SPECIES": "species", "CREATED_AT": "created_at"}
CASES = [
    (entity, field, direction)
    for entity, fields in ORDERINGS.items()
    for field in fields
    for direction in ("ASC", "DESC")
]


async def make_rows(services: Services, entity: str, count: int = 25) -> list[Any]:
    """Rows with duplicate names, NULL species and equal timestamps, to stress the tie-breaks."""
    base = utcnow()
    rows = []
    species = itertools.cycle(["Felis", None, "Canis", "Aves", None])
    for index in range(count):
        values: dict[str, Any] = {"name": f"Name {index % 7:02d}"}
        if entity == "animals":
            values["species"] = next(species)
        row = await MAKERS[entity](services, **values)
        rows.append(row)
    # Give some rows identical created_at values.
    model = MODELS[entity]
    async with services.database.transaction() as session:
        for index, row in enumerate(rows):
            stored = await session.get(model, row.id)
            stored.created_at = base - timedelta(seconds=index // 3)
            rows[index] = row._replace(created_at=stored.created_at)
    return rows


def expected_order(rows: list[Any], field: str, direction: str) -> list[int]:
    attr = SORT_ATTR[field]
    present = [r for r in rows if getattr(r, attr) is not None]
    missing = [r for r in rows if getattr(r, attr) is None]
    present.sort(key=lambda r: (getattr(r, attr), r.id), reverse=direction == "DESC")
    missing.sort(key=lambda r: r.id, reverse=direction == "DESC")
    ordered = present + missing if direction == "ASC" else missing + present
    return [r.id for r in ordered]


async def walk(gql: GraphQL, entity: str, field: str, direction: str, size: int) -> list[dict]:
    query = (
        f"query($after: String, $first: Int) {{ {entity}(first: $first, after: $after,"
        f" orderBy: {{field: {field}, direction: {direction}}}) {{ totalCount"
        " edges { cursor node { id } }"
        " pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"
    )
    pages, after = [], None
    while True:
        page = (await gql.data(query, {"after": after, "first": size}))[entity]
        pages.append(page)
        if not page["pageInfo"]["hasNextPage"]:
            return pages
        after = page["pageInfo"]["endCursor"]
        assert len(pages) < 10, "pagination does not terminate"


@pytest.mark.parametrize(("entity", "field", "direction"), CASES)
async def test_walk_in_pages_of_ten(
    gql: GraphQL, services: Services, entity: str, field: str, direction: str
) -> None:
    rows = await make_rows(services, entity)
    pages = await walk(gql, entity, field, direction, 10)
    assert [len(p["edges"]) for p in pages] == [10, 10, 5]
    assert [p["totalCount"] for p in pages] == [25, 25, 25]
    assert [p["pageInfo"]["hasPreviousPage"] for p in pages] == [False, True, True]
    assert [p["pageInfo"]["hasNextPage"] for p in pages] == [True, True, False]
    for page in pages:
        assert page["pageInfo"]["startCursor"] == page["edges"][0]["cursor"]
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
    ids = [edge["node"]["id"] for page in pages for edge in page["edges"]]
    assert ids == expected_order(rows, field, direction)


async def test_row_inserted_mid_walk_causes_no_duplicate(gql: GraphQL, services: Services) -> None:
    await make_rows(services, "animals", 12)
    query = (
        "query($after: String) { animals(first: 5, after: $after, orderBy: {field: NAME})"
        " { edges { node { id name } } pageInfo { endCursor hasNextPage } } }"
    )
    first = (await gql.data(query))["animals"]
    await factories.animal(services, name="AAA inserted before the cursor")
    seen = [e["node"]["id"] for e in first["edges"]]
    after = first["pageInfo"]["endCursor"]
    while after:
        page = (await gql.data(query, {"after": after}))["animals"]
        seen += [e["node"]["id"] for e in page["edges"]]
        after = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None
    assert len(seen) == len(set(seen)) == 12


async def test_first_zero_and_bounds(gql: GraphQL, services: Services) -> None:
    await factories.exhibit(services)
    empty = await gql.data(
        "{ exhibits(first: 0) { edges { cursor } totalCount pageInfo { hasNextPage endCursor } } }"
    )
    assert empty["exhibits"] == {
        "edges": [],
        "totalCount": 1,
        "pageInfo": {"hasNextPage": True, "endCursor": None},
    }
    hundred = await gql.data("{ animals(first: 100) { edges { cursor } } }")
    assert hundred == {"animals": {"edges": []}}
    for bad in (-1, 101, 1_000_000_000):
        error = await gql.error("query($n: Int) { staff(first: $n) { totalCount } }", {"n": bad})
        assert error["extensions"] == {
            "code": "BAD_USER_INPUT",
            "fields": {"first": "must be between 0 and 100"},
        }


def _cursor(payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64 at all!",
        "",
        _cursor({"a": 1}),
        _cursor(["id", 1, "one"]),
        _cursor(["created_at", "yesterday", 1]),
        _cursor(["created_at", "2026-01-01T00:00:00", 1]),
        _cursor(["name", 5, 1]),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
async def test_malformed_cursor_is_bad_user_input(gql: GraphQL, cursor: str) -> None:
    orderings = {
        "id": "ID",
        "created_at": "CREATED_AT",
        "name": "NAME",
    }
    field = next((v for k, v in orderings.items() if k in cursor), "CREATED_AT")
    error = await gql.error(
        f"query($c: String) {{ animals(after: $c, orderBy: {{field: {field}}}) {{ totalCount }} }}",
        {"c": cursor},
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert list(error["extensions"]["fields"]) == ["after"]


async def test_cursor_from_another_ordering_is_refused(gql: GraphQL, services: Services) -> None:
    await factories.animal(services)
    await factories.animal(services)
    page = await gql.data("{ animals(first: 1) { pageInfo { endCursor } } }")
    error = await gql.error(
        "query($c: String) { animals(after: $c, orderBy: {field: NAME}) { totalCount } }",
        {"c": page["animals"]["pageInfo"]["endCursor"]},
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    "edges",
    [
        "edges { node { id } cursor }",
        "edges { node { id } ... on AnimalEdge { at: cursor } }",
        "edges { node { id } ...Position }",
        "edges { node { id } cursor @include(if: $yes) }",
        "edges @skip(if: false) { node { id } ... @include(if: $yes) { cursor } }",
    ],
)
async def test_cursors_are_given_wherever_the_query_selects_them(
    gql: GraphQL, services: Services, edges: str
) -> None:
    """Cursors are encoded only when an edge's cursor is selected: through fragments,
    aliases and directives too, with the document's variables either way."""
    await make_rows(services, "animals", 5)
    fragment = " fragment Position on AnimalEdge { cursor }" if "Position" in edges else ""
    conditional = "$yes" in edges
    variables = "($yes: Boolean!)" if conditional else ""
    query = f"query{variables} {{ animals(orderBy: {{field: NAME}}) {{ {edges} }} }}"
    reference = await gql.data(
        "{ animals(orderBy: {field: NAME}) { edges { node { id } cursor }"
        " pageInfo { startCursor endCursor } } }"
    )
    cursors = [edge["cursor"] for edge in reference["animals"]["edges"]]
    assert reference["animals"]["pageInfo"]["endCursor"] == cursors[-1]
    for yes in (False, True):
        page = (await gql.data(query + fragment, {"yes": yes} if conditional else {}))["animals"]
        given = [e.get("cursor", e.get("at")) for e in page["edges"]]
        assert given == (cursors if yes or not conditional else [None] * 5)
    without = await gql.data(
        "{ animals(orderBy: {field: NAME}) { edges { node { id } }"
        " pageInfo { startCursor endCursor } } }"
    )
    assert without["animals"]["pageInfo"] == reference["animals"]["pageInfo"]
