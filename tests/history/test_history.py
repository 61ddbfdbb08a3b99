"""History over POST /graphql: authors, values before and after, role rules, the audit
list and its paging, on both databases."""

from __future__ import annotations

from typing import Any

from tests.support import factories
from tests.support.accounts import Account
from tests.support.clients import GraphQL
from zoo.core.roles import Role
from zoo.domains import Services
from zoo.graphql.permissions import read_gates
from zoo.staff.types import StaffMemberType

HISTORY = """query($id: Int!, $first: Int, $after: String) { animal(id: $id) {
  history(first: $first, after: $after) {
    edges { cursor node { kind entityId actorId at fields { field before after } } }
    pageInfo { hasNextPage hasPreviousPage endCursor startCursor } } } }"""
RENAME = (
    "mutation($id: Int!, $name: String!) { updateAnimal(id: $id, input: {name: $name}) { id } }"
)
CREATE = 'mutation($name: String!) { createAnimal(input: {name: $name, species: "Lion"}) { id } }'


def kinds(history: dict[str, Any]) -> list[str]:
    return [edge["node"]["kind"] for edge in history["edges"]]


async def test_a_history_names_the_author_and_each_value_before_and_after(
    gql: GraphQL, user: Account, admin: Account, make_account: Any
) -> None:
    keeper = await make_account(role=Role.KEEPER)
    made = await gql.data(CREATE, {"name": "Leo"}, token=user.token)
    id_ = made["createAnimal"]["id"]
    await gql.data(RENAME, {"id": id_, "name": "Leon"}, token=admin.token)
    await gql.data(RENAME, {"id": id_, "name": "Leon"}, token=admin.token)  # no change
    history = (await gql.data(HISTORY, {"id": id_}, token=keeper.token))["animal"]["history"]
    assert kinds(history) == ["UPDATED", "UPDATED", "CREATED"]
    unchanged, renamed, created = (edge["node"] for edge in history["edges"])
    assert renamed["fields"] == [{"field": "name", "before": "Leo", "after": "Leon"}]
    assert renamed["actorId"] == admin.id
    assert unchanged["fields"] == []
    assert created["actorId"] == user.id
    assert {f["field"]: (f["before"], f["after"]) for f in created["fields"]} == {
        "name": (None, "Leo"),
        "species": (None, "Lion"),
    }
    assert renamed["entityId"] == id_


async def test_the_actor_is_for_admins_and_history_for_keepers(
    gql: GraphQL, user: Account, admin: Account, visitor: Account, services: Services
) -> None:
    made = await gql.data(CREATE, {"name": "Ada"}, token=user.token)
    id_ = made["createAnimal"]["id"]
    query = (
        "query($id: Int!) { animal(id: $id) { history { edges { node { actor { email } } } } } }"
    )
    as_admin = await gql.data(query, {"id": id_}, token=admin.token)
    assert as_admin["animal"]["history"]["edges"][0]["node"]["actor"] == {"email": user.email}
    as_curator = await gql(query, {"id": id_}, token=user.token, expect_errors=True)
    assert [e["extensions"]["code"] for e in as_curator["errors"]] == ["FORBIDDEN"]
    assert as_curator["errors"][0]["path"][-1] == "actor"
    for token in (visitor.token, None):
        denied = await gql(HISTORY, {"id": id_}, token=token, expect_errors=True)
        assert [e["extensions"]["code"] for e in denied["errors"]] == ["FORBIDDEN"]
        assert denied["data"] == {"animal": None}
    # The demo data and the CLI write without an author.
    cli = await factories.animal(services, name="Seeded")
    node = (await gql.data(HISTORY, {"id": cli.id}, token=user.token))["animal"]["history"]
    assert node["edges"][0]["node"]["actorId"] is None


async def test_contact_fields_old_values_follow_their_current_rules(
    gql: GraphQL, user: Account, make_account: Any, services: Services
) -> None:
    """A staff member's e-mail, phone and notes are for keepers and above, now and before."""
    gates = read_gates(StaffMemberType)
    contact = {name: gates.get(name) for name in ("email", "phone", "notes")}
    assert contact == {"email": Role.KEEPER, "phone": Role.KEEPER, "notes": Role.KEEPER}
    keeper = await make_account(role=Role.KEEPER)
    member = await factories.staff_member(services, email="old@example.com")
    await gql.data(
        'mutation($id: Int!) { updateStaffMember(id: $id, input: {email: "new@example.com"})'
        " { id } }",
        {"id": member.id},
        token=user.token,
    )
    query = """query($id: Int!) { staffMember(id: $id) { history(first: 1) {
      edges { node { fields { field before after } } } } } }"""
    data = await gql.data(query, {"id": member.id}, token=keeper.token)
    fields = data["staffMember"]["history"]["edges"][0]["node"]["fields"]
    assert fields == [{"field": "email", "before": "old@example.com", "after": "new@example.com"}]


async def test_a_history_pages_back_in_time(gql: GraphQL, user: Account) -> None:
    made = await gql.data(CREATE, {"name": "N0"}, token=user.token)
    id_ = made["createAnimal"]["id"]
    for n in range(1, 5):
        await gql.data(RENAME, {"id": id_, "name": f"N{n}"}, token=user.token)
    seen: list[str] = []
    after = None
    pages = []
    while True:
        history = (
            await gql.data(HISTORY, {"id": id_, "first": 2, "after": after}, token=user.token)
        )["animal"]["history"]
        pages.append((history["pageInfo"]["hasPreviousPage"], history["pageInfo"]["hasNextPage"]))
        for edge in history["edges"]:
            fields = edge["node"]["fields"]
            seen.append(next(f["after"] for f in fields if f["field"] == "name"))
        if not history["pageInfo"]["hasNextPage"]:
            break
        after = history["pageInfo"]["endCursor"]
    assert seen == ["N4", "N3", "N2", "N1", "N0"]
    assert pages == [(False, True), (True, True), (True, False)]


async def test_histories_of_a_page_of_rows_are_one_read(
    gql: GraphQL, user: Account, services: Services, count_statements: Any
) -> None:
    home = await factories.exhibit(services)
    for n in range(5):
        await factories.animal(services, name=f"Many {n}", exhibit_id=home.id)
    await gql.data("{ me { id } }", token=user.token)  # the login, read and kept
    count_statements.statements.clear()
    query = """query($e: Int!) { exhibit(id: $e) { animals { id history(first: 3) {
      edges { node { kind } } } } } }"""
    data = await gql.data(query, {"e": home.id}, token=user.token)
    animals = data["exhibit"]["animals"]
    assert [kinds(a["history"]) for a in animals] == [["CREATED"]] * 5
    # The exhibit, its animals, and their histories.
    assert len(count_statements.statements) == 3, count_statements.statements


AUDIT = """query($first: Int, $after: String, $where: ChangeWhere) {
  changes(first: $first, after: $after, where: $where) {
    edges { node { kind entity entityId actorId } }
    pageInfo { hasNextPage hasPreviousPage endCursor } } }"""


async def test_the_audit_list_filters_and_pages(
    gql: GraphQL, user: Account, admin: Account, services: Services
) -> None:
    home = await factories.exhibit(services)
    made = await gql.data(CREATE, {"name": "Audited"}, token=user.token)
    id_ = made["createAnimal"]["id"]
    await gql.data(RENAME, {"id": id_, "name": "Audited again"}, token=admin.token)
    await gql.data(
        "mutation($id: Int!) { deleteAnimal(id: $id) { id } }", {"id": id_}, token=admin.token
    )
    everything = (await gql.data(AUDIT, {}, token=admin.token))["changes"]
    assert [(e["node"]["kind"], e["node"]["entity"]) for e in everything["edges"]] == [
        ("DELETED", "ANIMAL"),
        ("UPDATED", "ANIMAL"),
        ("CREATED", "ANIMAL"),
        ("CREATED", "EXHIBIT"),
    ]
    assert everything["edges"][-1]["node"]["entityId"] == home.id

    async def listed(where: dict[str, Any]) -> list[str]:
        data = await gql.data(AUDIT, {"where": where}, token=admin.token)
        return [e["node"]["kind"] for e in data["changes"]["edges"]]

    assert await listed({"entity": "EXHIBIT"}) == ["CREATED"]
    assert await listed({"kind": "UPDATED"}) == ["UPDATED"]
    assert await listed({"actorId": admin.id}) == ["DELETED", "UPDATED"]
    assert await listed({"after": "2000-01-01T00:00:00+00:00", "entity": "ANIMAL"}) == [
        "DELETED",
        "UPDATED",
        "CREATED",
    ]
    assert await listed({"before": "2000-01-01T00:00:00+00:00"}) == []
    first = (await gql.data(AUDIT, {"first": 3}, token=admin.token))["changes"]
    assert first["pageInfo"]["hasNextPage"] is True
    rest = (
        await gql.data(
            AUDIT, {"first": 3, "after": first["pageInfo"]["endCursor"]}, token=admin.token
        )
    )["changes"]
    assert [e["node"]["entity"] for e in rest["edges"]] == ["EXHIBIT"]
    assert (rest["pageInfo"]["hasNextPage"], rest["pageInfo"]["hasPreviousPage"]) == (False, True)
    denied = await gql(AUDIT, {}, token=user.token, expect_errors=True)
    assert [e["extensions"]["code"] for e in denied["errors"]] == ["FORBIDDEN"]


async def test_bad_history_arguments_are_bad_user_input(gql: GraphQL, admin: Account) -> None:
    for variables in (
        {"after": "not a cursor"},
        {"first": 101},
        {"first": -1},
        {"where": {"after": "2020-01-01T00:00:00"}},  # no UTC offset
        {"where": {"actorId": "not-a-uuid"}},
    ):
        error = await gql.error(AUDIT, variables, token=admin.token)
        assert error["extensions"]["code"] == "BAD_USER_INPUT", (variables, error)
