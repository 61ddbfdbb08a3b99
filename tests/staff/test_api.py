"""Staff over POST /graphql: every contract field, mutation and error code."""

from __future__ import annotations

from tests.support import factories
from tests.support.accounts import Account
from tests.support.clients import GraphQL
from zoo.domains import Services

FIELDS = "id name jobTitle email phone notes exhibitId"
CREATE = (
    "mutation($input: CreateStaffMemberInput!) { createStaffMember(input: $input)"
    f" {{ {FIELDS} }} }}"
)
UPDATE = (
    "mutation($id: Int!, $input: UpdateStaffMemberInput!)"
    f" {{ updateStaffMember(id: $id, input: $input) {{ {FIELDS} }} }}"
)


async def test_staff_member_by_id(gql: GraphQL, services: Services, user: Account) -> None:
    """As a CURATOR, who may read the contact fields (tests/auth/test_roles.py: who not)."""
    exhibit = await factories.exhibit(services, name="Reptiles")
    member = await factories.staff_member(
        services,
        name="Jane Doe",
        job_title="Zookeeper",
        email="jane@example.com",
        phone="+1 555",
        notes="Bird whisperer",
        exhibit_id=exhibit.id,
    )
    data = await gql.data(
        f"query($id: Int!) {{ staffMember(id: $id) {{ {FIELDS} exhibit {{ name }}"
        " createdAt updatedAt deletedAt } }",
        {"id": member.id},
        token=user.token,
    )
    assert data["staffMember"] == {
        "id": member.id,
        "name": "Jane Doe",
        "jobTitle": "Zookeeper",
        "email": "jane@example.com",
        "phone": "+1 555",
        "notes": "Bird whisperer",
        "exhibitId": exhibit.id,
        "exhibit": {"name": "Reptiles"},
        "createdAt": member.created_at.isoformat(),
        "updatedAt": member.updated_at.isoformat(),
        "deletedAt": None,
    }
    missing = await gql.data("{ staffMember(id: 987654) { id } }")
    assert missing == {"staffMember": None}


async def test_staff_filters(gql: GraphQL, services: Services) -> None:
    exhibit = await factories.exhibit(services)
    match = await factories.staff_member(
        services, name="Ann Keeper", job_title="Vet", exhibit_id=exhibit.id
    )
    await factories.staff_member(services, name="Ann Other", job_title="Vet")
    await factories.staff_member(
        services, name="Ann Third", job_title="Guide", exhibit_id=exhibit.id
    )
    data = await gql.data(
        'query($e: Int) { staff(filter: {nameContains: "ann", jobTitle: "Vet", exhibitId: $e})'
        " { totalCount edges { node { id } } } }",
        {"e": exhibit.id},
    )
    assert data["staff"] == {"totalCount": 1, "edges": [{"node": {"id": match.id}}]}


async def test_create_and_update_staff_member(gql: GraphQL, user: Account) -> None:
    created = (
        await gql.data(
            CREATE,
            {"input": {"name": "Sam", "email": " sam@example.com ", "jobTitle": "Guide"}},
            user.token,
        )
    )["createStaffMember"]
    assert created["email"] == "sam@example.com"
    updated = (
        await gql.data(
            UPDATE, {"id": created["id"], "input": {"email": None, "notes": "New"}}, user.token
        )
    )["updateStaffMember"]
    assert {k: updated[k] for k in ("name", "email", "jobTitle", "notes")} == {
        "name": "Sam",
        "email": None,
        "jobTitle": "Guide",
        "notes": "New",
    }


async def test_bad_email_and_exhibit_are_field_errors(
    gql: GraphQL, services: Services, user: Account
) -> None:
    bad_email = await gql.error(CREATE, {"input": {"name": "Sam", "email": "nope"}}, user.token)
    assert bad_email["extensions"]["code"] == "BAD_USER_INPUT"
    assert list(bad_email["extensions"]["fields"]) == ["email"]
    bad_exhibit = await gql.error(CREATE, {"input": {"name": "Sam", "exhibitId": 4242}}, user.token)
    assert bad_exhibit["extensions"]["fields"] == {"exhibitId": "exhibit 4242 does not exist"}
    assert await gql.data("{ staff { totalCount } }") == {"staff": {"totalCount": 0}}


async def test_delete_staff_member(
    gql: GraphQL, services: Services, user: Account, admin: Account
) -> None:
    member = await factories.staff_member(services)
    query = "mutation($id: Int!) { deleteStaffMember(id: $id) { id } }"
    anonymous = await gql.error(query, {"id": member.id})
    assert anonymous["extensions"]["code"] == "UNAUTHENTICATED"
    forbidden = await gql.error(query, {"id": member.id}, user.token)
    assert forbidden["extensions"]["code"] == "FORBIDDEN"
    assert (await gql.data(query, {"id": member.id}, admin.token)) == {
        "deleteStaffMember": {"id": member.id}
    }
    again = await gql.error(query, {"id": member.id}, admin.token)
    assert again["extensions"]["code"] == "NOT_FOUND"
    assert await gql.data("{ staff { totalCount } }") == {"staff": {"totalCount": 0}}
