"""Exhibits over POST /graphql: every contract field, mutation and error code."""

from __future__ import annotations

from tests.support import factories
from tests.support.accounts import Account
from tests.support.clients import GraphQL
from zoo.domains import Services

EXHIBIT_FIELDS = "id name description location createdAt updatedAt deletedAt animalCount"


async def test_exhibit_by_id_with_relations(gql: GraphQL, services: Services) -> None:
    exhibit = await factories.exhibit(services, name="Savanna", location="East", description="Hot")
    lion = await factories.animal(services, name="Lion", exhibit_id=exhibit.id)
    gone = await factories.animal(services, name="Gone", exhibit_id=exhibit.id)
    await services.animals.delete(gone.id)
    keeper = await factories.staff_member(services, name="Kim", exhibit_id=exhibit.id)
    data = await gql.data(
        f"query($id: Int!) {{ exhibit(id: $id) {{ {EXHIBIT_FIELDS} animals {{ id name }}"
        " staff { id name } } }",
        {"id": exhibit.id},
    )
    assert data["exhibit"] == {
        "id": exhibit.id,
        "name": "Savanna",
        "description": "Hot",
        "location": "East",
        "createdAt": exhibit.created_at.isoformat(),
        "updatedAt": exhibit.updated_at.isoformat(),
        "deletedAt": None,
        "animalCount": 1,
        "animals": [{"id": lion.id, "name": "Lion"}],
        "staff": [{"id": keeper.id, "name": "Kim"}],
    }


async def test_missing_or_deleted_exhibit_is_null_without_error(
    gql: GraphQL, services: Services
) -> None:
    exhibit = await factories.exhibit(services)
    await services.exhibits.delete(exhibit.id)
    data = await gql.data(
        "query($a: Int!, $b: Int!) { a: exhibit(id: $a) { id } b: exhibit(id: $b) { id } }",
        {"a": exhibit.id, "b": 999_999},
    )
    assert data == {"a": None, "b": None}


async def test_exhibits_filter_by_name_and_location(gql: GraphQL, services: Services) -> None:
    north = await factories.exhibit(services, name="Polar Bears", location="North")
    await factories.exhibit(services, name="Polar Lab", location="South")
    await factories.exhibit(services, name="Desert", location="North")
    data = await gql.data(
        '{ exhibits(filter: {nameContains: "pOLAR", location: "North"}) '
        "{ totalCount edges { node { id } } } }"
    )
    assert data["exhibits"] == {"totalCount": 1, "edges": [{"node": {"id": north.id}}]}


async def test_create_update_delete_exhibit(gql: GraphQL, user: Account, admin: Account) -> None:
    created = (
        await gql.data(
            "mutation($input: CreateExhibitInput!) { createExhibit(input: $input) "
            "{ id name description location } }",
            {"input": {"name": "  Night House ", "description": "Dark", "location": "West"}},
            token=user.token,
        )
    )["createExhibit"]
    assert {k: v for k, v in created.items() if k != "id"} == {
        "name": "Night House",
        "description": "Dark",
        "location": "West",
    }
    updated = (
        await gql.data(
            "mutation($id: Int!) { updateExhibit(id: $id, input: {description: null}) "
            "{ name description location } }",
            {"id": created["id"]},
            token=user.token,
        )
    )["updateExhibit"]
    assert updated == {"name": "Night House", "description": None, "location": "West"}
    deleted = (
        await gql.data(
            "mutation($id: Int!) { deleteExhibit(id: $id) { id deletedAt } }",
            {"id": created["id"]},
            token=admin.token,
        )
    )["deleteExhibit"]
    assert deleted["id"] == created["id"]
    assert deleted["deletedAt"] is not None
    after = await gql.data(
        "query($id: Int!) { exhibit(id: $id) { id } exhibits { totalCount } }",
        {"id": created["id"]},
    )
    assert after == {"exhibit": None, "exhibits": {"totalCount": 0}}


async def test_create_exhibit_validation_reaches_fields(gql: GraphQL, user: Account) -> None:
    error = await gql.error(
        "mutation($input: CreateExhibitInput!) { createExhibit(input: $input) { id } }",
        {"input": {"name": "   ", "location": "x" * 2001}},
        token=user.token,
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert set(error["extensions"]["fields"]) == {"name", "location"}
    assert await gql.data("{ exhibits { totalCount } }") == {"exhibits": {"totalCount": 0}}


async def test_update_exhibit_name_cannot_be_cleared(
    gql: GraphQL, services: Services, user: Account
) -> None:
    exhibit = await factories.exhibit(services, name="Keep")
    error = await gql.error(
        'mutation($id: Int!) { updateExhibit(id: $id, input: {name: null, location: "X"}) { id } }',
        {"id": exhibit.id},
        token=user.token,
    )
    assert error["extensions"] == {
        "code": "BAD_USER_INPUT",
        "fields": {"name": "cannot be cleared"},
    }
    stored = await services.exhibits.get(exhibit.id)
    assert stored is not None
    assert (stored.name, stored.location) == ("Keep", None)


async def test_update_and_delete_unknown_exhibit_is_not_found(
    gql: GraphQL, user: Account, admin: Account
) -> None:
    update = await gql.error(
        'mutation { updateExhibit(id: 424242, input: {name: "X"}) { id } }', token=user.token
    )
    assert update["extensions"]["code"] == "NOT_FOUND"
    delete = await gql.error("mutation { deleteExhibit(id: 424242) { id } }", token=admin.token)
    assert delete["extensions"]["code"] == "NOT_FOUND"
    assert delete["path"] == ["deleteExhibit"]


async def test_delete_exhibit_with_live_animals_is_refused(
    gql: GraphQL, services: Services, admin: Account
) -> None:
    exhibit = await factories.exhibit(services)
    await factories.animal(services, exhibit_id=exhibit.id)
    error = await gql.error(
        "mutation($id: Int!) { deleteExhibit(id: $id) { id } }", {"id": exhibit.id}, admin.token
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert await services.exhibits.get(exhibit.id) is not None


async def test_exhibit_mutations_need_the_right_user(
    gql: GraphQL, services: Services, user: Account
) -> None:
    exhibit = await factories.exhibit(services, name="Stays")
    anonymous = await gql.error('mutation { createExhibit(input: {name: "Nope"}) { id } }')
    assert anonymous["extensions"]["code"] == "UNAUTHENTICATED"
    anonymous_update = await gql.error(
        'mutation($id: Int!) { updateExhibit(id: $id, input: {name: "Nope"}) { id } }',
        {"id": exhibit.id},
    )
    assert anonymous_update["extensions"]["code"] == "UNAUTHENTICATED"
    forbidden = await gql.error(
        "mutation($id: Int!) { deleteExhibit(id: $id) { id } }", {"id": exhibit.id}, user.token
    )
    assert forbidden["extensions"]["code"] == "FORBIDDEN"
    data = await gql.data("{ exhibits { totalCount edges { node { name } } } }")
    assert data["exhibits"] == {"totalCount": 1, "edges": [{"node": {"name": "Stays"}}]}
