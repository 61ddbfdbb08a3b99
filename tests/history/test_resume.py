"""Resumable subscriptions: replay from the change log after a cursor, then live events,
with no gap and no duplicate, over every transport and across instances."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import httpx
import pytest

from tests.support.change_log import age_changes
from tests.support.event_streams import TRANSPORTS, results
from tests.support.servers import Live
from tests.support.subscriptions import mutate_ok
from zoo.events.broker import Change, ChangeKind
from zoo.events.change_log import decode_position, encode_position
from zoo.events.retention import prune

EVENTS = """subscription($after: String, $e: Int) {
  animalEvents(after: $after, exhibitId: $e) { kind cursor animal { id name exhibitId } } }"""
CREATE = "mutation($n: String!, $e: Int) { createAnimal(input: {name: $n, exhibitId: $e}) { id } }"
RENAME = "mutation($id: Int!, $n: String!) { updateAnimal(id: $id, input: {name: $n}) { id } }"
LOG = """query($after: String) { changes(first: 100, after: $after) {
  edges { node { cursor } } pageInfo { hasNextPage endCursor } } }"""
MOVE = "mutation($id: Int!, $e: Int!) { updateAnimal(id: $id, input: {exhibitId: $e}) { id } }"


def event(result: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in result or not result["errors"], result
    return dict(result["data"]["animalEvents"])


async def logged_cursors(base: str, token: str) -> list[str]:
    """Every change's cursor, oldest first, from the audit list."""
    cursors: list[str] = []
    after = None
    while True:
        data = await mutate_ok(base, token, LOG, after=after)
        cursors += [edge["node"]["cursor"] for edge in data["changes"]["edges"]]
        if not data["changes"]["pageInfo"]["hasNextPage"]:
            return cursors[::-1]
        after = data["changes"]["pageInfo"]["endCursor"]


async def created(base: str, token: str, name: str, exhibit: int | None = None) -> int:
    return int((await mutate_ok(base, token, CREATE, n=name, e=exhibit))["createAnimal"]["id"])


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_subscriber_resumes_after_its_cursor_then_goes_live(
    live: Live, transport: str
) -> None:
    async with live() as (_app, base, token):
        for name in ("One", "Two", "Three"):
            await created(base, token, name)
        first = (await logged_cursors(base, token))[0]
        async with results(base, transport, EVENTS, {"after": first}) as stream:
            replayed = [event(await anext(stream)) for _ in range(2)]
            assert [(e["kind"], e["animal"]["name"]) for e in replayed] == [
                ("CREATED", "Two"),
                ("CREATED", "Three"),
            ]
            await created(base, token, "Four")
            live_one = event(await asyncio.wait_for(anext(stream), 10))
            assert live_one["animal"]["name"] == "Four"
        cursors = [e["cursor"] for e in [*replayed, live_one]]
        assert cursors == (await logged_cursors(base, token))[1:]


async def test_a_replayed_change_shows_the_row_as_that_commit_left_it(live: Live) -> None:
    """Not as it is now: an UPDATED replays its own values, a DELETED a deleted row; and
    ``exhibitId`` narrows the replay as it narrows live events (a move counts for both)."""
    async with live() as (_app, base, token):
        homes = [
            (
                await mutate_ok(
                    base, token, f'mutation {{ createExhibit(input: {{name: "{n}"}}) {{ id }} }}'
                )
            )["createExhibit"]["id"]
            for n in ("Near", "Far")
        ]
        start = (await logged_cursors(base, token))[-1]
        id_ = await created(base, token, "Leo", homes[0])
        await mutate_ok(base, token, RENAME, id=id_, n="Leon")
        await mutate_ok(
            base,
            token,
            MOVE,
            id=id_,
            e=homes[1],
        )
        await created(base, token, "Elsewhere", homes[1])
        await mutate_ok(base, token, "mutation($id: Int!) { deleteAnimal(id: $id) { id } }", id=id_)
        async with results(base, "sse", EVENTS, {"after": start, "e": homes[0]}) as stream:
            seen = [event(await anext(stream)) for _ in range(3)]
        assert [(e["kind"], e["animal"]["name"], e["animal"]["exhibitId"]) for e in seen] == [
            ("CREATED", "Leo", homes[0]),
            ("UPDATED", "Leon", homes[0]),
            ("UPDATED", "Leon", homes[1]),  # moved out: counts for the exhibit it left
        ]
        query = EVENTS.replace("exhibitId } }", "exhibitId deletedAt } }")
        async with results(base, "ws", query, {"after": start}) as stream:
            kinds = [event(await anext(stream)) for _ in range(5)]
        assert [e["kind"] for e in kinds] == ["CREATED", "UPDATED", "UPDATED", "CREATED", "DELETED"]
        assert kinds[-1]["animal"]["deletedAt"] is not None


async def errors_of(
    base: str, variables: dict[str, Any], transport: str = "sse"
) -> list[dict[str, Any]]:
    async with results(base, transport, EVENTS, variables) as stream:
        result = await asyncio.wait_for(anext(stream), 10)
    return list(result["errors"])


async def test_a_cursor_too_far_behind_or_too_old_is_events_missed_at_once(live: Live) -> None:
    async with live(resume_max_events=2) as (app, base, token):
        for name in ("A", "B", "C", "D"):
            await created(base, token, name)
        cursors = await logged_cursors(base, token)
        behind = await errors_of(base, {"after": cursors[0]})
        assert [e["extensions"]["code"] for e in behind] == ["EVENTS_MISSED"]
        assert behind[0]["extensions"]["lastCursor"] == cursors[0]
        assert "More than 2 changes" in behind[0]["message"]
        async with results(base, "sse", EVENTS, {"after": cursors[1]}) as stream:
            assert [event(await anext(stream))["cursor"] for _ in range(2)] == cursors[2:]

        database = app.state.database
        await age_changes(database, days=100)
        assert await prune(database, 90) == 3  # the newest change is always kept
        old = await errors_of(base, {"after": cursors[1]})
        assert [e["extensions"]["code"] for e in old] == ["EVENTS_MISSED"]
        assert "older than the change log keeps (ZOO_HISTORY_DAYS=90 days)" in old[0]["message"]
        # The newest cursor is still good: nothing after it was pruned.
        async with results(base, "sse", EVENTS, {"after": cursors[3]}) as stream:
            await created(base, token, "E")
            assert event(await asyncio.wait_for(anext(stream), 10))["animal"]["name"] == "E"


async def test_a_cursor_that_names_no_change_is_bad_user_input(live: Live) -> None:
    async with live() as (_app, base, token):
        await created(base, token, "Only")
        for after in ("garbage", encode_position(99), "Y2hhbmdlOi0x"):
            errors = await errors_of(base, {"after": after}, "ws")
            assert [e["extensions"]["code"] for e in errors] == ["BAD_USER_INPUT"], after
            assert "after" in errors[0]["message"]


async def test_a_subscriber_cut_off_behind_the_queue_resumes_from_its_last_cursor(
    live: Live,
) -> None:
    async with live(event_queue_size=2) as (app, base, token):
        ids = [await created(base, token, f"Q{n}") for n in range(6)]
        cursors = await logged_cursors(base, token)
        broker = app.state.services.events
        async with results(base, "sse", EVENTS, {"after": cursors[0]}) as stream:
            first = event(await anext(stream))
            # Five notifications at once, before the stream can send one: too many waiting.
            for n, id_ in enumerate(ids[1:], start=1):
                broker.deliver(
                    Change("Animal", ChangeKind.CREATED, id_, (), decode_position(cursors[n]) + 100)
                )
            rest = [r async for r in stream]
        missed = rest[-1]["errors"][0]
        assert missed["extensions"]["code"] == "EVENTS_MISSED"
        delivered = [first, *(event(r) for r in rest[:-1])]
        assert missed["extensions"]["lastCursor"] == delivered[-1]["cursor"]
        async with results(
            base, "ws", EVENTS, {"after": missed["extensions"]["lastCursor"]}
        ) as again:
            resumed = [event(await anext(again)) for _ in range(len(cursors) - 1 - len(delivered))]
        assert [e["cursor"] for e in [*delivered, *resumed]] == cursors[1:]


async def test_a_restart_between_disconnect_and_resume_loses_nothing(live: Live) -> None:
    async with live() as (_app, base, token):
        await created(base, token, "Before")
        async with results(base, "ws", EVENTS, {"after": encode_position(0)}) as stream:
            last = event(await anext(stream))["cursor"]
        for name in ("While", "Down"):
            await created(base, token, name)
    async with live() as (_app, base, token):  # another server on the same database
        await created(base, token, "After")
        async with results(base, "multipart", EVENTS, {"after": last}) as stream:
            names = [event(await anext(stream))["animal"]["name"] for _ in range(3)]
    assert names == ["While", "Down", "After"]


WRITERS = 8
CHANGES_MADE = 2000
RESUME_EVERY = 50


async def write(
    bases: list[str], token: str, writer: int, count: int, acknowledged: list[tuple[str, int, str]]
) -> None:
    """``count`` changes: a create, then renames, through each instance in turn."""
    clients = [httpx.AsyncClient(base_url=b, timeout=60) for b in bases]
    headers = {"Authorization": f"Bearer {token}"}
    try:
        id_ = None
        for n in range(count):
            http = clients[n % len(clients)]
            name = f"w{writer}-{n}"
            if id_ is None:
                body = {"query": CREATE, "variables": {"n": name}}
            else:
                body = {"query": RENAME, "variables": {"id": id_, "n": name}}
            response = (await http.post("/graphql", json=body, headers=headers)).json()
            assert "errors" not in response, response
            if id_ is None:
                id_ = response["data"]["createAnimal"]["id"]
                acknowledged.append(("CREATED", id_, name))
            else:
                acknowledged.append(("UPDATED", id_, name))
    finally:
        for http in clients:
            await http.aclose()


async def subscribe_resuming(bases: list[str], transport: str, total: int) -> list[dict[str, Any]]:
    """Every event, disconnecting and resuming from the last cursor every ``RESUME_EVERY``,
    each time on the next instance."""
    received: list[dict[str, Any]] = []
    after = encode_position(0)
    for turn in itertools.count():
        base = bases[turn % len(bases)]
        async with results(base, transport, EVENTS, {"after": after}) as stream:
            for _ in range(min(RESUME_EVERY, total - len(received))):
                received.append(event(await asyncio.wait_for(anext(stream), 60)))
        if len(received) == total:
            return received
        after = received[-1]["cursor"]
    raise AssertionError("unreachable")


async def concurrent_writers_and_resuming_subscribers(bases: list[str], token: str) -> None:
    acknowledged: list[tuple[str, int, str]] = []
    each = CHANGES_MADE // WRITERS
    subscribers = [
        asyncio.create_task(subscribe_resuming(bases, t, CHANGES_MADE)) for t in TRANSPORTS
    ]
    await asyncio.sleep(0.3)
    await asyncio.gather(*(write(bases, token, w, each, acknowledged) for w in range(WRITERS)))
    streams = await asyncio.wait_for(asyncio.gather(*subscribers), 120)
    log = await logged_cursors(bases[0], token)
    # The log: dense positions in commit order, one per acknowledged write.
    assert [decode_position(c) for c in log] == list(range(1, CHANGES_MADE + 1))
    for transport, events in zip(TRANSPORTS, streams, strict=True):
        assert [e["cursor"] for e in events] == log, transport
        made = sorted((e["kind"], e["animal"]["id"], e["animal"]["name"]) for e in events)
        assert made == sorted(acknowledged), transport
    # Each writer's own changes arrive in the order it made them.
    for writer in range(WRITERS):
        names = [
            e["animal"]["name"] for e in streams[0] if e["animal"]["name"].startswith(f"w{writer}-")
        ]
        assert names == [f"w{writer}-{n}" for n in range(each)]


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_resuming_subscribers_see_exactly_the_log_across_two_instances(live: Live) -> None:
    """8 writers commit 2,000 changes through two instances while a subscriber per
    transport disconnects every 50 events and resumes, on the other instance, from its
    last cursor: each receives exactly the change log, in order."""
    async with live() as (_a, first, token), live() as (_b, second, _):
        await concurrent_writers_and_resuming_subscribers([first, second], token)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_resuming_subscribers_see_exactly_the_log_on_sqlite(live: Live) -> None:
    async with live() as (_app, base, token):
        await concurrent_writers_and_resuming_subscribers([base], token)
