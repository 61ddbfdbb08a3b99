"""REST auth routes and the user behind GraphQL requests, with real tokens."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select, update

from tests.support.accounts import PASSWORD, Account, cookie_login, fullwidth, login
from tests.support.clients import GraphQL, StatementCounter
from zoo.auth.models import AccessToken, User
from zoo.auth.tokens import stored_form
from zoo.core.entity import utcnow
from zoo.domains import Services

CREATE = 'mutation { createExhibit(input: {name: "Made"}) { id name } }'
ME = "{ me { id email isActive isSuperuser isVerified } }"


async def test_register_login_and_me(client: httpx.AsyncClient, gql: GraphQL) -> None:
    registered = await client.post(
        "/auth/register", json={"email": "New@Example.com", "password": "long enough pw"}
    )
    assert (registered.status_code, registered.json()) == (202, {"detail": "CHECK_YOUR_EMAIL"})
    token = await login(client, "new@example.com", "long enough pw")
    rest = await client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
    assert rest.status_code == 200
    body = rest.json()
    assert body["is_superuser"] is False
    me = await gql.data(ME, token=token)
    assert me == {
        "me": {
            "id": body["id"],
            "email": "New@example.com",
            "isActive": True,
            "isSuperuser": False,
            "isVerified": False,
        }
    }
    assert await gql.data(ME) == {"me": None}


async def test_register_refusals(client: httpx.AsyncClient, user: Account) -> None:
    short = await client.post("/auth/register", json={"email": "a@example.com", "password": "x"})
    assert short.status_code == 400
    assert short.json()["detail"]["code"] == "REGISTER_INVALID_PASSWORD"
    # A known address gets the answer a new one does (contract v2), and is left as it was.
    duplicate = await client.post(
        "/auth/register", json={"email": user.email, "password": "another long one"}
    )
    assert (duplicate.status_code, duplicate.json()) == (202, {"detail": "CHECK_YOUR_EMAIL"})
    assert await login(client, user.email, PASSWORD)
    bad_email = await client.post("/auth/register", json={"email": "nope", "password": "x" * 9})
    assert bad_email.status_code == 422
    sneaky = await client.post(
        "/auth/register",
        json={
            "email": "root@example.com",
            "password": "long enough pw",
            "is_superuser": True,
            "role": "ADMIN",
        },
    )
    assert sneaky.status_code == 202
    token = await login(client, "root@example.com", "long enough pw")
    made = (await client.get("/users/me", headers={"Authorization": f"Bearer {token}"})).json()
    assert (made["is_superuser"], made["role"], made["is_verified"]) == (False, "VISITOR", False)


async def test_an_address_has_one_account_however_it_is_spelled(
    client: httpx.AsyncClient, gql: GraphQL, user: Account, make_account: Any
) -> None:
    """Compatibility spellings (fullwidth letters, ligatures) of an address are that
    address: a look-alike account of someone else's cannot be made, and the owner
    logs in however their input method spelled it."""
    local, _, domain = user.email.partition("@")
    look_alike = f"{fullwidth(local)}@{domain}"
    taken = await client.post(
        "/auth/register", json={"email": look_alike, "password": "another long one"}
    )
    assert taken.status_code == 202, taken.text
    refused = await client.post(
        "/auth/jwt/login", data={"username": look_alike, "password": "another long one"}
    )
    assert refused.status_code == 400  # no second account: the owner's password stands
    token = await login(client, fullwidth(user.email))
    assert (await gql.data(ME, token=token))["me"]["id"] == user.id
    other = await make_account()
    moved = await client.patch(
        "/users/me",
        json={"email": look_alike, "current_password": PASSWORD},
        headers={"Authorization": f"Bearer {other.token}"},
    )
    assert moved.status_code == 400, moved.text
    assert moved.json()["detail"] == "UPDATE_USER_EMAIL_ALREADY_EXISTS"
    ligature = await client.post(
        "/auth/register", json={"email": "\ufb01nch@example.com", "password": "long enough pw"}
    )
    assert ligature.status_code == 202, ligature.text
    assert await login(client, "finch@example.com", "long enough pw")


async def test_half_a_surrogate_pair_is_a_422_not_a_500(
    client: httpx.AsyncClient, user: Account
) -> None:
    """JSON may escape a lone surrogate; Python's parser accepts it, UTF-8 cannot encode it.
    FastAPI's 422 failed to render it and the password hasher failed on it."""
    headers = {"Content-Type": "application/json"}
    for body in (
        b'{"email": "\\ud800@example.com", "password": "long enough pw"}',
        b'{"email": "half@example.com", "password": "long enough \\udfff pw"}',
    ):
        response = await client.post("/auth/register", content=body, headers=headers)
        assert response.status_code == 422, response.text
        [error] = response.json()["detail"]
        assert error["loc"][0] == "body"
    # Nothing was stored: the address is still free.
    fresh = await client.post(
        "/auth/register", json={"email": "half@example.com", "password": "long enough pw"}
    )
    assert fresh.status_code == 202, fresh.text
    assert await login(client, "half@example.com", "long enough pw")
    for change in (
        b'{"password": "new \\ud800 password", "current_password": "%s"}' % PASSWORD.encode(),
        b'{"password": "a new password", "current_password": "\\ud800"}',
    ):
        response = await client.patch(
            "/users/me",
            content=change,
            headers={**headers, "Authorization": f"Bearer {user.token}"},
        )
        assert response.status_code == 422, response.text
    assert await login(client, user.email, PASSWORD)


async def test_wrong_password_and_unknown_email_look_the_same(
    client: httpx.AsyncClient, user: Account
) -> None:
    wrong = await client.post(
        "/auth/jwt/login", data={"username": user.email, "password": "wrong password"}
    )
    unknown = await client.post(
        "/auth/jwt/login", data={"username": "ghost@example.com", "password": "wrong password"}
    )
    assert (wrong.status_code, wrong.json()) == (unknown.status_code, unknown.json())
    assert wrong.status_code == 400


async def test_logout_revokes_the_bearer_token(
    client: httpx.AsyncClient, gql: GraphQL, user: Account
) -> None:
    assert (await gql.data(CREATE, token=user.token))["createExhibit"]["name"] == "Made"
    logout = await client.post(
        "/auth/jwt/logout", headers={"Authorization": f"Bearer {user.token}"}
    )
    assert logout.status_code == 204
    error = await gql.error(CREATE, token=user.token)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert await gql.data(ME, token=user.token) == {"me": None}
    assert (await gql.data("{ exhibits { totalCount } }"))["exhibits"]["totalCount"] == 1


async def test_expired_token_is_refused(gql: GraphQL, services: Services, user: Account) -> None:
    async with services.database.transaction() as session:
        await session.execute(
            update(AccessToken)
            .where(AccessToken.token == stored_form(user.token))
            .values(created_at=utcnow() - timedelta(hours=2))
        )
    error = await gql.error(CREATE, token=user.token)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_the_database_holds_no_working_session(
    client: httpx.AsyncClient, gql: GraphQL, services: Services, user: Account
) -> None:
    """Whoever reads the sessions table (a backup, a replica, a leaked dump) finds
    digests: none of them logs in, over GraphQL, REST or the cookie."""
    await login(client, user.email)
    async with services.database.read_session() as session:
        stored = list(await session.scalars(select(AccessToken.__table__.c.token)))
    assert len(stored) == 2
    assert user.token not in stored
    assert stored_form(user.token) in stored
    for kept in stored:
        assert await gql.data(ME, token=kept) == {"me": None}
        bearer = {"Authorization": f"Bearer {kept}"}
        assert (await client.get("/users/me", headers=bearer)).status_code == 401
        cookie = {"Cookie": f"zoo-auth={kept}"}
        assert (await client.get("/users/me", headers=cookie)).status_code == 401
    assert (await gql.data(ME, token=user.token))["me"]["id"] == user.id


async def test_garbage_token_reads_anonymously(gql: GraphQL) -> None:
    assert await gql.data(ME, token="not-a-token") == {"me": None}
    error = await gql.error(CREATE, token="not-a-token")
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_inactive_user_is_refused(gql: GraphQL, services: Services, user: Account) -> None:
    async with services.database.transaction() as session:
        await session.execute(update(User).where(User.email == user.email).values(is_active=False))
    error = await gql.error(CREATE, token=user.token)
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert (await gql.data("{ exhibits { totalCount } }"))["exhibits"]["totalCount"] == 0


async def test_superuser_can_delete(gql: GraphQL, admin: Account) -> None:
    made = (await gql.data(CREATE, token=admin.token))["createExhibit"]
    deleted = await gql.data(
        "mutation($id: Int!) { deleteExhibit(id: $id) { id } }", {"id": made["id"]}, admin.token
    )
    assert deleted == {"deleteExhibit": {"id": made["id"]}}


async def test_cookie_login_and_json_mutation(client: httpx.AsyncClient, user: Account) -> None:
    await cookie_login(client, user.email)
    response = await client.post("/graphql", json={"query": CREATE})
    assert response.status_code == 200
    assert response.json()["data"]["createExhibit"]["name"] == "Made"
    me = await client.post("/graphql", json={"query": ME})
    assert me.json()["data"]["me"]["email"] == user.email
    cookie = client.cookies["zoo-auth"]
    logout = await client.post("/auth/cookie/logout")
    assert logout.status_code == 204
    client.cookies.clear()
    anonymous = await client.post("/graphql", json={"query": ME})
    assert anonymous.json()["data"]["me"] is None
    # The session is revoked, not just forgotten by this browser: a copy of the
    # cookie taken before logout no longer works either.
    replayed = await client.post(
        "/graphql", json={"query": ME}, headers={"Cookie": f"zoo-auth={cookie}"}
    )
    assert replayed.json()["data"]["me"] is None


async def test_cookie_login_from_another_origin_is_refused(
    client: httpx.AsyncClient, user: Account
) -> None:
    """Login CSRF: another site's form must not log a visitor in to an account it chose."""
    form = {"username": user.email, "password": PASSWORD}
    foreign = await client.post(
        "/auth/cookie/login", data=form, headers={"Origin": "https://evil.example"}
    )
    assert foreign.status_code == 403
    assert foreign.json() == {"code": "CROSS_ORIGIN_REQUEST", "detail": "CROSS_ORIGIN_REQUEST"}
    assert "set-cookie" not in foreign.headers
    own = await client.post(
        "/auth/cookie/login", data=form, headers={"Origin": str(client.base_url).rstrip("/")}
    )
    assert own.status_code == 204
    assert "zoo-auth=" in own.headers["set-cookie"]


async def test_cross_site_form_posts_with_the_cookie_run_nothing(
    client: httpx.AsyncClient, gql: GraphQL, user: Account
) -> None:
    await cookie_login(client, user.email)
    body = json.dumps({"query": CREATE})
    for content_type in (
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ):
        response = await client.post(
            "/graphql", content=body, headers={"Content-Type": content_type}
        )
        assert response.status_code in {400, 415}, (content_type, response.text)
    get = await client.get("/graphql", params={"query": CREATE})
    assert get.status_code in {400, 405}
    assert (await gql.data("{ exhibits { totalCount } }"))["exhibits"]["totalCount"] == 0


async def test_cookie_is_not_trusted_without_csrf_proof(
    app: object, settings: object, user: Account, client: httpx.AsyncClient
) -> None:
    """Even if a parser accepted it, a form-encoded request carries no cookie identity."""
    from starlette.requests import Request

    await cookie_login(client, user.email)
    cookie = client.cookies.get("zoo-auth")
    auth = app.state.auth  # type: ignore[attr-defined]

    def request(content_type: str, extra: list[tuple[bytes, bytes]] | None = None) -> Request:
        headers = [
            (b"content-type", content_type.encode()),
            (b"cookie", f"zoo-auth={cookie}".encode()),
            *(extra or []),
        ]
        return Request({"type": "http", "method": "POST", "headers": headers, "path": "/"})

    assert await auth.user_for(request("text/plain")) is None
    assert (await auth.user_for(request("application/json"))).email == user.email
    with_header = request("text/plain", [(b"x-requested-with", b"XMLHttpRequest")])
    assert (await auth.user_for(with_header)).email == user.email


async def test_an_authenticated_request_reads_its_login_in_one_statement(
    gql: GraphQL, user: Account, count_statements: StatementCounter
) -> None:
    """Every authenticated request reads its token and user: one statement, not two."""
    count_statements.statements.clear()
    assert (await gql.data(ME, token=user.token))["me"]["email"] == user.email
    assert count_statements.count == 1, count_statements.statements
    assert "JOIN" in count_statements.statements[0]
    count_statements.statements.clear()
    assert await gql.data(ME, token="not-a-token") == {"me": None}
    assert count_statements.count == 1, count_statements.statements
