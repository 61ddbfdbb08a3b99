"""Undoing a delete: the row is live again everywhere, the rules on what it names hold,
and the restore is a change like any other (logged, in history, announced)."""

from __future__ import annotations

from tests.support import factories
from tests.support.accounts import Account
from tests.support.clients import GraphQL
from zoo.domains import Services

DELETE_ANIMAL = "mutation($id: Int!) { deleteAnimal(id: $id) { id } }"
DELETE_EXHIBIT = "mutation($id: Int!) { deleteExhibit(id: $id) { id } }"
RESTORE_ANIMAL = (
    "mutation($id: Int!) { restoreAnimal(id: $id) { id name deletedAt exhibit { id } } }"
)
RESTORE_EXHIBIT = "mutation($id: Int!) { restoreExhibit(id: $id) { id deletedAt } }"
RESTORE_STAFF = "mutation($id: Int!) { restoreStaffMember(id: $id) { id deletedAt } }"
SEEN = """query($id: Int!, $e: Int!) {
  animal(id: $id) { id }
  exhibit(id: $e) { animals { id } animalCount }
  animals(where: {id: {equalTo: $id}}) { totalCount }
  animalsSummary { count }
}"""


async def test_an_animal_comes_back_once_its_exhibit_has(
    gql: GraphQL, admin: Account, services: Services
) -> None:
    home = await factories.exhibit(services)
    leo = await factories.animal(services, name="Leo", exhibit_id=home.id)
    await gql.data(DELETE_ANIMAL, {"id": leo.id}, token=admin.token)
    await gql.data(DELETE_EXHIBIT, {"id": home.id}, token=admin.token)

    refused = await gql.error(RESTORE_ANIMAL, {"id": leo.id}, token=admin.token)
    assert refused["extensions"]["code"] == "BAD_USER_INPUT"
    assert refused["extensions"]["fields"] == {
        "exhibitId": f"exhibit {home.id} is deleted; restore it first"
    }
    assert (await services.animals.get(leo.id)) is None  # nothing was written

    back = await gql.data(RESTORE_EXHIBIT, {"id": home.id}, token=admin.token)
    assert back["restoreExhibit"] == {"id": home.id, "deletedAt": None}
    gone = await gql.data(SEEN, {"id": leo.id, "e": home.id})
    assert gone == {
        "animal": None,
        "exhibit": {"animals": [], "animalCount": 0},
        "animals": {"totalCount": 0},
        "animalsSummary": {"count": 0},
    }
    restored = await gql.data(RESTORE_ANIMAL, {"id": leo.id}, token=admin.token)
    assert restored["restoreAnimal"] == {
        "id": leo.id,
        "name": "Leo",
        "deletedAt": None,
        "exhibit": {"id": home.id},
    }
    seen = await gql.data(SEEN, {"id": leo.id, "e": home.id})
    assert seen == {
        "animal": {"id": leo.id},
        "exhibit": {"animals": [{"id": leo.id}], "animalCount": 1},
        "animals": {"totalCount": 1},
        "animalsSummary": {"count": 1},
    }
    history = await gql.data(
        "query($id: Int!) { animal(id: $id) { history { edges { node { kind fields"
        " { field before after } } } } } }",
        {"id": leo.id},
        token=admin.token,
    )
    nodes = [edge["node"] for edge in history["animal"]["history"]["edges"]]
    assert [node["kind"] for node in nodes] == ["RESTORED", "DELETED", "CREATED"]
    restored_field, deleted_field = nodes[0]["fields"][0], nodes[1]["fields"][0]
    assert restored_field["field"] == deleted_field["field"] == "deletedAt"
    assert restored_field["before"] == deleted_field["after"] is not None
    assert restored_field["after"] is None


async def test_what_cannot_be_restored(
    gql: GraphQL, admin: Account, user: Account, services: Services
) -> None:
    live = await factories.animal(services)
    not_deleted = await gql.error(RESTORE_ANIMAL, {"id": live.id}, token=admin.token)
    assert not_deleted["extensions"]["code"] == "BAD_USER_INPUT"
    assert "is not deleted" in not_deleted["message"]
    missing = await gql.error(RESTORE_ANIMAL, {"id": 999_999}, token=admin.token)
    assert missing["extensions"]["code"] == "NOT_FOUND"
    await services.animals.delete(live.id)
    for token, code in ((user.token, "FORBIDDEN"), (None, "UNAUTHENTICATED")):
        error = await gql.error(RESTORE_ANIMAL, {"id": live.id}, token=token)
        assert error["extensions"]["code"] == code
    assert (await services.animals.get(live.id)) is None


async def test_a_staff_member_follows_the_same_rule(
    gql: GraphQL, admin: Account, services: Services
) -> None:
    home = await factories.exhibit(services)
    member = await factories.staff_member(services, exhibit_id=home.id)
    unassigned = await factories.staff_member(services)
    await services.staff.delete(member.id)
    await services.staff.delete(unassigned.id)
    await services.exhibits.delete(home.id)
    refused = await gql.error(RESTORE_STAFF, {"id": member.id}, token=admin.token)
    assert refused["extensions"]["code"] == "BAD_USER_INPUT"
    back = await gql.data(RESTORE_STAFF, {"id": unassigned.id}, token=admin.token)
    assert back["restoreStaffMember"] == {"id": unassigned.id, "deletedAt": None}


async def test_a_restored_exhibit_again_refuses_deletion_while_it_houses_animals(
    gql: GraphQL, admin: Account, services: Services
) -> None:
    home = await factories.exhibit(services)
    leo = await factories.animal(services, exhibit_id=home.id)
    await services.animals.delete(leo.id)
    await services.exhibits.delete(home.id)
    await gql.data(RESTORE_EXHIBIT, {"id": home.id}, token=admin.token)
    await gql.data(RESTORE_ANIMAL, {"id": leo.id}, token=admin.token)
    refused = await gql.error(DELETE_EXHIBIT, {"id": home.id}, token=admin.token)
    assert refused["extensions"]["code"] == "BAD_USER_INPUT"
