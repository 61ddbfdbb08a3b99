"""Generated connection queries answer the same whether a page reads only what its
query reads (its columns, its joined relations, cursors on demand: ``graphql.page_reads``)
or reads everything and lets every field load for itself.

Fields come aliased, inside inline fragments and under ``@include``/``@skip`` on a
variable, each query runs with the variable true and false, and the rows hold what
joins get wrong first: exhibits shared by several rows, a deleted one, none at all.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from tests.support import factories
from tests.support.clients import Http
from zoo.config import Settings
from zoo.core.entity import utcnow
from zoo.domains import Services
from zoo.exhibits.models import Exhibit
from zoo.graphql.fastpath import page_reads

pytestmark = [pytest.mark.fuzz, pytest.mark.slow]

EXAMPLES = int(os.environ.get("ZOO_FUZZ_EXAMPLES", "120")) // 2

NODES = {
    "animals": ("Animal", ["id", "name", "species", "description", "exhibitId", "createdAt"]),
    "staff": ("StaffMember", ["id", "name", "jobTitle", "email", "exhibitId", "updatedAt"]),
}
ORDERS = {
    "animals": ["ID", "NAME", "SPECIES", "CREATED_AT"],
    "staff": ["ID", "NAME", "CREATED_AT"],
}
EXHIBIT = ["id", "name", "location", "description", "createdAt", "animalCount"]


def decorated(names: list[str], type_name: str) -> st.SearchStrategy[str]:
    """One of ``names``, maybe aliased, maybe under a directive, maybe in a fragment."""
    return st.tuples(
        st.sampled_from(names),
        st.sampled_from(["", "my_"]),
        st.sampled_from(["", " @include(if: $x)", " @skip(if: $x)"]),
        st.booleans(),
    ).map(lambda t: _in_fragment(_aliased(t[0], t[1]) + t[2], type_name, t[3]))


def _aliased(name: str, prefix: str) -> str:
    return f"{prefix}{name}: {name}" if prefix else name


def _in_fragment(selection: str, type_name: str, inline: bool) -> str:
    return f"... on {type_name} {{ {selection} }}" if inline else selection


def exhibit_selection() -> st.SearchStrategy[str]:
    return st.tuples(
        st.sampled_from(["", "e: ", "f: "]),
        st.sampled_from(["", " @include(if: $x)", " @skip(if: $x)"]),
        st.lists(st.sampled_from(EXHIBIT), min_size=1, max_size=3, unique=True),
    ).map(lambda t: f"{t[0]}exhibit{t[1]} {{ {' '.join(t[2])} }}")


@st.composite
def connection_queries(draw: st.DrawFn) -> str:
    entity = draw(st.sampled_from(sorted(NODES)))
    type_name, scalars = NODES[entity]
    # Each field's alias is its own (my_name: name), so that no two selections clash.
    fields = draw(st.lists(st.sampled_from(scalars), min_size=1, max_size=4, unique=True))
    node = [draw(decorated([name], type_name)) for name in fields]
    node += draw(st.lists(exhibit_selection(), max_size=2, unique_by=lambda s: s.split(" ")[0]))
    edges = "node { " + " ".join(node) + " }"
    edges += draw(st.sampled_from(["", " cursor", " cursor @include(if: $x)"]))
    order = draw(st.sampled_from(ORDERS[entity]))
    direction = draw(st.sampled_from(["ASC", "DESC"]))
    first = draw(st.sampled_from([1, 3, 10]))
    return (
        f"query($x: Boolean!) {{ {entity}(first: {first}, orderBy: {{field: {order},"
        f" direction: {direction}}}) {{ __typename @include(if: $x) edges {{ {edges} }}"
        " pageInfo { endCursor hasNextPage } } }"
    )


async def make_zoo(services: Services) -> None:
    north = await factories.exhibit(services, location="North", description="Cold")
    south = await factories.exhibit(services, location="South")
    closed = await factories.exhibit(services)
    for index, exhibit_id in enumerate([north.id, north.id, south.id, closed.id, None, north.id]):
        species = None if index % 3 == 0 else "Felis"
        await factories.animal(services, exhibit_id=exhibit_id, species=species)
    for exhibit_id in [closed.id, south.id, None, north.id]:
        await factories.staff_member(services, exhibit_id=exhibit_id, job_title="Keeper")
    # A deleted exhibit still named by rows (written before the rule that forbids it).
    async with services.database.transaction() as session:
        deleted = update(Exhibit).where(Exhibit.id == closed.id).values(deleted_at=utcnow())
        await session.execute(deleted)


@pytest.fixture
def http(settings: Settings) -> Iterator[Http]:
    driver = Http(settings)
    driver.run(make_zoo(driver.app.state.services))
    yield driver
    driver.close()


def answer(http: Http, query: str, x: bool, everything: bool) -> bytes:
    """The response's bytes, reading each page by its query or reading everything."""
    page_reads._shared.entries.clear()
    work_out = page_reads._work_out
    if everything:
        page_reads._work_out = lambda info: page_reads._EVERYTHING  # type: ignore[assignment]
    try:
        headers = {"Authorization": f"Bearer {http.token}", "X-Request-ID": "same"}
        return http.post(json={"query": query, "variables": {"x": x}}, headers=headers).content
    finally:
        page_reads._work_out = work_out
        page_reads._shared.entries.clear()


@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(query=connection_queries())
def test_a_page_read_by_its_query_answers_as_one_read_whole(http: Http, query: str) -> None:
    for x in (False, True):
        read = answer(http, query, x, everything=False)
        assert b'"errors"' not in read, (query, x, read)
        assert read == answer(http, query, x, everything=True), (query, x)
