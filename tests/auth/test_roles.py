"""Roles: who may read and change what, down to the field and the row (contract v2).

Every mutation and every gated field is tried by every kind of caller, over HTTP and
over a WebSocket, against a real server; a refused write leaves nothing written.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.support.accounts import PASSWORD
from tests.support.databases import asyncpg_dsn, dispose
from tests.support.servers import Live
from zoo.animals.schemas import AnimalCreate, AnimalFilter
from zoo.app import create_app
from zoo.auth.service import create_user
from zoo.config import Settings
from zoo.core.roles import Role
from zoo.domains import Services
from zoo.exhibits.schemas import ExhibitCreate, ExhibitFilter
from zoo.staff.schemas import StaffMemberCreate, StaffMemberFilter

ACTORS = ("anonymous", "inactive", "VISITOR", "KEEPER", "CURATOR", "ADMIN")
OK, UNAUTHENTICATED, FORBIDDEN = "ok", "UNAUTHENTICATED", "FORBIDDEN"

# The contract's table, written out: what each caller gets from each mutation.
CURATORS = {
    "anonymous": UNAUTHENTICATED,
    "inactive": FORBIDDEN,
    "VISITOR": FORBIDDEN,
    "KEEPER": FORBIDDEN,
    "CURATOR": OK,
    "ADMIN": OK,
}
KEEPERS = {**CURATORS, "KEEPER": OK}
ADMINS = {**CURATORS, "CURATOR": FORBIDDEN}
EXPECTED = {
    "createExhibit": CURATORS,
    "updateExhibit": CURATORS,
    "deleteExhibit": ADMINS,
    "createAnimal": KEEPERS,
    "updateAnimal": KEEPERS,
    "deleteAnimal": ADMINS,
    "createStaffMember": CURATORS,
    "updateStaffMember": CURATORS,
    "deleteStaffMember": ADMINS,
}
CONTACT = ("email", "phone", "notes")
READS_CONTACT = {"anonymous": False, "inactive": False, "VISITOR": False} | dict.fromkeys(
    ("KEEPER", "CURATOR", "ADMIN"), True
)

Send = Callable[[str, str | None, dict[str, Any]], Awaitable[dict[str, Any]]]


@dataclass
class Zoo:
    """Two exhibits; the keeper's staff member works in ``home``."""

    services: Services
    home: int
    elsewhere: int
    keepers_member: int
    tokens: dict[str, str | None]


async def account(base: str, services: Services, role: Role, **link: Any) -> tuple[Any, str]:
    email = f"{role.value.lower()}-{uuid.uuid4().hex[:8]}@example.com"
    user = await create_user(services.database, email, PASSWORD, role=role, **link)
    async with httpx.AsyncClient(base_url=base) as http:
        response = await http.post(
            "/auth/jwt/login", data={"username": email, "password": PASSWORD}
        )
    assert response.status_code == 200, response.text
    return user, str(response.json()["access_token"])


async def a_zoo(app: Any, base: str) -> Zoo:
    services: Services = app.state.services
    home = await services.exhibits.create(ExhibitCreate(name="Home"))
    elsewhere = await services.exhibits.create(ExhibitCreate(name="Elsewhere"))
    member = await services.staff.create(
        StaffMemberCreate(name="Kim", email="kim@example.com", phone="1", exhibit_id=home.id)
    )
    tokens: dict[str, str | None] = {"anonymous": None}
    for role in Role:
        link = {"staff_member_id": member.id} if role is Role.KEEPER else {}
        _, tokens[role.value] = await account(base, services, role, **link)
    inactive, tokens["inactive"] = await account(base, services, Role.ADMIN)
    async with httpx.AsyncClient(base_url=base) as http:
        deactivated = await http.patch(
            f"/users/{inactive.id}",
            json={"is_active": False},
            headers={"Authorization": f"Bearer {tokens['ADMIN']}"},
        )
    assert deactivated.status_code == 200, deactivated.text
    return Zoo(services, home.id, elsewhere.id, member.id, tokens)


def over_http(base: str) -> Send:
    async def send(query: str, token: str | None, variables: dict[str, Any]) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with httpx.AsyncClient(base_url=base) as http:
            response = await http.post(
                "/graphql", json={"query": query, "variables": variables}, headers=headers
            )
        body: dict[str, Any] = response.json()
        return body

    return send


def over_a_socket(base: str) -> Send:
    """graphql-transport-ws, logging in with ``connection_init``. A login the server
    refuses there (an inactive account) closes the socket with 4403, Forbidden: reported
    as that code."""

    async def send(query: str, token: str | None, variables: dict[str, Any]) -> dict[str, Any]:
        url = base.replace("http", "ws") + "/graphql"
        try:
            async with connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
                return await operation(ws, query, token, variables)
        except ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd is not None else None
            reported = FORBIDDEN if code == 4403 else f"closed {code}"
            return {"data": None, "errors": [{"extensions": {"code": reported}}]}

    return send


async def operation(
    ws: ClientConnection, query: str, token: str | None, variables: dict[str, Any]
) -> dict[str, Any]:
    params = {"Authorization": f"Bearer {token}"} if token else {}
    await ws.send(json.dumps({"type": "connection_init", "payload": params}))
    assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "connection_ack"
    payload = {"query": query, "variables": variables}
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), 5))
        if message["type"] == "next":
            return dict(message["payload"])
        if message["type"] == "error":
            return {"data": None, "errors": message["payload"]}


TRANSPORTS = {"http": over_http, "websocket": over_a_socket}


def outcome(body: dict[str, Any]) -> str:
    errors = body.get("errors") or []
    return OK if not errors else str(errors[0]["extensions"]["code"])


async def attempt(zoo: Zoo, send: Send, mutation: str, token: str | None) -> tuple[str, bool]:
    """Try ``mutation`` on fresh rows; (outcome, whether anything was written)."""
    services = zoo.services
    name = f"n-{uuid.uuid4().hex[:8]}"
    animal = await services.animals.create(AnimalCreate(name="A", exhibit_id=zoo.home))
    exhibit = await services.exhibits.create(ExhibitCreate(name="E"))
    member = await services.staff.create(StaffMemberCreate(name="S"))
    calls = {
        "createExhibit": ("mutation($n: String!) { createExhibit(input: {name: $n}) { id } }", {}),
        "updateExhibit": (
            "mutation($id: Int!, $n: String!) { updateExhibit(id: $id, input: {name: $n}) { id } }",
            {"id": exhibit.id},
        ),
        "deleteExhibit": (
            "mutation($id: Int!) { deleteExhibit(id: $id) { id } }",
            {"id": exhibit.id},
        ),
        "createAnimal": (
            "mutation($n: String!, $e: Int) { createAnimal(input: {name: $n, exhibitId: $e})"
            " { id } }",
            {"e": zoo.home},
        ),
        "updateAnimal": (
            "mutation($id: Int!, $n: String!) { updateAnimal(id: $id, input: {name: $n}) { id } }",
            {"id": animal.id},
        ),
        "deleteAnimal": ("mutation($id: Int!) { deleteAnimal(id: $id) { id } }", {"id": animal.id}),
        "createStaffMember": (
            "mutation($n: String!) { createStaffMember(input: {name: $n}) { id } }",
            {},
        ),
        "updateStaffMember": (
            "mutation($id: Int!, $n: String!) { updateStaffMember(id: $id, input: {name: $n})"
            " { id } }",
            {"id": member.id},
        ),
        "deleteStaffMember": (
            "mutation($id: Int!) { deleteStaffMember(id: $id) { id } }",
            {"id": member.id},
        ),
    }
    query, variables = calls[mutation]
    if "$n" in query:
        variables = {**variables, "n": name}
    result = outcome(await send(query, token, variables))
    alive = {
        "deleteExhibit": await services.exhibits.get(exhibit.id),
        "deleteAnimal": await services.animals.get(animal.id),
        "deleteStaffMember": await services.staff.get(member.id),
    }
    written = await named(services, name) > 0 or (mutation in alive and alive[mutation] is None)
    return result, written


async def named(services: Services, name: str) -> int:
    """Live rows of any kind called ``name``."""
    return (
        await services.exhibits.count(ExhibitFilter(name_contains=name))
        + await services.animals.count(AnimalFilter(name_contains=name))
        + await services.staff.count(StaffMemberFilter(name_contains=name))
    )


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_every_mutation_by_every_caller(live: Live, transport: str) -> None:
    async with live() as (app, base, _):
        zoo = await a_zoo(app, base)
        send = TRANSPORTS[transport](base)
        seen = {}
        for mutation in EXPECTED:
            for actor in ACTORS:
                result, written = await attempt(zoo, send, mutation, zoo.tokens[actor])
                seen[(mutation, actor)] = (result, written)
    expected = {
        (mutation, actor): (outcome_, outcome_ == OK)
        for mutation, by_actor in EXPECTED.items()
        for actor, outcome_ in by_actor.items()
    }
    assert seen == expected


STAFF_MEMBER = "query($id: Int!) { staffMember(id: $id) { name email phone notes } }"
NESTED = (
    "query($id: Int!) { exhibit(id: $id) { staff { name email } } "
    "staff(first: 10) { edges { node { name notes } } } }"
)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_contact_fields_by_every_caller(live: Live, transport: str) -> None:
    async with live() as (app, base, _):
        zoo = await a_zoo(app, base)
        send = TRANSPORTS[transport](base)
        for actor in ACTORS:
            allowed = READS_CONTACT[actor]
            body = await send(STAFF_MEMBER, zoo.tokens[actor], {"id": zoo.keepers_member})
            if (actor, transport) == ("inactive", "websocket"):
                # An inactive account's socket is refused before any operation (4403).
                assert body == {"data": None, "errors": [{"extensions": {"code": FORBIDDEN}}]}
                continue
            member = body["data"]["staffMember"]
            assert member["name"] == "Kim", actor
            shown = {field: member[field] for field in CONTACT}
            if allowed:
                assert shown == {"email": "kim@example.com", "phone": "1", "notes": None}, actor
                assert "errors" not in body, (actor, body)
            else:
                assert shown == dict.fromkeys(CONTACT), actor
                assert [(e["path"], e["extensions"]["code"]) for e in body["errors"]] == [
                    (["staffMember", field], FORBIDDEN) for field in CONTACT
                ], actor

            nested = await send(NESTED, zoo.tokens[actor], {"id": zoo.home})
            assert nested["data"]["exhibit"]["staff"][0]["name"] == "Kim"
            codes = {e["extensions"]["code"] for e in nested.get("errors", [])}
            assert codes == (set() if allowed else {FORBIDDEN}), (actor, nested)
            if not allowed:
                assert nested["data"]["exhibit"]["staff"][0]["email"] is None


async def test_a_keeper_writes_only_within_their_own_exhibit(live: Live) -> None:
    async with live() as (app, base, _):
        zoo = await a_zoo(app, base)
        send = over_http(base)
        keeper = zoo.tokens["KEEPER"]
        services = zoo.services
        theirs = await services.animals.create(AnimalCreate(name="Mine", exhibit_id=zoo.home))
        other = await services.animals.create(AnimalCreate(name="Not", exhibit_id=zoo.elsewhere))
        unhoused = await services.animals.create(AnimalCreate(name="Stray"))
        create = 'mutation($e: Int) { createAnimal(input: {name: "New", exhibitId: $e}) { id } }'
        update = (
            "mutation($id: Int!, $e: Int) { updateAnimal(id: $id, input: {exhibitId: $e}) "
            "{ exhibitId } }"
        )
        rename = 'mutation($id: Int!) { updateAnimal(id: $id, input: {name: "R"}) { name } }'
        assert outcome(await send(create, keeper, {"e": zoo.home})) == OK
        assert outcome(await send(create, keeper, {"e": zoo.elsewhere})) == FORBIDDEN
        assert outcome(await send(create, keeper, {"e": None})) == FORBIDDEN
        assert outcome(await send(rename, keeper, {"id": theirs.id})) == OK
        assert outcome(await send(rename, keeper, {"id": other.id})) == FORBIDDEN
        assert outcome(await send(rename, keeper, {"id": unhoused.id})) == FORBIDDEN
        # Moving an animal out: the target exhibit must be theirs too.
        assert outcome(await send(update, keeper, {"id": theirs.id, "e": zoo.elsewhere})) == (
            FORBIDDEN
        )
        assert outcome(await send(update, keeper, {"id": other.id, "e": zoo.home})) == FORBIDDEN
        assert outcome(await send(update, keeper, {"id": theirs.id, "e": None})) == FORBIDDEN
        assert await named(services, "New") == 1
        for animal in (other, unhoused):
            assert (await services.animals.get(animal.id)).exhibit_id == animal.exhibit_id
            assert (await services.animals.get(animal.id)).name == animal.name
        assert (await services.animals.get(theirs.id)).exhibit_id == zoo.home

        # Their staff member reassigned, the keeper's exhibit follows.
        admin = zoo.tokens["ADMIN"]
        move = (
            "mutation($id: Int!, $e: Int) "
            "{ updateStaffMember(id: $id, input: {exhibitId: $e}) { id } }"
        )
        assert (
            outcome(await send(move, admin, {"id": zoo.keepers_member, "e": zoo.elsewhere})) == OK
        )
        assert outcome(await send(rename, keeper, {"id": other.id})) == OK
        assert outcome(await send(rename, keeper, {"id": theirs.id})) == FORBIDDEN


@pytest.mark.postgres
async def test_a_reassignment_racing_a_keepers_write_cannot_let_it_through(live: Live) -> None:
    """The keeper's check reads their staff member's exhibit share-locked in the write's
    own transaction: a reassignment in flight is waited for, and then seen."""
    async with live() as (app, base, _):
        if "postgresql" not in app.state.settings.database_url:
            pytest.skip("PostgreSQL: SQLite runs one writer at a time")
        zoo = await a_zoo(app, base)
        animal = await zoo.services.animals.create(AnimalCreate(name="Ada", exhibit_id=zoo.home))
        rename = 'mutation($id: Int!) { updateAnimal(id: $id, input: {name: "Raced"}) { name } }'
        connection = await asyncpg.connect(asyncpg_dsn(app.state.settings.database_url))
        try:
            transaction = connection.transaction()
            await transaction.start()
            await connection.execute(
                "UPDATE staff SET exhibit_id = $1 WHERE id = $2", zoo.elsewhere, zoo.keepers_member
            )
            write = asyncio.ensure_future(
                over_http(base)(rename, zoo.tokens["KEEPER"], {"id": animal.id})
            )
            await asyncio.sleep(0.5)
            assert not write.done(), "the keeper's write did not wait for the reassignment"
            await transaction.commit()
            assert outcome(await asyncio.wait_for(write, 10)) == FORBIDDEN
        finally:
            await connection.close()
        assert (await zoo.services.animals.get(animal.id)).name == "Ada"


async def test_sign_ups_are_visitors_and_closed_in_production(
    database_url: str, client: httpx.AsyncClient, gql: Any
) -> None:
    signed_up = await client.post(
        "/auth/register", json={"email": "new@example.com", "password": "a long password"}
    )
    assert signed_up.status_code == 202, signed_up.text
    form = {"username": "new@example.com", "password": "a long password"}
    token = (await client.post("/auth/jwt/login", data=form)).json()["access_token"]
    made = (await client.get("/users/me", headers={"Authorization": f"Bearer {token}"})).json()
    assert (made["role"], made["is_superuser"]) == ("VISITOR", False)
    refused = await gql.error(
        'mutation { createExhibit(input: {name: "Mine"}) { id } }', token=token
    )
    assert refused["extensions"]["code"] == FORBIDDEN

    for env, setting in (("production", None), ("test", "closed")):
        settings = {"ZOO_REGISTRATION": setting} if setting else {}
        app = create_app(
            Settings(
                database_url=database_url,
                env=env,
                secret="x" * 40,
                **{k.removeprefix("ZOO_").lower(): v for k, v in settings.items()},
            )
        )
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://closed") as http:
                closed = await http.post(
                    "/auth/register",
                    json={"email": f"{env}@example.com", "password": "a long password"},
                )
        finally:
            await dispose(app)
        assert closed.status_code == 403, (env, closed.text)
        assert closed.json() == {"code": "REGISTRATION_CLOSED", "detail": "REGISTRATION_CLOSED"}


async def test_nobody_raises_their_own_role(
    client: httpx.AsyncClient, make_account: Any, services: Services
) -> None:
    visitor = await make_account(role=Role.VISITOR)
    member = await services.staff.create(StaffMemberCreate(name="Free"))
    headers = {"Authorization": f"Bearer {visitor.token}"}
    for change in (
        {"role": "ADMIN"},
        {"staff_member_id": member.id},
        {"is_superuser": True},
        {"role": "KEEPER", "staff_member_id": member.id},
    ):
        response = await client.patch("/users/me", json=change, headers=headers)
        assert response.status_code == 200, response.text
        me = (await client.get("/users/me", headers=headers)).json()
        assert (me["role"], me["staff_member_id"], me["is_superuser"]) == ("VISITOR", None, False)


async def test_an_admin_sets_roles_and_links(
    client: httpx.AsyncClient, make_account: Any, admin: Any, services: Services
) -> None:
    target = await make_account(role=Role.VISITOR)
    other = await make_account(role=Role.VISITOR)
    member = await services.staff.create(StaffMemberCreate(name="Kim"))
    gone = await services.staff.create(StaffMemberCreate(name="Gone"))
    await services.staff.delete(gone.id)
    as_admin = {"Authorization": f"Bearer {admin.token}"}

    async def patch(user_id: str, **change: Any) -> httpx.Response:
        return await client.patch(f"/users/{user_id}", json=change, headers=as_admin)

    linked = await patch(target.id, role="KEEPER", staff_member_id=member.id)
    assert linked.status_code == 200, linked.text
    assert (linked.json()["role"], linked.json()["staff_member_id"]) == ("KEEPER", member.id)
    shown = (await client.get(f"/users/{target.id}", headers=as_admin)).json()
    assert (shown["role"], shown["staff_member_id"]) == ("KEEPER", member.id)

    for change, code in (
        ({"staff_member_id": member.id}, "STAFF_MEMBER_ALREADY_LINKED"),
        ({"staff_member_id": 10**6}, "STAFF_MEMBER_NOT_FOUND"),
        ({"staff_member_id": gone.id}, "STAFF_MEMBER_NOT_FOUND"),
    ):
        refused = await patch(other.id, **change)
        assert (refused.status_code, refused.json()) == (400, {"code": code, "detail": code})
    assert (await client.get(f"/users/{other.id}", headers=as_admin)).json()[
        "staff_member_id"
    ] is None
    refused = await patch(target.id, role="PRESIDENT")
    assert refused.status_code == 422

    # ADMIN and is_superuser are one thing, whichever is set.
    promoted = (await patch(other.id, role="ADMIN")).json()
    assert (promoted["role"], promoted["is_superuser"]) == ("ADMIN", True)
    demoted = (await patch(other.id, is_superuser=False)).json()
    assert (demoted["role"], demoted["is_superuser"]) == ("CURATOR", False)
    raised = (await patch(target.id, is_superuser=True)).json()
    assert (raised["role"], raised["is_superuser"]) == ("ADMIN", True)
    unlinked = (await patch(target.id, staff_member_id=None)).json()
    assert unlinked["staff_member_id"] is None

    # Only an ADMIN manages users.
    curator = await make_account(role=Role.CURATOR)
    forbidden = await client.patch(
        f"/users/{target.id}",
        json={"role": "VISITOR"},
        headers={"Authorization": f"Bearer {curator.token}"},
    )
    assert forbidden.status_code == 403


async def test_me_shows_the_role_and_the_staff_member(
    gql: Any, make_account: Any, services: Services
) -> None:
    member = await services.staff.create(StaffMemberCreate(name="Kim"))
    keeper = await make_account(role=Role.KEEPER, staff_member_id=member.id)
    data = await gql.data("{ me { role isSuperuser staffMember { name } } }", token=keeper.token)
    assert data == {"me": {"role": "KEEPER", "isSuperuser": False, "staffMember": {"name": "Kim"}}}
    admin = await make_account(superuser=True)
    data = await gql.data("{ me { role isSuperuser staffMember { name } } }", token=admin.token)
    assert data == {"me": {"role": "ADMIN", "isSuperuser": True, "staffMember": None}}


STAFF_EVENTS = "subscription { staffMemberEvents { staffMember { name email } } }"


async def test_a_role_change_reaches_an_open_socket_and_a_running_stream(live: Live) -> None:
    async with live() as (app, base, admin):
        services: Services = app.state.services
        member = await services.staff.create(StaffMemberCreate(name="Kim", email="k@x.org"))
        user, token = await account(base, services, Role.CURATOR)
        as_admin = {"Authorization": f"Bearer {admin}"}
        rename = 'mutation { updateStaffMember(id: %d, input: {name: "%s"}) { name } }'
        async with (
            httpx.AsyncClient(base_url=base, timeout=10) as http,
            socket_and_staff_events(base, token) as (ws, lines),
        ):
            assert outcome(await operation(ws, rename % (member.id, "One"), token, {})) == OK
            first = await next_event(lines)
            assert first["data"]["staffMemberEvents"]["staffMember"]["email"] == "k@x.org"

            demoted = await http.patch(
                f"/users/{user.id}", json={"role": "VISITOR"}, headers=as_admin
            )
            assert demoted.status_code == 200, demoted.text
            await asyncio.sleep(0.2)
            body = await run_again(ws, rename % (member.id, "Two"))
            assert outcome(body) == FORBIDDEN
            await over_http(base)(rename % (member.id, "Three"), admin, {})
            after = await next_event(lines)
            assert after["data"]["staffMemberEvents"]["staffMember"] == {
                "name": "Three",
                "email": None,
            }
            assert [e["extensions"]["code"] for e in after["errors"]] == [FORBIDDEN]


@asynccontextmanager
async def socket_and_staff_events(
    base: str, token: str
) -> AsyncIterator[tuple[ClientConnection, AsyncIterator[str]]]:
    """A WebSocket to ``base`` (not yet initialised) and the lines of a running SSE
    subscription to staff events, both as the holder of ``token``."""
    url = base.replace("http", "ws") + "/graphql"
    headers = {"Accept": "text/event-stream", "Authorization": f"Bearer {token}"}
    async with (
        connect(url, subprotocols=["graphql-transport-ws"]) as ws,  # type: ignore[list-item]
        httpx.AsyncClient(base_url=base, timeout=10) as http,
        http.stream("POST", "/graphql", json={"query": STAFF_EVENTS}, headers=headers) as stream,
    ):
        yield ws, stream.aiter_lines()


async def run_again(ws: ClientConnection, query: str) -> dict[str, Any]:
    """Another operation on a socket that is already acknowledged."""
    id_ = uuid.uuid4().hex
    await ws.send(json.dumps({"id": id_, "type": "subscribe", "payload": {"query": query}}))
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), 5))
        if message["type"] == "next":
            return dict(message["payload"])
        if message["type"] == "error":
            return {"data": None, "errors": message["payload"]}


async def next_event(lines: Any) -> dict[str, Any]:
    """The next ``next`` event's payload on an SSE stream."""
    while True:
        line = await asyncio.wait_for(anext(lines), 5)
        if line.startswith("data: "):
            payload: dict[str, Any] = json.loads(line.removeprefix("data: "))
            return payload


USERS = """query($first: Int, $after: String, $filter: UserFilter) {
  users(first: $first, after: $after, filter: $filter) {
    totalCount edges { node { email role staffMember { name } } } pageInfo { endCursor hasNextPage }
  } }"""
UPDATE_USER = """mutation($id: ID!, $input: UpdateUserInput!) {
  updateUser(id: $id, input: $input) { email role isSuperuser isActive staffMember { name } } }"""


async def test_admins_list_and_update_users_in_graphql(
    gql: Any, make_account: Any, admin: Any, services: Services
) -> None:
    member = await services.staff.create(StaffMemberCreate(name="Kim"))
    keeper = await make_account(email="zz-b-keeper@example.com", role=Role.KEEPER)
    await make_account(email="zz-a-visitor@example.com", role=Role.VISITOR)
    await make_account(email="zz-c-curator@example.com", role=Role.CURATOR)

    first = await gql.data(USERS, {"first": 2, "filter": {"emailContains": "zz-"}}, admin.token)
    page = first["users"]
    assert [e["node"]["email"] for e in page["edges"]] == [
        "zz-a-visitor@example.com",
        "zz-b-keeper@example.com",
    ]
    assert (page["totalCount"], page["pageInfo"]["hasNextPage"]) == (3, True)
    after = page["pageInfo"]["endCursor"]
    rest = await gql.data(
        USERS, {"first": 2, "after": after, "filter": {"emailContains": "zz-"}}, admin.token
    )
    assert [e["node"]["email"] for e in rest["users"]["edges"]] == ["zz-c-curator@example.com"]
    keepers = await gql.data(USERS, {"filter": {"role": "KEEPER"}}, admin.token)
    assert [e["node"]["email"] for e in keepers["users"]["edges"]] == ["zz-b-keeper@example.com"]

    linked = await gql.data(
        UPDATE_USER, {"id": keeper.id, "input": {"staffMemberId": member.id}}, admin.token
    )
    assert linked["updateUser"]["staffMember"] == {"name": "Kim"}
    promoted = await gql.data(
        UPDATE_USER, {"id": keeper.id, "input": {"role": "ADMIN"}}, admin.token
    )
    assert (promoted["updateUser"]["role"], promoted["updateUser"]["isSuperuser"]) == (
        "ADMIN",
        True,
    )
    off = await gql.data(UPDATE_USER, {"id": keeper.id, "input": {"isActive": False}}, admin.token)
    assert off["updateUser"]["isActive"] is False

    other = await make_account(role=Role.VISITOR)
    taken = await gql.error(
        UPDATE_USER, {"id": other.id, "input": {"staffMemberId": member.id}}, admin.token
    )
    assert taken["extensions"]["code"] == "BAD_USER_INPUT"
    assert taken["extensions"]["fields"] == {"staffMemberId": "STAFF_MEMBER_ALREADY_LINKED"}
    unknown = await gql.error(
        UPDATE_USER, {"id": str(uuid.uuid4()), "input": {"role": "KEEPER"}}, admin.token
    )
    assert unknown["extensions"]["code"] == "NOT_FOUND"

    curator = await make_account(role=Role.CURATOR)
    for query, variables in ((USERS, {}), (UPDATE_USER, {"id": other.id, "input": {}})):
        refused = await gql.error(query, variables, curator.token)
        assert refused["extensions"]["code"] == FORBIDDEN
        assert (await gql.error(query, variables))["extensions"]["code"] == UNAUTHENTICATED


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_role_link_and_activation_changes_reach_another_instance(live: Live) -> None:
    """Made through one instance, each applies to the user's socket and running stream on
    another at once: their next operation and their next event."""
    async with live() as (app, a, admin), live() as (_, b, _):
        services: Services = app.state.services
        home = await services.exhibits.create(ExhibitCreate(name="Home"))
        away = await services.exhibits.create(ExhibitCreate(name="Away"))
        kim = await services.staff.create(
            StaffMemberCreate(name="Kim", email="k@x.org", exhibit_id=home.id)
        )
        lee = await services.staff.create(StaffMemberCreate(name="Lee", exhibit_id=away.id))
        at_home = await services.animals.create(AnimalCreate(name="Ada", exhibit_id=home.id))
        away_one = await services.animals.create(AnimalCreate(name="Bo", exhibit_id=away.id))
        user, token = await account(a, services, Role.KEEPER, staff_member_id=kim.id)
        rename = 'mutation { updateAnimal(id: %d, input: {name: "%s"}) { name } }'
        touch = 'mutation { updateStaffMember(id: %d, input: {name: "%s"}) { name } }'

        async def patch(**change: Any) -> None:
            async with httpx.AsyncClient(base_url=a) as http:
                response = await http.patch(
                    f"/users/{user.id}", json=change, headers={"Authorization": f"Bearer {admin}"}
                )
            assert response.status_code == 200, response.text
            await asyncio.sleep(0.5)  # the announcement's round trip through PostgreSQL

        async with socket_and_staff_events(b, token) as (ws, lines):
            assert outcome(await operation(ws, rename % (at_home.id, "A1"), token, {})) == OK
            await over_http(a)(touch % (kim.id, "Kim 1"), admin, {})
            seen = await next_event(lines)
            assert seen["data"]["staffMemberEvents"]["staffMember"]["email"] == "k@x.org"

            await patch(staff_member_id=lee.id)  # the keeper now works in Away
            assert outcome(await run_again(ws, rename % (at_home.id, "A2"))) == FORBIDDEN
            assert outcome(await run_again(ws, rename % (away_one.id, "B2"))) == OK

            await patch(role="VISITOR")
            assert outcome(await run_again(ws, rename % (away_one.id, "B3"))) == FORBIDDEN
            await over_http(a)(touch % (kim.id, "Kim 2"), admin, {})
            hidden = await next_event(lines)
            assert hidden["data"]["staffMemberEvents"]["staffMember"]["email"] is None
            assert [e["extensions"]["code"] for e in hidden["errors"]] == [FORBIDDEN]

            await patch(is_active=False)
            ended = await next_event(lines)
            assert ended["errors"][0]["extensions"]["code"] == UNAUTHENTICATED
            with pytest.raises(ConnectionClosed) as closed:
                await run_again(ws, "{ __typename }")
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 4403
        assert (await services.animals.get(at_home.id)).name == "A1"
        assert (await services.animals.get(away_one.id)).name == "B2"
