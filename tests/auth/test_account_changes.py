"""A stolen token is not a takeover: changing the password or email takes the current
password, a new password ends the other sessions, and sessions can be ended at will."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from pwdlib.hashers.bcrypt import BcryptHasher
from sqlalchemy import event, select, update
from sqlalchemy.util import await_only

from tests.support.accounts import PASSWORD, Account, cookie_login, login
from tests.support.faults import killing_the_backend
from zoo.auth.models import User

NEW = "a-brand-new-password"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def me(client: httpx.AsyncClient, token: str) -> int:
    return (await client.get("/users/me", headers=bearer(token))).status_code


async def test_password_and_email_changes_need_the_current_password(
    client: httpx.AsyncClient, user: Account
) -> None:
    for change in ({"password": NEW}, {"email": "thief@example.com"}):
        for proof in ({}, {"current_password": "a wrong guess"}):
            refused = await client.patch(
                "/users/me", json={**change, **proof}, headers=bearer(user.token)
            )
            assert refused.status_code == 400, refused.text
            assert refused.json()["detail"]["code"] == "UPDATE_USER_INVALID_PASSWORD"
    # Nothing changed: the old password still logs in, the email is the same.
    assert await login(client, user.email, PASSWORD)
    proved = await client.patch(
        "/users/me",
        json={"email": "new-" + user.email, "current_password": PASSWORD},
        headers=bearer(user.token),
    )
    assert proved.status_code == 200, proved.text
    assert proved.json()["email"] == "new-" + user.email


async def test_a_new_password_ends_every_other_session(
    client: httpx.AsyncClient, user: Account
) -> None:
    other = await login(client, user.email)
    await cookie_login(client, user.email)
    cookie = client.cookies["zoo-auth"]
    client.cookies.clear()
    changed = await client.patch(
        "/users/me",
        json={"password": NEW, "current_password": PASSWORD},
        headers=bearer(user.token),
    )
    assert changed.status_code == 200, changed.text
    assert await me(client, user.token) == 200  # the session that changed it stays
    assert await me(client, other) == 401
    stolen = await client.get("/users/me", headers={"Cookie": f"zoo-auth={cookie}"})
    assert stolen.status_code == 401
    assert await login(client, user.email, NEW)


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_a_password_change_cut_off_halfway_changes_nothing(
    app: Any, client: httpx.AsyncClient, user: Account
) -> None:
    """The new password and the end of the other sessions are one transaction. Committed
    apart, a connection lost between the two (here the database backend is killed as
    the sessions are ended) left the new password set and every session of the old
    one working: the owner was told the change failed, and whoever held a stolen
    session kept it."""
    other = await login(client, user.email)
    change = {"password": NEW, "current_password": PASSWORD}
    async with killing_the_backend(app, "DELETE FROM access_tokens") as killed:
        failed = await client.patch("/users/me", json=change, headers=bearer(user.token))
    assert killed
    assert failed.status_code == 503, failed.text
    assert await me(client, other) == 200
    assert await login(client, user.email, PASSWORD)
    retried = await client.patch("/users/me", json=change, headers=bearer(user.token))
    assert retried.status_code == 200, retried.text
    assert await me(client, other) == 401
    assert await login(client, user.email, NEW)


async def login_racing_a_password_change(
    app: Any, client: httpx.AsyncClient, user: Account, moment: str = ""
) -> httpx.Response:
    """The user's login, with the owner's change of password sent once the login has
    checked the password, at its next statement that starts with ``moment``; the login
    goes on once the change is done, or waits for the login's transaction."""
    changes: list[asyncio.Task[httpx.Response]] = []
    checked = False

    def change_the_password_meanwhile(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        nonlocal checked
        if "lower(users.email)" in statement:  # the login reads the user, checks the password
            checked = True
            return
        if changes or not checked or not statement.startswith(moment):
            return
        change = {"password": NEW, "current_password": PASSWORD}
        changes.append(
            asyncio.ensure_future(
                client.patch("/users/me", json=change, headers=bearer(user.token))
            )
        )
        await_only(asyncio.wait(changes, timeout=1))

    engine = app.state.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", change_the_password_meanwhile)
    try:
        racing = await client.post(
            "/auth/jwt/login", data={"username": user.email, "password": PASSWORD}
        )
    finally:
        event.remove(engine, "before_cursor_execute", change_the_password_meanwhile)
    assert changes, "the listener never fired"
    assert (await changes[0]).status_code == 200
    return racing


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
@pytest.mark.parametrize(
    "moment",
    ["", "INSERT INTO access_tokens"],
    ids=["after the password check", "as the session is written"],
)
async def test_a_login_that_checked_the_old_password_as_it_changed_gets_no_session(
    app: Any, client: httpx.AsyncClient, user: Account, moment: str
) -> None:
    """A login checks the password, then writes its session. A new password landing in
    between (its sessions ended before the login's was written) left that login a
    session made with the old password: someone who knows it could keep logging in,
    and the owner's change would not shut them out. The change lands here before the
    login checks the password again (it is refused), or while it writes its session
    (the change waits for it, then ends it). (On SQLite one process writes at a time,
    and the two never overlap.)"""
    racing = await login_racing_a_password_change(app, client, user, moment)
    if moment:
        assert racing.status_code == 200, racing.text
        assert await me(client, racing.json()["access_token"]) == 401
    else:
        assert racing.status_code == 400
        assert racing.json()["detail"] == "LOGIN_BAD_CREDENTIALS"
    assert await me(client, user.token) == 200
    assert await login(client, user.email, NEW)


async def store_under_bcrypt(app: Any, email: str) -> None:
    async with app.state.database.transaction() as session:
        users = User.__table__
        await session.execute(
            update(users)
            .where(users.c.email == email)
            .values(hashed_password=BcryptHasher().hash(PASSWORD))
        )


async def stored_hash(app: Any, email: str) -> str:
    async with app.state.database.transaction() as session:
        users = User.__table__
        return str(
            await session.scalar(select(users.c.hashed_password).where(users.c.email == email))
        )


async def test_a_password_stored_under_an_older_scheme_is_hashed_again_at_login(
    app: Any, client: httpx.AsyncClient, user: Account
) -> None:
    await store_under_bcrypt(app, user.email)
    assert (await stored_hash(app, user.email)).startswith("$2b$")
    assert await login(client, user.email)
    assert (await stored_hash(app, user.email)).startswith("$argon2")
    assert await login(client, user.email)


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_a_stronger_hash_never_puts_back_a_password_changed_meanwhile(
    app: Any, client: httpx.AsyncClient, user: Account
) -> None:
    """A login with a password stored under an older scheme (bcrypt, or weaker argon2
    settings) stores it again, hashed the current way. Written unconditionally, that
    put the old password back over a new one set while the login checked it: the
    owner's new password was lost, and the old one worked again. (On SQLite one
    process writes at a time, and the two never overlap.)"""
    await store_under_bcrypt(app, user.email)
    racing = await login_racing_a_password_change(app, client, user)
    assert racing.status_code == 400, racing.text
    assert await login(client, user.email, NEW)
    stale = {"username": user.email, "password": PASSWORD}
    assert (await client.post("/auth/jwt/login", data=stale)).status_code == 400


async def test_logout_all_ends_every_session(client: httpx.AsyncClient, user: Account) -> None:
    second = await login(client, user.email)
    ended = await client.post("/auth/logout-all", headers=bearer(second))
    assert ended.status_code == 204
    assert await me(client, user.token) == 401
    assert await me(client, second) == 401
    assert (await client.post("/auth/logout-all")).status_code == 401


async def test_a_superuser_ends_a_users_sessions(
    client: httpx.AsyncClient, user: Account, admin: Account
) -> None:
    refused = await client.post(f"/users/{admin.id}/logout-all", headers=bearer(user.token))
    assert refused.status_code == 403
    ended = await client.post(f"/users/{user.id}/logout-all", headers=bearer(admin.token))
    assert ended.status_code == 204
    assert await me(client, user.token) == 401
    assert await me(client, admin.token) == 200
    missing = await client.post(
        "/users/00000000-0000-0000-0000-000000000000/logout-all", headers=bearer(admin.token)
    )
    assert missing.status_code == 404


async def test_a_superuser_resets_a_password_without_knowing_it_and_ends_all_sessions(
    client: httpx.AsyncClient, user: Account, admin: Account
) -> None:
    reset = await client.patch(
        f"/users/{user.id}", json={"password": NEW}, headers=bearer(admin.token)
    )
    assert reset.status_code == 200, reset.text
    assert await me(client, user.token) == 401
    assert await login(client, user.email, NEW)


async def test_null_fields_are_refused_not_stored(client: httpx.AsyncClient, user: Account) -> None:
    """A null email reached the database (NOT NULL) and came back as "email already exists"."""
    for change in ({"email": None}, {"password": None}, {"is_active": None}):
        refused = await client.patch(
            "/users/me", json={**change, "current_password": PASSWORD}, headers=bearer(user.token)
        )
        assert refused.status_code == 422, refused.text
        [error] = refused.json()["detail"]
        assert error["loc"] == ["body", next(iter(change))]
    me_now = await client.get("/users/me", headers=bearer(user.token))
    assert me_now.json()["email"] == user.email
    assert me_now.json()["is_active"] is True
    assert await login(client, user.email, PASSWORD)
