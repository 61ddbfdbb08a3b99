"""Summaries: one statement per group list however often it is asked, and their bounds."""

from __future__ import annotations

import pytest

from tests.support import factories
from tests.support.accounts import Account
from tests.support.clients import GraphQL, StatementCounter
from zoo.domains import Services


@pytest.fixture
async def zoo(services: Services) -> None:
    north = await factories.exhibit(services, location="North")
    await factories.exhibit(services, location=None)
    for species in ["Lion", "Lion", None, "Zebra"]:
        await factories.animal(services, species=species, exhibit_id=north.id)
    await factories.animal(services, species="Lion")
    await factories.staff_member(services, job_title="Keeper", exhibit_id=north.id)


async def test_each_group_list_is_one_statement_however_often_asked(
    gql: GraphQL, zoo: None, count_statements: StatementCounter
) -> None:
    query = """{
      a: animalsSummary { count bySpecies { species count } }
      b: animalsSummary { count bySpecies { species count } byExhibit { exhibit { location } count }
                          createdPerMonth { month count } }
      c: animalsSummary(where: {species: {equalTo: "Lion"}}) { count }
    }"""
    data = await gql.data(query)
    assert data["a"] == {
        "count": 5,
        "bySpecies": [
            {"species": "Lion", "count": 3},
            {"species": "Zebra", "count": 1},
            {"species": None, "count": 1},
        ],
    }
    assert data["b"]["byExhibit"] == [
        {"exhibit": {"location": "North"}, "count": 4},
        {"exhibit": None, "count": 1},
    ]
    assert data["c"] == {"count": 3}
    # count, bySpecies, byExhibit (+ its exhibits), createdPerMonth, and c's count.
    assert count_statements.count == 6, count_statements.statements


async def test_every_summary_answers(gql: GraphQL, zoo: None, user: Account) -> None:
    data = await gql.data(
        "{ staffSummary { count byJobTitle { jobTitle count } byExhibit { count } }"
        " exhibitsSummary { count byLocation { location count } } }",
        token=user.token,
    )
    assert data["staffSummary"] == {
        "count": 1,
        "byJobTitle": [{"jobTitle": "Keeper", "count": 1}],
        "byExhibit": [{"count": 1}],
    }
    assert data["exhibitsSummary"] == {
        "count": 2,
        "byLocation": [{"location": "North", "count": 1}, {"location": None, "count": 1}],
    }


@pytest.mark.parametrize("first", [-1, 101])
async def test_group_lists_are_bounded(gql: GraphQL, zoo: None, first: int) -> None:
    error = await gql.error(f"{{ animalsSummary {{ bySpecies(first: {first}) {{ count }} }} }}")
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["fields"] == {"first": "must be between 0 and 100"}


async def test_a_summary_may_not_count_by_a_hidden_field(gql: GraphQL, zoo: None) -> None:
    """Counting staff whose notes mention cats is reading the notes."""
    error = await gql.error(
        '{ staffSummary(where: {notes: {includesInsensitive: "cat"}}) { count } }'
    )
    assert error["extensions"]["code"] == "FORBIDDEN"
