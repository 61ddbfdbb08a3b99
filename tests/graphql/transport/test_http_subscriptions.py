"""Subscriptions over HTTP: Server-Sent Events (graphql-sse) and Apollo's multipart protocol.

The server runs in the test's own process (uvicorn, with the app's lifespan),
so that a test can look at the broker's subscribers and the event loop's
tasks after a client has gone.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.support.accounts import PASSWORD
from tests.support.event_streams import MULTIPART, multipart_parts
from tests.support.servers import Live
from tests.support.subscriptions import SSE, lifecycle, mutate_ok, sse_events
from zoo.auth.service import create_user
from zoo.core.roles import Role
from zoo.events.broker import Change, ChangeKind

WS = "graphql-transport-ws"
EVENTS = "subscription { animalEvents { kind animal { id name species } } }"


async def until(condition: Callable[[], bool], seconds: float = 5) -> None:
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the condition did not come true in time")


async def test_sse_stream_delivers_created_updated_deleted(live: Live) -> None:
    async with live() as (app, base, token), httpx.AsyncClient(base_url=base, timeout=10) as http:
        broker = app.state.services.events
        async with http.stream("POST", "/graphql", json={"query": EVENTS}, headers=SSE) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            await until(lambda: len(broker.subscribers) == 1)
            expected = await lifecycle(base, token)
            kinds, events = [], sse_events(stream.aiter_lines())
            async for event, data in events:
                assert event == "next", (event, data)
                payload = json.loads(data)
                kinds.append(payload["data"]["animalEvents"]["kind"])
                if len(kinds) == len(expected):
                    break
            assert kinds == expected
            assert payload["data"]["animalEvents"]["animal"]["species"] == "owl"


async def test_multipart_stream_delivers_events_as_apollo_expects(live: Live) -> None:
    async with live() as (app, base, token), httpx.AsyncClient(base_url=base, timeout=10) as http:
        broker = app.state.services.events
        async with http.stream(
            "POST", "/graphql", json={"query": EVENTS}, headers=MULTIPART
        ) as stream:
            assert stream.status_code == 200
            content_type = stream.headers["content-type"]
            assert content_type.startswith("multipart/mixed;boundary=graphql")
            assert "subscriptionSpec=1.0" in content_type
            await until(lambda: len(broker.subscribers) == 1)
            expected = await lifecycle(base, token)
            kinds = []
            async for part in multipart_parts(stream.aiter_text()):
                if part == {}:
                    continue  # a heartbeat
                kinds.append(part["payload"]["data"]["animalEvents"]["kind"])
                if len(kinds) == len(expected):
                    break
            assert kinds == expected


async def test_each_request_streams_as_its_own_accept_header_asks(live: Live) -> None:
    """The transport chosen for an ``Accept`` value is remembered: requests that take
    turns with different values must each still get their own."""
    turns: list[dict[str, str]] = [SSE, {}, MULTIPART, SSE, {}, MULTIPART]
    async with live() as (_, base, _token), httpx.AsyncClient(base_url=base, timeout=10) as http:
        for headers in turns:
            async with http.stream(
                "POST", "/graphql", json={"query": EVENTS}, headers=headers
            ) as stream:
                content_type = stream.headers["content-type"]
                if headers is SSE:
                    assert (stream.status_code, content_type.split(";")[0]) == (
                        200,
                        "text/event-stream",
                    )
                elif headers is MULTIPART:
                    assert stream.status_code == 200
                    assert content_type.startswith("multipart/mixed;boundary=graphql")
                else:
                    assert (stream.status_code, content_type) == (406, "application/json")


URQL_QUERY_ACCEPT = (
    "application/graphql-response+json, application/graphql+json, application/json, "
    "text/event-stream, multipart/mixed"
)
"""What urql's fetch exchange sends with every query and mutation."""


@pytest.mark.parametrize(
    ("accept", "answered_as"),
    [
        (URQL_QUERY_ACCEPT, "application/graphql-response+json"),
        ("application/json, text/event-stream", "application/json"),
        ("text/event-stream;q=0.5, application/json", "application/json"),
        ("text/event-stream", "text/event-stream"),
        ("text/event-stream, application/json", "text/event-stream"),
        ("application/json;q=0.5, text/event-stream", "text/event-stream"),
    ],
)
async def test_a_query_streams_only_when_its_client_prefers_a_stream(
    live: Live, accept: str, answered_as: str
) -> None:
    """A stream was chosen whenever ``text/event-stream`` was named at all: every urql
    query ran as a subscription stream, refused where subscriptions need a login."""
    async with (
        live(subscriptions_require_login=True) as (_, base, _token),
        httpx.AsyncClient(base_url=base, timeout=10) as http,
    ):
        response = await http.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"Accept": accept}
        )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].split(";")[0] == answered_as
    if answered_as == "text/event-stream":
        # LF line ends, as graphql-sse and Yoga write them: urql's parser splits events
        # at a blank LF line only, and found none in CRLF-framed events.
        assert response.content == (
            b'event: next\ndata: {"data":{"__typename":"Query"}}\n\nevent: complete\ndata: \n\n'
        )
    else:
        assert response.json() == {"data": {"__typename": "Query"}}


async def test_a_subscription_streams_whatever_else_its_client_accepts(live: Live) -> None:
    async with (
        live() as (app, base, token),
        httpx.AsyncClient(base_url=base, timeout=10) as http,
    ):
        broker = app.state.services.events
        headers = {"Accept": URQL_QUERY_ACCEPT, "Authorization": f"Bearer {token}"}
        async with http.stream("POST", "/graphql", json={"query": EVENTS}, headers=headers) as sse:
            assert sse.status_code == 200
            assert sse.headers["content-type"].startswith("text/event-stream")
            await until(lambda: len(broker.subscribers) == 1)
            await mutate_ok(base, token, 'mutation { createAnimal(input: {name: "Urq"}) { id } }')
            event, data = await anext(sse_events(sse.aiter_lines()))
    assert event == "next"
    assert json.loads(data)["data"]["animalEvents"]["animal"]["name"] == "Urq"


async def test_idle_streams_send_heartbeats(live: Live) -> None:
    async with (
        live(stream_heartbeat_seconds=0.3) as (_, base, _token),
        httpx.AsyncClient(base_url=base, timeout=10) as http,
    ):
        async with http.stream("POST", "/graphql", json={"query": EVENTS}, headers=SSE) as sse:
            event, text = await anext(sse_events(sse.aiter_lines()))
            assert (event, text) == ("comment", "ping")
        async with http.stream(
            "POST", "/graphql", json={"query": EVENTS}, headers=MULTIPART
        ) as multipart:
            assert await anext(multipart_parts(multipart.aiter_text())) == {}


async def test_a_vanished_subscriber_leaves_nothing_behind(live: Live) -> None:
    async with live() as (app, base, token):
        broker = app.state.services.events
        before = {t for t in asyncio.all_tasks() if not t.done()}
        for headers in (SSE, MULTIPART):
            async with (
                httpx.AsyncClient(base_url=base, timeout=10) as http,
                http.stream("POST", "/graphql", json={"query": EVENTS}, headers=headers) as stream,
            ):
                assert stream.status_code == 200
                await until(lambda: len(broker.subscribers) == 1)
            # The client is gone: its subscriber, queue and tasks go too.
            await until(lambda: not broker.subscribers)
            await mutate_ok(base, token, 'mutation { createAnimal(input: {name: "After"}) { id } }')
        await until(lambda: {t for t in asyncio.all_tasks() if not t.done()} <= before)


async def test_streams_count_against_the_per_address_limit(live: Live) -> None:
    async with (
        live(max_sockets_per_address=1) as (_, base, _token),
        httpx.AsyncClient(base_url=base, timeout=10) as http,
    ):
        async with http.stream("POST", "/graphql", json={"query": EVENTS}, headers=SSE) as one:
            assert one.status_code == 200
            second = await http.post("/graphql", json={"query": EVENTS}, headers=SSE)
            assert second.status_code == 429
            assert second.json()["errors"][0]["extensions"]["code"] == "TOO_MANY_REQUESTS"
            assert second.headers["retry-after"] == "5"
        await asyncio.sleep(0.2)
        async with http.stream("POST", "/graphql", json={"query": EVENTS}, headers=SSE) as again:
            assert again.status_code == 200


async def test_streams_log_in_like_sockets(live: Live) -> None:
    async with (
        live(subscriptions_require_login=True) as (_, base, token),
        httpx.AsyncClient(base_url=base, timeout=10) as http,
    ):
        for headers in (SSE, MULTIPART):
            anonymous = await http.post("/graphql", json={"query": EVENTS}, headers=headers)
            assert anonymous.status_code == 401
            assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
            with_token = {**headers, "Authorization": f"Bearer {token}"}
            async with http.stream(
                "POST", "/graphql", json={"query": EVENTS}, headers=with_token
            ) as stream:
                assert stream.status_code == 200


@pytest.mark.parametrize(
    "how",
    [
        {"method": "POST", "headers": {}},
        {"method": "POST", "headers": {"Accept": "application/graphql-response+json"}},
        {"method": "GET", "headers": {}},
    ],
)
async def test_a_subscription_without_a_stream_is_406_not_an_internal_error(
    client: httpx.AsyncClient, how: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    if how["method"] == "GET":
        response = await client.get("/graphql", params={"query": EVENTS}, headers=how["headers"])
    else:
        response = await client.post("/graphql", json={"query": EVENTS}, headers=how["headers"])
    assert response.status_code == 406
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "NOT_ACCEPTABLE"
    assert "text/event-stream" in error["message"]
    assert "multipart/mixed" in error["message"]
    assert "WebSocket" in error["message"]
    assert "Traceback" not in caplog.text


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_an_sse_subscriber_on_one_instance_sees_a_mutation_on_another(
    live: Live,
) -> None:
    async with live() as (first, a, token), live() as (second, b, _):
        assert first.state.services.events is not second.state.services.events
        async with (
            httpx.AsyncClient(base_url=b, timeout=10) as http,
            http.stream("POST", "/graphql", json={"query": EVENTS}, headers=SSE) as stream,
        ):
            await until(lambda: len(second.state.services.events.subscribers) == 1)
            await mutate_ok(a, token, 'mutation { createAnimal(input: {name: "Far"}) { id } }')
            event, data = await anext(sse_events(stream.aiter_lines()))
            assert event == "next"
            animal = json.loads(data)["data"]["animalEvents"]
            assert (animal["kind"], animal["animal"]["name"]) == ("CREATED", "Far")


async def test_a_same_origin_cookie_logs_a_stream_in(live: Live) -> None:
    async with (
        live(subscriptions_require_login=True) as (app, base, _token),
        httpx.AsyncClient(base_url=base, timeout=10) as http,
    ):
        email = f"cookie-{uuid.uuid4().hex[:8]}@example.com"
        await create_user(app.state.database, email, PASSWORD, role=Role.CURATOR)
        login = await http.post(
            "/auth/cookie/login", data={"username": email, "password": PASSWORD}
        )
        assert login.status_code == 204
        assert http.cookies.get("zoo-auth")
        async with http.stream("POST", "/graphql", json={"query": EVENTS}, headers=SSE) as stream:
            assert stream.status_code == 200
        # EventSource's way: a GET, with the cookie.
        async with http.stream("GET", "/graphql", params={"query": EVENTS}, headers=SSE) as get:
            assert get.status_code == 200
        http.cookies.clear()
        anonymous = await http.get("/graphql", params={"query": EVENTS}, headers=SSE)
        assert anonymous.status_code == 401


async def collected(stream: httpx.Response) -> list[tuple[str, Any]]:
    """The stream's events up to ``complete``: (event, its JSON data)."""
    events = []
    async for event, data in sse_events(stream.aiter_lines()):
        events.append((event, json.loads(data) if data else None))
        if event == "complete":
            break
    return events


def missed(data: Any) -> bool:
    return [e["extensions"]["code"] for e in data.get("errors", ())] == ["EVENTS_MISSED"]


async def test_a_subscriber_that_falls_behind_ends_with_events_missed(
    live: Live, caplog: pytest.LogCaptureFixture
) -> None:
    """Its client is told, with a code it can act on (subscribe again): not an internal
    error, nor a traceback in the server's log."""
    async with (
        live(event_queue_size=2) as (app, base, token),
        httpx.AsyncClient(base_url=base, timeout=10) as http,
    ):
        broker = app.state.services.events
        made = await mutate_ok(
            base, token, 'mutation { createAnimal(input: {name: "Ada"}) { id } }'
        )
        # The create is the log's first change: its row is what each event shows.
        change = Change("Animal", ChangeKind.UPDATED, made["createAnimal"]["id"], position=1)
        async with http.stream("POST", "/graphql", json={"query": EVENTS}, headers=SSE) as stream:
            await until(lambda: len(broker.subscribers) == 1)
            for _ in range(5):  # all at once, before the stream can send one
                broker.deliver(change)
            events = await collected(stream)
    assert [event for event, _ in events] == ["next", "next", "next", "complete"]
    assert [e[1]["data"]["animalEvents"]["kind"] for e in events[:2]] == ["UPDATED"] * 2
    assert missed(events[2][1]), events[2]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_an_interrupted_event_stream_ends_each_subscription_with_events_missed(
    live: Live,
) -> None:
    """Changes may have gone by unseen (a lost PostgreSQL listener, see ``test_faults``):
    every subscriber is told on its transport, and one subscribing again gets events."""
    async with (
        live() as (app, base, token),
        httpx.AsyncClient(base_url=base, timeout=10) as http,
        connect(base.replace("http", "ws") + "/graphql", subprotocols=[WS]) as ws,  # type: ignore[list-item]
    ):
        broker = app.state.services.events
        await ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": EVENTS}}))
        async with http.stream("POST", "/graphql", json={"query": EVENTS}, headers=SSE) as stream:
            await until(lambda: len(broker.subscribers) == 2)
            broker.interrupt()
            events = await collected(stream)
            messages = [json.loads(await asyncio.wait_for(ws.recv(), 5)) for _ in range(2)]
        assert [event for event, _ in events] == ["next", "complete"]
        assert missed(events[0][1]), events
        assert [(m["id"], m["type"]) for m in messages] == [("1", "next"), ("1", "complete")]
        assert missed(messages[0]["payload"]), messages
        async with http.stream("POST", "/graphql", json={"query": EVENTS}, headers=SSE) as again:
            await until(lambda: len(broker.subscribers) == 1)
            await mutate_ok(base, token, 'mutation { createAnimal(input: {name: "Bo"}) { id } }')
            event, data = await anext(sse_events(again.aiter_lines()))
            assert (event, json.loads(data)["data"]["animalEvents"]["kind"]) == ("next", "CREATED")


async def test_a_document_that_does_not_parse_is_a_typed_error_on_every_stream(
    live: Live,
) -> None:
    """A syntax error (or a document past the token limit) was raised out of the stream:
    SSE and multipart broke off mid-response, a socket's operation completed with no
    error at all, and the log took a traceback."""
    documents = {"{ x": "GRAPHQL_PARSE_FAILED", "{ " + "a " * 100 + "}": "TOO_MANY_TOKENS"}
    async with (
        live(max_tokens=50) as (_, base, _token),
        httpx.AsyncClient(base_url=base, timeout=10) as http,
        connect(base.replace("http", "ws") + "/graphql", subprotocols=[WS]) as ws,  # type: ignore[list-item]
    ):
        await ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        for number, (document, code) in enumerate(documents.items()):
            sse = await http.post("/graphql", json={"query": document}, headers=SSE)
            assert sse.text.startswith("event: next\ndata: "), sse.text
            first = sse.text.split("\n\n")[0].removeprefix("event: next\ndata: ")
            assert [e["extensions"]["code"] for e in json.loads(first)["errors"]] == [code]
            assert sse.text.split("\n\n")[1].startswith("event: complete")
            multipart = http.stream("POST", "/graphql", json={"query": document}, headers=MULTIPART)
            async with multipart as stream:
                parts = [part async for part in multipart_parts(stream.aiter_text())]
            errors = [p["payload"]["errors"] for p in parts if p.get("payload")]
            assert [[e["extensions"]["code"] for e in found] for found in errors] == [[code]]
            subscribe = {"id": str(number), "type": "subscribe", "payload": {"query": document}}
            await ws.send(json.dumps(subscribe))
            message = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert (message["type"], message["id"]) == ("error", str(number)), message
            assert [e["extensions"]["code"] for e in message["payload"]] == [code]


@pytest.mark.slow
async def test_a_subscriber_that_stops_reading_is_cut_off(live: Live) -> None:
    """A client that keeps the connection but reads nothing: once the buffers between are
    full, the stream gives up on it, and its subscription and its place are freed."""
    # A queue long enough never to overflow: only the stalled send can end this stream.
    async with live(stream_send_timeout_seconds=0.5, event_queue_size=100_000) as (
        app,
        base,
        token,
    ):
        broker = app.state.services.events
        view_sockets = app.state.graphql.sockets
        made = await mutate_ok(
            base,
            token,
            'mutation($d: String) { createExhibit(input: {name: "Fat", description: $d}) { id } }',
            d="x" * 1900,
        )
        exhibit_id = made["createExhibit"]["id"]
        host, port = base.removeprefix("http://").split(":")
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect((host, int(port)))
        body = json.dumps({"query": "subscription { exhibitEvents { exhibit { description } } }"})
        sock.sendall(
            (
                f"POST /graphql HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n{body}"
            ).encode()
        )
        try:
            await until(lambda: len(broker.subscribers) == 1)
            change = Change("Exhibit", ChangeKind.UPDATED, exhibit_id, position=1)
            for _ in range(8000):  # up to 16 MB of events, never read
                broker.deliver(change)  # straight to this process's subscribers
                await asyncio.sleep(0.001)  # as fast as the stream takes them
                if not broker.subscribers:
                    break
            await until(lambda: not broker.subscribers and not view_sockets.open, seconds=10)
        finally:
            sock.close()
