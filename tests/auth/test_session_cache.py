"""The logins a process keeps: read once, forgotten the moment their user's logins change,
never kept from a read that raced a change, and bounded in age, lapse and number."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx

from tests.support.accounts import Account
from tests.support.clients import GraphQL, StatementCounter
from zoo.auth.models import User
from zoo.auth.session_cache import SessionCache
from zoo.auth.sessions import USER_ENTITY, Login
from zoo.core.entity import utcnow
from zoo.events.broker import Change, ChangeKind


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def login_of(user_id: uuid.UUID | None = None, lapses_in: float = 3600) -> Login:
    user = User(id=user_id or uuid.uuid4(), email="a@example.com", role="VISITOR")
    return Login(user, utcnow() + timedelta(seconds=lapses_in))


def changed(user_id: uuid.UUID) -> Change:
    return Change(USER_ENTITY, ChangeKind.UPDATED, user_id.int)


def test_a_login_is_kept_until_its_user_changes() -> None:
    cache = SessionCache(10)
    mine, theirs = login_of(), login_of()
    cache.put("mine", mine, cache.generation)
    cache.put("theirs", theirs, cache.generation)
    assert cache.get("mine") is mine
    cache.note(changed(mine.user.id))
    assert cache.get("mine") is None
    assert cache.get("theirs") is theirs
    cache.note(Change("Animal", ChangeKind.CREATED, 1))  # not a login's change
    assert cache.get("theirs") is theirs


def test_a_read_that_raced_a_change_is_not_kept() -> None:
    cache = SessionCache(10)
    login = login_of()
    read_at = cache.generation  # the request starts reading the row ...
    cache.note(changed(uuid.uuid4()))  # ... a logout commits meanwhile (any user) ...
    cache.put("token", login, read_at)  # ... and the row it read may be the revoked one
    assert cache.get("token") is None


def test_age_lapse_gap_and_size_bound_it() -> None:
    clock = Clock()
    cache = SessionCache(10, size=2, clock=clock)
    cache.put("old", login_of(), cache.generation)
    clock.now = 10
    assert cache.get("old") is None
    cache.put("lapsed", login_of(lapses_in=-1), cache.generation)
    assert cache.get("lapsed") is None
    for name in ("a", "b", "c"):
        cache.put(name, login_of(), cache.generation)
    assert [cache.get(n) is not None for n in ("a", "b", "c")] == [False, True, True]
    cache.clear()
    assert cache.get("b") is None
    off = SessionCache(0)
    off.put("x", login_of(), off.generation)
    assert off.get("x") is None


async def test_a_token_is_read_once_and_a_change_through_zoo_is_seen_at_once(
    client: httpx.AsyncClient,
    gql: GraphQL,
    user: Account,
    admin: Account,
    count_statements: StatementCounter,
) -> None:
    me = "{ me { role } }"

    async def ask() -> tuple[Any, int]:
        count_statements.statements.clear()
        answer = await gql.data(me, token=user.token)
        return answer["me"], count_statements.count

    assert await ask() == ({"role": "CURATOR"}, 1)
    assert await ask() == ({"role": "CURATOR"}, 0)
    demoted = await client.patch(
        f"/users/{user.id}",
        json={"role": "VISITOR"},
        headers={"Authorization": f"Bearer {admin.token}"},
    )
    assert demoted.status_code == 200
    assert await ask() == ({"role": "VISITOR"}, 1)
    out = await client.post("/auth/jwt/logout", headers={"Authorization": f"Bearer {user.token}"})
    assert out.status_code == 204
    assert await ask() == (None, 1)
