"""Prometheus metrics at /metrics: what happened is counted, label values stay bounded,
production keeps them private unless asked, and several workers report as one."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect

from tests.support.accounts import PASSWORD
from tests.support.databases import dispose
from tests.support.documents import fan_out
from tests.support.servers import Live, zoo_serve
from zoo.app import create_app
from zoo.config import Settings
from zoo.observability import metrics
from zoo.observability.operations import operation_of
from zoo.storage.database import Database


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float], metric: str, **labels: str
) -> float:
    return found.get((metric, tuple(sorted(labels.items()))), 0.0)


async def test_requests_operations_refusals_and_logins_are_counted(
    client: httpx.AsyncClient, make_account: object
) -> None:
    account = await make_account()  # type: ignore[operator]
    before = samples((await client.get("/metrics")).text)
    await client.post("/graphql", json={"query": "query Census { animals { totalCount } }"})
    await client.post("/graphql", json={"query": "mutation Nope { deleteAnimal(id: 1) { id } }"})
    await client.post("/graphql", json={"query": fan_out(20)})
    await client.post("/auth/jwt/login", data={"username": account.email, "password": "wrong"})
    await client.post("/auth/jwt/login", data={"username": account.email, "password": PASSWORD})
    response = await client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    after = samples(response.text)

    def grew(metric: str, **labels: str) -> float:
        return value(after, metric, **labels) - value(before, metric, **labels)

    assert grew("zoo_graphql_operations_total", type="query", name="Census", outcome="ok") == 1
    assert (
        grew(
            "zoo_graphql_operations_total", type="mutation", name="Nope", outcome="UNAUTHENTICATED"
        )
        == 1
    )
    assert grew("zoo_refusals_total", code="QUERY_TOO_LARGE") == 1
    assert grew("zoo_http_requests_total", route="/graphql", status="200") == 3
    assert grew("zoo_logins_total", outcome="failed") == 1
    assert grew("zoo_logins_total", outcome="succeeded") == 1
    assert grew("zoo_graphql_operation_seconds_count", type="query") >= 2
    assert grew("zoo_db_statements_total") >= 1
    assert value(after, "zoo_db_connections_open") >= 1


def test_operation_names_past_the_limit_share_one_label(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "_names", set())
    monkeypatch.setattr(metrics, "MAX_OPERATION_NAMES", 3)
    labels = [metrics.operation_label(f"Op{i}") for i in range(10)]
    assert labels[:3] == ["Op0", "Op1", "Op2"]
    assert set(labels[3:]) == {metrics.OTHER}
    assert metrics.operation_label("Op1") == "Op1"
    assert metrics.operation_label("(unnamed)") == "(unnamed)"
    assert metrics.operation_label("(invalid)") == "(invalid)"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("{ animals { totalCount } }", ("query", metrics.UNNAMED)),
        ("subscription { animalEvents { kind } }", ("subscription", metrics.UNNAMED)),
        (
            "mutation($n: String!) { createExhibit(input: {name: $n}) { id } }",
            ("mutation", metrics.UNNAMED),
        ),
        (
            "# a note\n, subscription # its name:\n Watch { animalEvents { kind } }",
            ("subscription", "Watch"),
        ),
        ("querying { x }", ("query", metrics.UNNAMED)),
    ],
)
def test_an_operations_type_is_read_with_or_without_a_name(
    query: str, expected: tuple[str, str]
) -> None:
    """An unnamed subscription was taken for a query: timed, and logged as a slow
    operation once it had been open for longer than the threshold."""
    assert operation_of(query, None) == expected


async def test_an_operation_name_that_is_no_graphql_name_is_counted_as_invalid(
    client: httpx.AsyncClient,
) -> None:
    """What a client sends as ``operationName`` reaches a label (and the slow-operation
    log line) only as a GraphQL name: a line break in it forged a text log line."""
    forged = "Census\nINFO [-] zoo.auth: user logged in: admin"
    before = samples((await client.get("/metrics")).text)
    response = await client.post(
        "/graphql",
        json={"query": "query Census { animals { totalCount } }", "operationName": forged},
    )
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    after = samples((await client.get("/metrics")).text)
    labels = {dict(labels).get("name") for _, labels in after}
    assert forged not in labels
    counted = value(
        after, "zoo_graphql_operations_total", type="query", name="(invalid)", outcome="BAD_REQUEST"
    ) - value(
        before,
        "zoo_graphql_operations_total",
        type="query",
        name="(invalid)",
        outcome="BAD_REQUEST",
    )
    assert counted == 1


async def test_metrics_are_private_in_production_unless_asked(database_url: str) -> None:
    for enabled, status in ((None, 404), (True, 200)):
        settings = Settings(
            database_url=database_url, env="production", secret="s" * 40, metrics=enabled
        )
        app = create_app(settings)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://m") as http:
            assert (await http.get("/metrics")).status_code == status
        await dispose(app)


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_several_workers_report_as_one(database_url: str) -> None:
    """Whichever worker answers the scrape, it counts every worker's requests (several
    workers need PostgreSQL's events: see ``test_cli``)."""
    env = {"ZOO_LOG_LEVEL": "warning"}
    with zoo_serve(database_url, "--workers", "2", env=env) as (base, _):
        for _ in range(40):  # new connections, spread over both workers by the kernel
            httpx.get(f"{base}/health")
        scrapes = [samples(httpx.get(f"{base}/metrics").text) for _ in range(6)]
    counts = [value(s, "zoo_http_requests_total", route="/health", status="200") for s in scrapes]
    assert min(counts) >= 40, counts


SUBSCRIBE = "subscription { animalEvents { kind } }"


async def open_subscriptions(base: str, stack: AsyncExitStack) -> None:
    """One subscription over each transport."""
    http = await stack.enter_async_context(httpx.AsyncClient(base_url=base, timeout=10))
    for accept in ("text/event-stream", 'multipart/mixed;subscriptionSpec="1.0", application/json'):
        stream = http.stream(
            "POST", "/graphql", json={"query": SUBSCRIBE}, headers={"accept": accept}
        )
        assert (await stack.enter_async_context(stream)).status_code == 200
    url = base.replace("http", "ws") + "/graphql"
    for protocol, start in (("graphql-transport-ws", "subscribe"), ("graphql-ws", "start")):
        ws = await stack.enter_async_context(connect(url, subprotocols=[protocol]))  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": start, "payload": {"query": SUBSCRIBE}}))


async def scrape(base: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with httpx.AsyncClient(base_url=base) as http:
        return samples((await http.get("/metrics")).text)


async def test_subscriptions_are_counted_by_transport(live: Live) -> None:
    transports = ("sse", "multipart", "graphql-transport-ws", "graphql-ws")
    async with live() as (_, base, _token):
        before = await scrape(base)

        async def opened() -> list[float]:
            now = await scrape(base)
            return [
                value(now, "zoo_subscriptions_open", transport=t)
                - value(before, "zoo_subscriptions_open", transport=t)
                for t in transports
            ]

        async with AsyncExitStack() as stack:
            await open_subscriptions(base, stack)
            for _ in range(100):
                if await opened() == [1, 1, 1, 1]:
                    break
                await asyncio.sleep(0.05)
            assert await opened() == [1, 1, 1, 1]
        for _ in range(100):
            if await opened() == [0, 0, 0, 0]:
                break
            await asyncio.sleep(0.05)
        assert await opened() == [0, 0, 0, 0]


async def test_operations_that_streams_carry_are_counted_and_logged_when_slow(
    live: Live, caplog: pytest.LogCaptureFixture
) -> None:
    """A socket's queries, mutations and subscriptions, and a query whose client asked
    for a stream, are counted as plain HTTP's are; a subscription is not timed."""
    caplog.set_level(logging.WARNING, "zoo.graphql")
    async with live(slow_operation_ms=0.001) as (app, base, token):
        before = await scrape(base)
        url = base.replace("http", "ws") + "/graphql"
        async with connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
            init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
            await ws.send(json.dumps(init))
            assert json.loads(await ws.recv())["type"] == "connection_ack"

            async def run(id_: str, query: str) -> list[str]:
                subscribe = {"id": id_, "type": "subscribe", "payload": {"query": query}}
                await ws.send(json.dumps(subscribe))
                kinds = []
                while "complete" not in kinds:
                    kinds.append(json.loads(await asyncio.wait_for(ws.recv(), 5))["type"])
                return kinds

            assert await run("q", "query SocketCensus { animals { totalCount } }") == [
                "next",
                "complete",
            ]
            made = await run(
                "m", 'mutation SocketMake { createExhibit(input: {name: "W"}) { id } }'
            )
            assert made == ["next", "complete"]
            watch = "subscription SocketWatch { animalEvents { kind } }"
            await ws.send(json.dumps({"id": "s", "type": "subscribe", "payload": {"query": watch}}))
            broker = app.state.services.events
            for _ in range(100):
                if broker.subscribers:
                    break
                await asyncio.sleep(0.02)
            broker.interrupt()
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "next"
        async with httpx.AsyncClient(base_url=base) as http:
            streamed = await http.post(
                "/graphql",
                json={"query": "query StreamedCensus { animals { totalCount } }"},
                headers={"Accept": "text/event-stream"},
            )
            assert streamed.headers["content-type"].startswith("text/event-stream")
        after = await scrape(base)

    def grew(kind: str, name: str, outcome: str = "ok") -> float:
        labels = {"type": kind, "name": name, "outcome": outcome}
        return value(after, "zoo_graphql_operations_total", **labels) - value(
            before, "zoo_graphql_operations_total", **labels
        )

    assert grew("query", "SocketCensus") == 1
    assert grew("mutation", "SocketMake") == 1
    assert grew("subscription", "SocketWatch", "EVENTS_MISSED") == 1
    assert grew("query", "StreamedCensus") == 1
    timed = "zoo_graphql_operation_seconds_count"
    assert value(after, timed, type="subscription") == value(before, timed, type="subscription")
    slow = [r.getMessage() for r in caplog.records if r.getMessage().startswith("slow operation")]
    for name in ("SocketCensus", "SocketMake", "StreamedCensus"):
        assert any(f"operation {name}:" in line for line in slow), slow
    assert not any("SocketWatch" in line for line in slow), slow


async def test_refusals_by_the_edge_middleware_and_statement_times_are_counted(
    client: httpx.AsyncClient,
) -> None:
    before = samples((await client.get("/metrics")).text)

    async def too_large() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b" " * 100_000

    refused = await client.post(
        "/graphql", content=too_large(), headers={"content-type": "application/json"}
    )
    assert refused.status_code == 413
    await client.post("/graphql", json={"query": "{ exhibits { totalCount } }"})
    after = samples((await client.get("/metrics")).text)

    def grew(metric: str, **labels: str) -> float:
        return value(after, metric, **labels) - value(before, metric, **labels)

    assert grew("zoo_refusals_total", code="PAYLOAD_TOO_LARGE") == 1
    assert grew("zoo_db_statements_total") >= 1
    assert grew("zoo_db_statement_seconds_count") == grew("zoo_db_statements_total")
    assert value(after, "zoo_db_pool_size") >= 1


async def test_a_write_that_waits_for_its_turn_is_counted(tmp_path: Path) -> None:
    """SQLite only: PostgreSQL writes concurrently, with no turn to wait for."""
    database = Database(Settings(database_url=f"sqlite:///{tmp_path / 'turns.db'}"))
    waits = metrics.WRITE_TURN_WAITS._value.get()
    holding, release = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        async with database.writing():
            holding.set()
            await release.wait()

    async def second() -> None:
        async with database.writing():
            pass

    first_task = asyncio.create_task(first())
    await holding.wait()
    second_task = asyncio.create_task(second())
    await asyncio.sleep(0.05)
    release.set()
    await asyncio.gather(first_task, second_task)
    await database.dispose()
    assert metrics.WRITE_TURN_WAITS._value.get() == waits + 1


async def test_every_route_is_counted_under_its_template(
    client: httpx.AsyncClient, app: object, make_account: object
) -> None:
    """Route by route, from the app's own OpenAPI document: the auth and users routes
    (FastAPI's included routers) once all fell under ``(unmatched)``."""
    account = await make_account()  # type: ignore[operator]
    bearer = {"Authorization": f"Bearer {account.token}"}
    paths = app.openapi()["paths"]  # type: ignore[attr-defined]
    assert {"/users/me", "/users/{id}", "/auth/jwt/login", "/auth/register"} <= set(paths)
    for template, operations in paths.items():
        path = template.replace("{id}", "00000000-0000-0000-0000-000000000000")
        path = path.replace("{", "").replace("}", "")
        for method in operations:
            before = samples((await client.get("/metrics")).text)
            response = await client.request(method.upper(), path, headers=bearer)
            after = samples((await client.get("/metrics")).text)
            counted = {
                dict(labels)["route"]
                for (name, labels), count in after.items()
                if name == "zoo_http_requests_total"
                and count > before.get((name, labels), 0.0)
                and dict(labels)["route"] != "/metrics"
            }
            assert counted == {template}, (method, template, response.status_code, counted)
    before = samples((await client.get("/metrics")).text)
    await client.get("/no/such/route")
    after = samples((await client.get("/metrics")).text)
    assert value(after, "zoo_http_requests_total", route="(unmatched)", status="404") == (
        value(before, "zoo_http_requests_total", route="(unmatched)", status="404") + 1
    )
