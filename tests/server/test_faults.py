"""Faults under load: a PostgreSQL whose connections die while a mixed load runs.

Each run serves the app over real HTTP, drives eight clients (anonymous reads,
logged-in reads that look the token up, writes) and breaks the database's
connections over and over: backends terminated by the server, or every TCP
connection reset by a proxy in the middle of whatever it carried. The bounds
hold for every request: a 200 or a coded 503, never a 500, an uncoded error
or a dropped client connection; no answer slower than the database timeouts
plus a margin; every acknowledged write present afterwards, and no write
present that was never asked for; the server recovers by itself.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import sqlite3
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from tests.support.accounts import PASSWORD
from tests.support.databases import POSTGRES_URL, TABLES, admin_sql, asyncpg_dsn, dispose
from tests.support.faults import killing_the_backend
from tests.support.proxy import proxied
from tests.support.servers import running
from tests.support.subscriptions import mutate, next_data, subscription
from zoo.app import create_app
from zoo.auth.service import create_user
from zoo.config import Settings
from zoo.core.roles import Role
from zoo.events.broker import Change, ChangeKind, EventsMissed, Subscriber
from zoo.events.postgres import CHANNEL, RECONNECT_SECONDS, PostgresBroker, notify
from zoo.storage.database import is_unavailable

pytestmark = pytest.mark.slow
"""Real server processes, or long waits for deadlines."""

TIMEOUT = 2.0
"""Every database timeout in these runs: connect, statement, pool checkout."""
MARGIN = 4.0

READ = "{ animals(first: 10) { totalCount edges { node { id name } } } }"
ME = "{ me { email } }"
CREATE = "mutation($name: String!) { createAnimal(input: {name: $name}) { id name } }"


@pytest.fixture
def postgres_database(request: pytest.FixtureRequest) -> str:
    if not POSTGRES_URL:
        pytest.skip("ZOO_TEST_POSTGRES_URL is not set")
    url: str = request.getfixturevalue("postgres_url")
    asyncio.run(admin_sql(url, f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
    return url


@dataclass
class Storm:
    statuses: Counter[int] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    faults: list[str] = field(default_factory=list)
    acknowledged: dict[str, int] = field(default_factory=dict)
    unknown: set[str] = field(default_factory=set)
    slowest: float = 0.0


async def client_run(base: str, token: str, number: int, stop: asyncio.Event, storm: Storm) -> None:
    rng = random.Random(number)
    bearer = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        step = 0
        while not stop.is_set():
            step += 1
            roll = rng.random()
            name = f"fault {number}-{step}"
            if roll < 0.4:
                payload, headers = {"query": READ}, {}
            elif roll < 0.6:
                payload, headers = {"query": ME}, bearer
            else:
                payload, headers = {"query": CREATE, "variables": {"name": name}}, bearer
            started = time.perf_counter()
            try:
                response = await http.post("/graphql", json=payload, headers=headers)
            except httpx.HTTPError as exc:
                storm.faults.append(f"connection: {exc!r}")
                continue
            storm.slowest = max(storm.slowest, time.perf_counter() - started)
            storm.statuses[response.status_code] += 1
            try:
                body = response.json()
            except ValueError:
                storm.faults.append(f"{response.status_code} not JSON: {response.text[:200]}")
                continue
            errors = body.get("errors") or []
            for error in errors:
                storm.codes[(error.get("extensions") or {}).get("code", "(none)")] += 1
            if response.status_code not in {200, 503}:
                storm.faults.append(f"{response.status_code}: {errors}")
            if "variables" in payload:
                created = (body.get("data") or {}).get("createAnimal")
                if created:
                    storm.acknowledged[name] = created["id"]
                else:
                    storm.unknown.add(name)


async def weather(
    base: str, token: str, fault: Callable[[], Awaitable[None]], seconds: float = 6
) -> Storm:
    """Eight clients for ``seconds`` while ``fault`` strikes every 0.4 s."""
    storm = Storm()
    stop = asyncio.Event()
    clients = [asyncio.create_task(client_run(base, token, n, stop, storm)) for n in range(8)]
    strikes = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await asyncio.sleep(0.4)
        await fault()
        strikes += 1
    stop.set()
    await asyncio.gather(*clients)
    assert strikes >= 10
    return storm


async def recovered(base: str, token: str) -> None:
    """Without a restart: /health, a read and a write all succeed within a few seconds."""
    async with httpx.AsyncClient(base_url=base) as http:
        for _ in range(50):
            if (await http.get("/health")).status_code == 200:
                break
            await asyncio.sleep(0.2)
        read = await http.post("/graphql", json={"query": READ})
        assert "errors" not in read.json(), read.text
        write = await http.post(
            "/graphql",
            json={"query": CREATE, "variables": {"name": "after the storm"}},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert write.json()["data"]["createAnimal"]["name"] == "after the storm"


async def check(storm: Storm, url: str) -> None:
    assert storm.faults == [], storm.faults[:10]
    assert set(storm.statuses) <= {200, 503}, storm.statuses
    assert set(storm.codes) <= {"SERVICE_UNAVAILABLE"}, storm.codes
    assert storm.statuses[200] > 100, storm.statuses  # the load ran
    assert storm.codes["SERVICE_UNAVAILABLE"] > 0, storm.codes  # and the faults hit it
    assert storm.slowest < TIMEOUT + MARGIN, storm.slowest
    assert len(storm.acknowledged) > 20, storm
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        rows = await connection.fetch("SELECT id, name FROM animals WHERE name LIKE 'fault %'")
    finally:
        await connection.close()
    stored = {row["name"]: row["id"] for row in rows}
    for name, id_ in storm.acknowledged.items():
        assert stored.get(name) == id_, f"acknowledged write lost: {name} ({id_})"
    assert set(stored) <= set(storm.acknowledged) | storm.unknown


@asynccontextmanager
async def start(url: str) -> AsyncIterator[tuple[str, str]]:
    settings = Settings(
        database_url=url,
        env="test",
        db_connect_timeout=TIMEOUT,
        db_statement_timeout=TIMEOUT,
        db_pool_timeout=TIMEOUT,
        login_attempts_per_minute=10_000,
    )
    app = create_app(settings)
    await create_user(app.state.database, "storm@example.com", PASSWORD, role=Role.CURATOR)
    async with running(app) as base:
        async with httpx.AsyncClient(base_url=base) as http:
            login = await http.post(
                "/auth/jwt/login", data={"username": "storm@example.com", "password": PASSWORD}
            )
        yield base, login.json()["access_token"]


async def storm_through(url: str, direct_url: str, fault: Callable[[], Awaitable[None]]) -> None:
    """Serve on ``url``, weather the storm, recover, and check the data at ``direct_url``."""
    async with start(url) as (base, token):
        storm = await weather(base, token, fault)
        await recovered(base, token)
    await check(storm, direct_url)


async def test_backends_terminated_under_load(postgres_database: str) -> None:
    admin = await asyncpg.connect(asyncpg_dsn(postgres_database))
    name = urlsplit(postgres_database).path.lstrip("/")

    async def terminate() -> None:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )

    try:
        await storm_through(postgres_database, postgres_database, terminate)
    finally:
        await admin.close()


async def test_connections_reset_mid_write_under_load(postgres_database: str) -> None:
    proxy, through_proxy = await proxied(postgres_database)

    async def reset() -> None:
        await proxy.cut()
        await proxy.restore()

    try:
        await storm_through(through_proxy, postgres_database, reset)
    finally:
        await proxy.cut()


async def test_a_read_whose_connection_dies_is_read_again(
    postgres_database: str,
) -> None:
    settings = Settings(database_url=postgres_database, env="test")
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://faults") as http:
            user = await create_user(
                app.state.database, "reader@example.com", PASSWORD, role=Role.CURATOR
            )
            assert user.email == "reader@example.com"
            async with killing_the_backend(app, "SELECT animals") as killed:
                response = await http.post("/graphql", json={"query": READ})
            assert killed, "the listener never fired"
            assert response.json() == {"data": {"animals": {"totalCount": 0, "edges": []}}}
    finally:
        await dispose(app)


async def test_a_connection_lost_as_a_rest_request_ends_spares_its_answer(
    postgres_database: str,
) -> None:
    """fastapi-users' requests close their session after the answer is sent, which rolls
    back the transaction a read after the commit opened. A connection lost just then
    raised out of the app: a traceback in the log, and over HTTP the client's kept-alive
    connection dropped under its next request. The answer stands: what the request
    committed is committed, and the lost connection is dropped from the pool."""
    app = create_app(Settings(database_url=postgres_database, env="test"))
    transport = httpx.ASGITransport(app=app)
    await create_user(app.state.database, "closing@example.com", PASSWORD, role=Role.CURATOR)
    form = {"username": "closing@example.com", "password": PASSWORD}
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://faults") as http:
            http.headers["Origin"] = "http://faults"
            async with killing_the_backend(app, "ROLLBACK") as killed:
                login = await http.post("/auth/cookie/login", data=form)
            assert killed, "the listener never fired"
            assert login.status_code == 204
            async with killing_the_backend(app, "ROLLBACK") as killed:
                me = await http.get("/users/me")
            assert killed
            assert me.json()["email"] == "closing@example.com"
            http.cookies.clear()
            async with killing_the_backend(app, "ROLLBACK") as killed:
                token = (await http.post("/auth/jwt/login", data=form)).json()["access_token"]
            assert killed
            bearer = {"Authorization": f"Bearer {token}"}
            assert (await http.post("/auth/jwt/logout", headers=bearer)).status_code == 204
            assert (await http.get("/users/me", headers=bearer)).status_code == 401
    finally:
        await dispose(app)


async def test_a_write_whose_connection_dies_is_not_repeated(postgres_database: str) -> None:
    app = create_app(Settings(database_url=postgres_database, env="test"))
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://faults") as http:
            await create_user(app.state.database, "writer@example.com", PASSWORD, role=Role.CURATOR)
            form = {"username": "writer@example.com", "password": PASSWORD}
            token = (await http.post("/auth/jwt/login", data=form)).json()["access_token"]
            async with killing_the_backend(app, "INSERT INTO animals") as killed:
                response = await http.post(
                    "/graphql",
                    json={"query": CREATE, "variables": {"name": "never twice"}},
                    headers={"Authorization": f"Bearer {token}"},
                )
            assert killed
            error = response.json()["errors"][0]
            assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
            after = await http.post("/graphql", json={"query": READ})
            assert after.json()["data"]["animals"]["totalCount"] == 0
    finally:
        await dispose(app)


async def test_a_statement_error_is_a_500_with_a_request_id_not_an_outage(
    database_url: str,
) -> None:
    """A table gone missing (a bug, a botched migration) is not "try again later"."""
    app = create_app(Settings(database_url=database_url, env="test"))
    transport = httpx.ASGITransport(app=app)
    rename = "ALTER TABLE animals RENAME TO {} "
    database = app.state.database
    try:
        async with database.transaction() as session:
            await session.execute(text(rename.format("animals_away")))
        async with httpx.AsyncClient(transport=transport, base_url="http://faults") as http:
            response = await http.post("/graphql", json={"query": READ})
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR", error
        assert error["extensions"]["requestId"] == response.headers["x-request-id"]
        assert "animals_away" not in response.text
        assert "Traceback" not in response.text
        assert "retry-after" not in response.headers
    finally:
        async with database.transaction() as session:
            await session.execute(text("ALTER TABLE animals_away RENAME TO animals"))
        await dispose(app)


def test_sqlite_errors_that_time_can_cure_are_outages_and_others_are_not(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x TEXT)")
    holder.execute("BEGIN IMMEDIATE")
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError) as locked:
        other.execute("BEGIN IMMEDIATE")
    assert is_unavailable(locked.value)
    with pytest.raises(sqlite3.OperationalError) as missing:
        other.execute("SELECT * FROM nowhere")
    assert not is_unavailable(missing.value)
    with pytest.raises(sqlite3.OperationalError) as complex_pattern:
        other.execute("SELECT 'a' LIKE ?", ("%a" * 60_000,))
    assert not is_unavailable(complex_pattern.value)
    holder.close()
    other.close()


async def test_postgresql_errors_that_time_can_cure_are_outages_and_others_are_not(
    postgres_database: str,
) -> None:
    with pytest.raises(ConnectionRefusedError) as refused:
        await asyncpg.connect("postgresql://postgres@127.0.0.1:1/test", timeout=2)
    assert is_unavailable(refused.value)
    connection = await asyncpg.connect(asyncpg_dsn(postgres_database))
    try:
        with pytest.raises(asyncpg.PostgresError) as syntax:
            await connection.execute("SELEC 1")
        assert not is_unavailable(syntax.value)
        with pytest.raises(asyncpg.PostgresError) as cancelled:
            await connection.execute("SET statement_timeout = 10; SELECT pg_sleep(1)")
        assert cancelled.value.sqlstate == "57014"
        assert is_unavailable(cancelled.value)
    finally:
        await connection.close()


async def test_a_subscription_whose_read_loses_its_connection_still_delivers(
    postgres_database: str,
) -> None:
    """The event's row (the change log's copy) is read again on a fresh connection: the
    subscriber gets it."""
    app = create_app(Settings(database_url=postgres_database, env="test"))
    await create_user(app.state.database, "events@example.com", PASSWORD, role=Role.CURATOR)
    async with running(app) as base:
        async with httpx.AsyncClient(base_url=base) as http:
            form = {"username": "events@example.com", "password": PASSWORD}
            token = (await http.post("/auth/jwt/login", data=form)).json()["access_token"]
        host = base.removeprefix("http://")
        query = "subscription { animalEvents { kind animal { name } } }"
        async with subscription(host, query) as ws:
            async with killing_the_backend(app, "SELECT changes") as killed:
                created = await mutate(host, token, CREATE, {"name": "Pangolin"})
                assert created["data"]["createAnimal"]["name"] == "Pangolin"
                event = await next_data(ws)
            assert killed, "no read of the event's row was cut"
    assert event == {"animalEvents": {"kind": "CREATED", "animal": {"name": "Pangolin"}}}


async def test_an_event_listener_out_of_reach_warns_once_and_says_when_it_is_back(
    postgres_database: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Listening is tried again every second while PostgreSQL is out: a warning on each
    attempt filled the log with one line a second per process. One warning, then one
    line when listening is back."""
    caplog.set_level(logging.INFO, "zoo.events.postgres")
    proxy, through = await proxied(postgres_database)
    await proxy.cut()
    broker = PostgresBroker(through, timeout=0.5, check_seconds=0.2)
    starting = asyncio.ensure_future(broker.start())
    try:
        await asyncio.sleep(RECONNECT_SECONDS * 2.5)  # three attempts
        assert not broker.listening.is_set()
        await proxy.restore()
        await starting
        await asyncio.wait_for(broker.listening.wait(), 10)
    finally:
        await broker.stop()
        await proxy.cut()
    lines = [(r.levelname, r.getMessage()) for r in caplog.records if "listener" in r.getMessage()]
    assert [level for level, _ in lines] == ["WARNING", "INFO"], lines
    assert "trying again every 1 s" in lines[0][1]
    assert lines[1][1].startswith("event listener is back after ")


async def test_health_says_when_the_event_listener_is_reconnecting(
    postgres_database: str,
) -> None:
    """While its listener reconnects, an instance hears of no change (its subscribers are
    told once it is back) yet answers everything else: 200, and a body that says so."""
    app = create_app(Settings(database_url=postgres_database, env="test"))
    broker = app.state.services.events
    async with running(app) as base, httpx.AsyncClient(base_url=base) as http:
        healthy = (await http.get("/health")).json()
        assert (healthy["status"], healthy["events"]) == ("ok", "listening")
        # The figure is the test process's: other apps' listeners count too.
        others = await reconnecting(http)
        admin = await asyncpg.connect(asyncpg_dsn(postgres_database))
        try:
            pid = broker.listener.get_server_pid()
            await admin.execute("SELECT pg_terminate_backend($1)", pid)
        finally:
            await admin.close()
        for _ in range(100):
            if not broker.listening.is_set():
                break
            await asyncio.sleep(0.01)
        response = await http.get("/health")
        assert response.status_code == 200
        assert (response.json()["status"], response.json()["events"]) == (
            "degraded",
            "reconnecting",
        )
        assert await reconnecting(http) == others + 1
        await asyncio.wait_for(broker.listening.wait(), RECONNECT_SECONDS * 5)
        back = (await http.get("/health")).json()
        assert (back["status"], back["events"]) == ("ok", "listening")
        assert await reconnecting(http) == others


async def reconnecting(http: httpx.AsyncClient) -> float:
    """The listeners the metrics count as not listening, in this (the test's) process."""
    text = (await http.get("/metrics")).text
    (line,) = [x for x in text.splitlines() if x.startswith("zoo_event_listeners_reconnecting ")]
    return float(line.split()[1])


async def test_a_listening_session_that_stops_reading_is_warned_of_before_the_queue_fills(
    postgres_database: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Notifications wait in PostgreSQL's queue until every listening session has read
    them; once it is full, every write fails at commit. A session that listens but reads
    nothing (here: one left in a transaction) makes it grow: the share in use is a
    metric, and past the broker's threshold (lowered here: 8 GB is not filled in a test)
    a warning says what to look for."""
    caplog.set_level(logging.WARNING, "zoo.events.postgres")
    dsn = asyncpg_dsn(postgres_database)
    stuck, notifier = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    await stuck.add_listener(CHANNEL, lambda *_: None)
    reading = stuck.transaction()
    await reading.start()
    broker = PostgresBroker(postgres_database, check_seconds=0.05, queue_warning=1e-9)
    try:
        for _ in range(20):
            await notify(notifier, "unread " * 100, 5)
        await broker.start()
        for _ in range(200):
            if "notification queue" in caplog.text:
                break
            await asyncio.sleep(0.02)
        (warning,) = [r.getMessage() for r in caplog.records if "queue" in r.getMessage()]
        assert "a session listening on the database is not reading" in warning
        assert "every write fails at commit" in warning
        usage = REGISTRY.get_sample_value("zoo_event_queue_usage")
        assert usage is not None
        assert 0 < usage < 1e-3
    finally:
        await broker.stop()
        await reading.rollback()
        await stuck.close()
        await notifier.close()


async def test_an_event_listener_whose_connection_goes_silent_is_replaced(
    postgres_database: str,
) -> None:
    """No reset ever comes from a server that vanished (a failover, a dropped NAT entry):
    the listening connection is checked, and replaced once it stops answering, or this
    instance's subscribers would get no event again. Those who were subscribed meanwhile
    are told that they may have missed changes."""
    proxy, through = await proxied(postgres_database)
    broker = PostgresBroker(through, timeout=0.5, check_seconds=0.2)
    await broker.start()
    notifier = await asyncpg.connect(asyncpg_dsn(postgres_database))

    async def announced(events: Subscriber, id_: int) -> bool:
        change = Change("Animal", ChangeKind.CREATED, id_, ())
        await notify(notifier, change.to_json(), 5)
        try:
            delivery = await asyncio.wait_for(anext(events), 0.5)
        except TimeoutError:
            return False
        assert delivery.change == change
        return True

    async def none_announced(events: Subscriber, ids: range) -> None:
        for id_ in ids:
            assert not await announced(events, id_)

    try:
        async with broker.subscribe() as events:
            assert await announced(events, 1)
            proxy.silence()
            # What is announced before the listener is replaced is lost to it: its
            # subscriber is told so once the listener is back, and subscribes again.
            with pytest.raises(EventsMissed):
                await none_announced(events, range(2, 30))
        async with broker.subscribe() as again:
            assert await announced(again, 30)
    finally:
        await notifier.close()
        await broker.stop()
        await proxy.cut()


async def test_a_socket_whose_login_cannot_be_checked_during_an_outage_is_kept(
    postgres_database: str,
) -> None:
    """Each operation on a logged-in socket checks its login again, which needs the
    database: while it is out, the operation is refused with SERVICE_UNAVAILABLE and the
    socket stays (it was dropped without a close frame, with every subscription on it);
    a new socket's login (a token at connection_init, or a cookie) closes it with 1013,
    which clients retry."""
    proxy, through = await proxied(postgres_database)
    timeouts = {"db_connect_timeout": 1, "db_statement_timeout": 1, "db_pool_timeout": 1}
    # Kept logins off: a login read seconds before the outage would serve through it.
    app = create_app(
        Settings(database_url=through, env="test", session_cache_seconds=0, **timeouts)
    )
    await create_user(app.state.database, "socket@example.com", PASSWORD, role=Role.CURATOR)
    try:
        async with running(app) as base:
            async with httpx.AsyncClient(base_url=base, headers={"Origin": base}) as http:
                form = {"username": "socket@example.com", "password": PASSWORD}
                token = (await http.post("/auth/jwt/login", data=form)).json()["access_token"]
                assert (await http.post("/auth/cookie/login", data=form)).status_code == 204
                cookie = {"Cookie": f"zoo-auth={http.cookies['zoo-auth']}", "Origin": base}
            url = base.replace("http", "ws") + "/graphql"
            init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
            async with connect(url, subprotocols=[Subprotocol("graphql-transport-ws")]) as ws:
                await ws.send(json.dumps(init))
                assert json.loads(await ws.recv())["type"] == "connection_ack"
                await proxy.cut()

                async def run(id_: str) -> dict[str, Any]:
                    subscribe = {"type": "subscribe", "id": id_}
                    await ws.send(json.dumps({**subscribe, "payload": {"query": "{ __typename }"}}))
                    return dict(json.loads(await asyncio.wait_for(ws.recv(), 10)))

                refused = await run("down")
                assert (refused["id"], refused["type"]) == ("down", "error"), refused
                codes = [e["extensions"]["code"] for e in refused["payload"]]
                assert codes == ["SERVICE_UNAVAILABLE"]
                async with connect(url, subprotocols=[Subprotocol("graphql-transport-ws")]) as new:
                    await new.send(json.dumps(init))
                    with pytest.raises(ConnectionClosed) as closed:
                        await asyncio.wait_for(new.recv(), 10)
                    assert closed.value.rcvd is not None
                    assert closed.value.rcvd.code == 1013
                # A cookie is looked up as the socket opens: closed the same way.
                async with connect(
                    url,
                    subprotocols=[Subprotocol("graphql-transport-ws")],
                    additional_headers=cookie,
                ) as by_cookie:
                    with pytest.raises(ConnectionClosed) as closed:
                        await asyncio.wait_for(by_cookie.recv(), 10)
                    assert closed.value.rcvd is not None
                    assert closed.value.rcvd.code == 1013
                await proxy.restore()
                answered = await run("up")
                assert answered == {
                    "id": "up",
                    "type": "next",
                    "payload": {"data": {"__typename": "Query"}},
                }
    finally:
        await proxy.cut()
        await dispose(app)
