"""Animals over POST /graphql: every contract field, mutation and error code."""

from __future__ import annotations

from tests.support import factories
from tests.support.accounts import Account
from tests.support.clients import GraphQL
from zoo.domains import Services

CREATE = (
    "mutation($input: CreateAnimalInput!) { createAnimal(input: $input)"
    " { id name species description exhibitId exhibit { id name } } }"
)
UPDATE = (
    "mutation($id: Int!, $input: UpdateAnimalInput!) { updateAnimal(id: $id, input: $input)"
    " { id name species description exhibitId } }"
)


async def test_animal_by_id(gql: GraphQL, services: Services) -> None:
    exhibit = await factories.exhibit(services, name="Savanna")
    lion = await factories.animal(
        services, name="Lion", species="Panthera leo", description="Mane", exhibit_id=exhibit.id
    )
    data = await gql.data(
        "query($id: Int!) { animal(id: $id) { id name species description exhibitId"
        " exhibit { id name } createdAt updatedAt deletedAt } }",
        {"id": lion.id},
    )
    assert data["animal"] == {
        "id": lion.id,
        "name": "Lion",
        "species": "Panthera leo",
        "description": "Mane",
        "exhibitId": exhibit.id,
        "exhibit": {"id": exhibit.id, "name": "Savanna"},
        "createdAt": lion.created_at.isoformat(),
        "updatedAt": lion.updated_at.isoformat(),
        "deletedAt": None,
    }


async def test_deleted_animal_vanishes_from_queries_and_nested_fields(
    gql: GraphQL, services: Services
) -> None:
    exhibit = await factories.exhibit(services)
    animal = await factories.animal(services, exhibit_id=exhibit.id)
    await services.animals.delete(animal.id)
    data = await gql.data(
        "query($id: Int!, $e: Int!) { animal(id: $id) { id }"
        " exhibit(id: $e) { animals { id } animalCount } }",
        {"id": animal.id, "e": exhibit.id},
    )
    assert data == {"animal": None, "exhibit": {"animals": [], "animalCount": 0}}


async def test_animals_filters(gql: GraphQL, services: Services) -> None:
    a = await factories.exhibit(services)
    b = await factories.exhibit(services)
    leo = await factories.animal(services, name="Leo", species="Panthera leo", exhibit_id=a.id)
    await factories.animal(services, name="Leona", species="Panthera leo", exhibit_id=b.id)
    await factories.animal(services, name="Tigger", species="Panthera tigris", exhibit_id=a.id)
    data = await gql.data(
        'query($e: Int) { animals(filter: {nameContains: "LEO", species: "Panthera leo",'
        " exhibitId: $e}) { totalCount edges { node { id } } } }",
        {"e": a.id},
    )
    assert data["animals"] == {"totalCount": 1, "edges": [{"node": {"id": leo.id}}]}


async def test_create_animal(gql: GraphQL, services: Services, user: Account) -> None:
    exhibit = await factories.exhibit(services, name="Home")
    created = (
        await gql.data(
            CREATE,
            {"input": {"name": " Rex ", "species": "T. rex ", "exhibitId": exhibit.id}},
            token=user.token,
        )
    )["createAnimal"]
    assert {k: v for k, v in created.items() if k != "id"} == {
        "name": "Rex",
        "species": "T. rex",
        "description": None,
        "exhibitId": exhibit.id,
        "exhibit": {"id": exhibit.id, "name": "Home"},
    }


async def test_update_animal_omitted_unchanged_null_cleared(
    gql: GraphQL, services: Services, user: Account
) -> None:
    exhibit = await factories.exhibit(services)
    animal = await factories.animal(
        services, name="Rex", species="Dino", description="Big", exhibit_id=exhibit.id
    )
    updated = (
        await gql.data(
            UPDATE,
            {"id": animal.id, "input": {"species": None, "exhibitId": None}},
            token=user.token,
        )
    )["updateAnimal"]
    assert updated == {
        "id": animal.id,
        "name": "Rex",
        "species": None,
        "description": "Big",
        "exhibitId": None,
    }
    renamed = (
        await gql.data(UPDATE, {"id": animal.id, "input": {"name": "Rexy"}}, token=user.token)
    )["updateAnimal"]
    assert (renamed["name"], renamed["description"]) == ("Rexy", "Big")


async def test_move_to_missing_or_deleted_exhibit_is_refused(
    gql: GraphQL, services: Services, user: Account
) -> None:
    home = await factories.exhibit(services)
    closed = await factories.exhibit(services)
    await services.exhibits.delete(closed.id)
    animal = await factories.animal(services, exhibit_id=home.id)
    for target in (closed.id, 424242):
        error = await gql.error(
            UPDATE, {"id": animal.id, "input": {"exhibitId": target, "name": "X"}}, user.token
        )
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert list(error["extensions"]["fields"]) == ["exhibitId"]
    stored = await services.animals.get(animal.id)
    assert stored is not None
    assert (stored.exhibit_id, stored.name) == (home.id, animal.name)


async def test_create_animal_refusals_write_nothing(gql: GraphQL, user: Account) -> None:
    error = await gql.error(CREATE, {"input": {"name": "", "exhibitId": 5}}, user.token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "name" in error["extensions"]["fields"]
    anonymous = await gql.error(CREATE, {"input": {"name": "Sneaky"}})
    assert anonymous["extensions"]["code"] == "UNAUTHENTICATED"
    assert await gql.data("{ animals { totalCount } }") == {"animals": {"totalCount": 0}}


async def test_delete_animal(
    gql: GraphQL, services: Services, user: Account, admin: Account
) -> None:
    animal = await factories.animal(services)
    query = "mutation($id: Int!) { deleteAnimal(id: $id) { id deletedAt } }"
    forbidden = await gql.error(query, {"id": animal.id}, user.token)
    assert forbidden["extensions"]["code"] == "FORBIDDEN"
    assert await services.animals.get(animal.id) is not None
    deleted = (await gql.data(query, {"id": animal.id}, admin.token))["deleteAnimal"]
    assert deleted["id"] == animal.id
    assert deleted["deletedAt"] is not None
    again = await gql.error(query, {"id": animal.id}, admin.token)
    assert again["extensions"]["code"] == "NOT_FOUND"
    update = await gql.error(UPDATE, {"id": animal.id, "input": {"name": "Zombie"}}, user.token)
    assert update["extensions"]["code"] == "NOT_FOUND"
