"""``make bench``: every performance goal, measured against its baseline in one run.

Prints a table (goal, ours, baseline, ratio, target, met). Timings are medians
of interleaved runs; ratios, not absolute times, are what carry from one
machine to another.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event

from bench import datasets
from bench.http import Client, serve, throughput
from zoo.app import create_app
from zoo.config import Settings
from zoo.core.group_sizes import PURPOSE
from zoo.core.keyset import encode_cursor

NESTED = (
    "{ exhibits(first: 100) { edges { node { id name location"
    " animals { id name species description createdAt } } } } }"
)
SMALL = "{ animal(id: 1) { id name species } }"
DEEP_ORDERINGS = {"ID": "id", "NAME": "name", "CREATED_AT": "created_at"}


@dataclass
class Row:
    goal: str
    ours: str
    baseline: str
    ratio: float | None
    target: str
    met: bool | None

    def cells(self) -> list[str]:
        ratio = "" if self.ratio is None else f"{self.ratio:.2f}x"
        met = "" if self.met is None else ("met" if self.met else "NOT MET")
        return [self.goal, self.ours, self.baseline, ratio, self.target, met]


def median_interleaved(
    ours: Callable[[], Any], baseline: Callable[[], Any], rounds: int
) -> tuple[float, float]:
    ours(), baseline()  # warm both
    ours_times, base_times = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        ours()
        ours_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        baseline()
        base_times.append(time.perf_counter() - started)
    return statistics.median(ours_times), statistics.median(base_times)


def sqlite_nested_baseline(path: Path) -> bytes:
    """The nested query's data, fetched and serialised by hand with sqlite3 and json."""
    connection = sqlite3.connect(path)
    try:
        exhibits = connection.execute(
            "SELECT id, name, location FROM exhibits WHERE deleted_at IS NULL ORDER BY id LIMIT 100"
        ).fetchall()
        ids = [row[0] for row in exhibits]
        marks = ",".join("?" * len(ids))
        animals = connection.execute(
            "SELECT id, name, species, description, created_at, exhibit_id FROM animals"
            f" WHERE deleted_at IS NULL AND exhibit_id IN ({marks}) ORDER BY exhibit_id, id",
            ids,
        ).fetchall()
    finally:
        connection.close()
    groups: dict[int, list[dict[str, Any]]] = {}
    for id_, name, species, description, created_at, exhibit_id in animals:
        groups.setdefault(exhibit_id, []).append(
            {
                "id": id_,
                "name": name,
                "species": species,
                "description": description,
                "createdAt": created_at,
            }
        )
    edges = [
        {"node": {"id": id_, "name": name, "location": location, "animals": groups.get(id_, [])}}
        for id_, name, location in exhibits
    ]
    return json.dumps({"data": {"exhibits": {"edges": edges}}}).encode()


IDENTITY = {"Accept-Encoding": "identity"}
"""In-process goals measure Zoo's own work: httpx asks for every encoding by default,
and compressing the answers (reported on its own, with goal 1) would count in both."""


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def nested_over_socket(path: Path, label: str, rounds: int, target: float | None) -> Row:
    env = {"ZOO_DATABASE_URL": f"sqlite:///{path}", "ZOO_ENV": "test", "ZOO_LOG_LEVEL": "warning"}
    with serve("zoo.main:app", env) as port:
        client = Client(port)
        try:
            ours, base = median_interleaved(
                lambda: client.graphql(NESTED), lambda: sqlite_nested_baseline(path), rounds
            )
        finally:
            client.close()
    ratio = ours / base
    return Row(
        f"1. nested list, {label}, over a socket",
        fmt_ms(ours),
        fmt_ms(base) + " (sqlite3+json)",
        ratio,
        "<= 2.5x" if target else "report",
        ratio <= target if target else None,
    )


def compression(path: Path, rounds: int) -> list[Row]:
    """Reported with goal 1: the 5,000-animal nested answer's bytes and time as each
    ``Accept-Encoding`` gets it (``zoo.server.compression``), beside no compression."""
    env = {"ZOO_DATABASE_URL": f"sqlite:///{path}", "ZOO_ENV": "test", "ZOO_LOG_LEVEL": "warning"}
    body = json.dumps({"query": NESTED}).encode()
    rows = []
    with serve("zoo.main:app", env) as port:
        client = Client(port)
        try:

            def asking(encoding: str) -> Callable[[], int]:
                def send() -> int:
                    status, answer = client.request(
                        "POST", "/graphql", body, {"Accept-Encoding": encoding}
                    )
                    assert status == 200
                    return len(answer)

                return send

            plain = asking("identity")
            plain_bytes = plain()
            for encoding in ("gzip", "br", "zstd"):
                encoded = asking(encoding)
                size = encoded()
                ours, base = median_interleaved(encoded, plain, rounds)
                rows.append(
                    Row(
                        f"1. 5,000 animals as {encoding}",
                        f"{fmt_ms(ours)}, {size / 1024:.0f} KB",
                        f"{fmt_ms(base)}, {plain_bytes / 1024:.0f} KB (identity)",
                        ours / base,
                        "report",
                        None,
                    )
                )
        finally:
            client.close()
    return rows


def nested_in_process(path: Path, rounds: int) -> Row:
    app = create_app(Settings(database_url=f"sqlite:///{path}", env="test"))
    loop = asyncio.new_event_loop()
    transport = httpx.ASGITransport(app=app)
    client = httpx.AsyncClient(transport=transport, base_url="http://bench", headers=IDENTITY)

    def ours() -> None:
        response = loop.run_until_complete(client.post("/graphql", json={"query": NESTED}))
        response.raise_for_status()

    try:
        ours_time, base = median_interleaved(ours, lambda: sqlite_nested_baseline(path), rounds)
    finally:
        loop.run_until_complete(client.aclose())
        loop.run_until_complete(app.state.shutdown())
        loop.close()
    return Row(
        "1. nested list, 5,000 animals, in process (ASGI)",
        fmt_ms(ours_time),
        fmt_ms(base) + " (sqlite3+json)",
        ours_time / base,
        "report",
        None,
    )


def small_query(url: str, label: str, requests: int, goal: bool) -> Row:
    env = {"ZOO_DATABASE_URL": url, "ZOO_ENV": "test", "ZOO_LOG_LEVEL": "warning"}
    body = json.dumps({"query": SMALL}).encode()
    results: dict[str, list[float]] = {"ours": [], "base": []}
    with serve("zoo.main:app", env) as ours_port, serve("bench.baseline_app:app", env) as base_port:
        for _ in range(3):
            results["ours"].append(
                asyncio.run(throughput(ours_port, "POST", "/graphql", body, 8, requests))
            )
            results["base"].append(
                asyncio.run(throughput(base_port, "GET", "/animals/1", b"", 8, requests))
            )
    ours, base = statistics.median(results["ours"]), statistics.median(results["base"])
    ratio = ours / base
    return Row(
        f"2. small query, 8 clients, {label}",
        f"{ours:.0f} req/s",
        f"{base:.0f} req/s (FastAPI)",
        ratio,
        ">= 0.6x" if goal else "report",
        ratio >= 0.6 if goal else None,
    )


class _Unrecorded:
    """Stands in for every metric: each call records nothing (the baseline of goal 6)."""

    def __getattr__(self, _: str) -> Callable[..., _Unrecorded]:
        return lambda *_, **__: self


def answered(response: httpx.Response) -> None:
    """A GraphQL answer with no error."""
    assert "errors" not in response.json(), response.text


def cpu_per_post(
    loop: asyncio.AbstractEventLoop,
    client: httpx.AsyncClient,
    requests: int,
    body: dict[str, Any],
    headers: dict[str, str],
    check: Callable[[httpx.Response], object],
) -> float:
    """CPU seconds per ``POST /graphql`` of ``body``, in process, each answer passed to
    ``check`` (so that a refusal is never timed as an answer)."""

    async def run() -> None:
        for _ in range(requests):
            check(await client.post("/graphql", json=body, headers=headers))

    started = time.process_time()
    loop.run_until_complete(run())
    return (time.process_time() - started) / requests


def instrumentation_cost(path: Path, requests: int, rounds: int) -> list[Row]:
    """CPU time per small query in process, interleaved: as shipped (metrics recorded,
    tracing off), with every metric call a no-op, and with tracing on (spans batched to
    an exporter that drops them)."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    from zoo.observability import metrics

    class Dropped(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    traced = TracerProvider()
    traced.add_span_processor(BatchSpanProcessor(Dropped()))
    settings = Settings(database_url=f"sqlite:///{path}", env="production", secret="b" * 40)
    loop = asyncio.new_event_loop()
    apps = {"shipped": create_app(settings), "traced": create_app(settings, tracer_provider=traced)}
    clients = {
        name: httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench", headers=IDENTITY
        )
        for name, app in apps.items()
    }
    recorded = {
        name: value
        for name, value in vars(metrics).items()
        if name.isupper() and hasattr(value, "_name")  # the metric objects, not constants
    }
    body = {"query": SMALL}

    def cpu_per_request(client: httpx.AsyncClient) -> float:
        return cpu_per_post(loop, client, requests, body, {}, httpx.Response.raise_for_status)

    times: dict[str, list[float]] = {"shipped": [], "unrecorded": [], "traced": []}
    try:
        for client in clients.values():
            cpu_per_request(client)  # warm
        for _ in range(rounds):
            times["shipped"].append(cpu_per_request(clients["shipped"]))
            for name in recorded:
                setattr(metrics, name, _Unrecorded())
            try:
                times["unrecorded"].append(cpu_per_request(clients["shipped"]))
            finally:
                for name, metric in recorded.items():
                    setattr(metrics, name, metric)
            times["traced"].append(cpu_per_request(clients["traced"]))
    finally:
        for client in clients.values():
            loop.run_until_complete(client.aclose())
        for app in apps.values():
            loop.run_until_complete(app.state.shutdown())
        loop.close()
        traced.shutdown()
    shipped, unrecorded, with_spans = (statistics.median(times[k]) for k in times)
    us = "{:.0f} µs CPU".format
    return [
        Row(
            "6. small query, metrics on, tracing off (in process)",
            us(shipped * 1e6),
            us(unrecorded * 1e6) + " (no metrics)",
            shipped / unrecorded,
            "<= 1.05x",
            shipped / unrecorded <= 1.05,
        ),
        Row(
            "6. small query, tracing on (in process)",
            us(with_spans * 1e6),
            us(shipped * 1e6) + " (tracing off)",
            with_spans / shipped,
            "report",
            None,
        ),
    ]


def statement_counts(tmp: Path) -> Row:
    query = (
        "{ exhibits(first: 100) { totalCount edges { node { id animals { id"
        " exhibit { id staff { id } } } } } } }"
    )
    counts = {}
    for exhibits in (10, 100):
        path = tmp / f"statements-{exhibits}.db"
        datasets.sqlite_database(path, exhibits, 5)
        app = create_app(Settings(database_url=f"sqlite:///{path}", env="test"))
        statements: list[str] = []

        def count(*args: Any, statements: list[str] = statements) -> None:
            # The cost estimate's reads of list sizes are made once per change to them
            # (core.group_sizes), not per request: they are not the request's statements.
            estimate = args[4] is not None and args[4].execution_options.get(PURPOSE)
            if args[2].lstrip().upper().startswith("SELECT") and not estimate:
                statements.append(args[2])

        event.listen(app.state.database.engine.sync_engine, "before_cursor_execute", count)

        async def run(app: Any = app) -> None:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://b") as client:
                (await client.post("/graphql", json={"query": query})).raise_for_status()
            await app.state.shutdown()

        asyncio.run(run())
        counts[exhibits] = len(statements)
    limit = 4 + 1  # exhibits, animals, exhibit, staff, plus totalCount
    met = counts[10] == counts[100] <= limit
    return Row(
        "3. SQL statements, exhibits>animals>exhibit>staff",
        f"{counts[100]} (100 exhibits)",
        f"{counts[10]} (10 exhibits)",
        None,
        f"equal, <= {limit}",
        met,
    )


def deep_pages(url: str, label: str, rounds: int, rows: dict[str, tuple[Any, int]]) -> list[Row]:
    env = {"ZOO_DATABASE_URL": url, "ZOO_ENV": "test", "ZOO_LOG_LEVEL": "warning"}
    out = []
    with serve("zoo.main:app", env) as port:
        client = Client(port)
        try:
            for field, (value, id_) in rows.items():
                values = [] if field == "ID" else [value]
                cursor = encode_cursor(DEEP_ORDERINGS[field], values, id_)
                first = (
                    f"{{ animals(first: 20, orderBy: {{field: {field}}})"
                    " { edges { node { id } } } }"
                )
                deep = (
                    f'{{ animals(first: 20, after: "{cursor}", orderBy: {{field: {field}}})'
                    " { edges { node { id } } } }"
                )
                deep_time, first_time = median_interleaved(
                    lambda deep=deep: client.graphql(deep),
                    lambda first=first: client.graphql(first),
                    rounds,
                )
                ratio = deep_time / first_time
                out.append(
                    Row(
                        f"4. page after 50,000 rows, {field}, {label}",
                        fmt_ms(deep_time),
                        fmt_ms(first_time) + " (first page)",
                        ratio,
                        "<= 1.3x",
                        ratio <= 1.3,
                    )
                )
        finally:
            client.close()
    return out


def deep_page_keys() -> dict[str, tuple[Any, int]]:
    """Sort keys of the 50,000th row of the deep-page data set, for each ordering."""
    exhibit_rows, animal_rows = datasets.rows(100, 600)
    del exhibit_rows
    by = {
        "ID": sorted(animal_rows, key=lambda r: r[0]),
        "NAME": sorted(animal_rows, key=lambda r: (r[1], r[0])),
        "CREATED_AT": sorted(animal_rows, key=lambda r: (r[5], r[0])),
    }
    index = {"ID": 0, "NAME": 1, "CREATED_AT": 5}
    return {field: (rows[49_999][index[field]], rows[49_999][0]) for field, rows in by.items()}


def memory(path: Path) -> Row:
    query = (
        "{ exhibits(first: 100) { edges { node { id name location"
        " animals { id name species description createdAt } } } } }"
    )
    app = create_app(Settings(database_url=f"sqlite:///{path}", env="test"))

    async def run() -> tuple[int, int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://b") as client:
            await client.post("/graphql", json={"query": query})  # warm caches
            gc.collect()
            tracemalloc.start()
            before = tracemalloc.get_traced_memory()[0]
            response = await client.post("/graphql", json={"query": query})
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            size = len(response.content)
        await app.state.shutdown()
        # The response body itself is held by the test client; count it once.
        return peak - before - size, size

    extra, size = asyncio.run(run())
    ratio = extra / size
    return Row(
        "5. memory, 20,000-animal response",
        f"{extra / 2**20:.1f} MiB extra peak",
        f"{size / 2**20:.1f} MiB body",
        ratio,
        "<= ~3x",
        ratio <= 3.0,
    )


GATED = "{ staff(first: 100) { edges { node { name email phone notes exhibit { name } } } } }"
UNGATED = "{ staff(first: 100) { edges { node { name exhibit { name } } } } }"


def gated_columns(path: Path, requests: int, rounds: int) -> list[Row]:
    """CPU time per request in process, interleaved: a KEEPER's page of 100 staff with
    the contact fields (gated by role), against the same page without them asked
    anonymously (the goal), and asked by the same KEEPER (the gate's own cost: the role
    is checked once per list, and the fast path keeps the list)."""
    from zoo.auth.service import create_user
    from zoo.core.roles import Role
    from zoo.exhibits.schemas import ExhibitCreate
    from zoo.staff.schemas import StaffMemberCreate

    settings = Settings(database_url=f"sqlite:///{path}", env="production", secret="b" * 40)
    loop = asyncio.new_event_loop()
    app = create_app(settings)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bench", headers=IDENTITY
    )

    async def prepare() -> str:
        services = app.state.services
        exhibit = await services.exhibits.create(ExhibitCreate(name="Staffed"))
        for n in range(100):
            await services.staff.create(
                StaffMemberCreate(
                    name=f"Staff {n}",
                    email=f"staff{n}@example.com",
                    phone="+1-555-0100",
                    notes="Feeds the lions",
                    exhibit_id=exhibit.id,
                )
            )
        await create_user(
            app.state.database, "keeper@example.com", "bench password", role=Role.KEEPER
        )
        form = {"username": "keeper@example.com", "password": "bench password"}
        return str((await client.post("/auth/jwt/login", data=form)).json()["access_token"])

    def cpu_per_request(query: str, headers: dict[str, str]) -> float:
        return cpu_per_post(loop, client, requests, {"query": query}, headers, answered)

    times: dict[str, list[float]] = {"keeper": [], "anonymous": [], "ungated": []}
    try:
        keeper = {"Authorization": f"Bearer {loop.run_until_complete(prepare())}"}
        cpu_per_request(GATED, keeper)  # warm
        cpu_per_request(UNGATED, {})
        for _ in range(rounds):
            times["keeper"].append(cpu_per_request(GATED, keeper))
            times["anonymous"].append(cpu_per_request(UNGATED, {}))
            times["ungated"].append(cpu_per_request(UNGATED, keeper))
    finally:
        loop.run_until_complete(client.aclose())
        loop.run_until_complete(app.state.shutdown())
        loop.close()
    gated, plain, ungated = (statistics.median(times[k]) for k in times)
    us = "{:.0f} µs CPU".format
    return [
        Row(
            "7. 100 staff with contact fields, as a KEEPER (in process)",
            us(gated * 1e6),
            us(plain * 1e6) + " (anonymous, without them)",
            gated / plain,
            "<= 1.1x",
            gated / plain <= 1.1,
        ),
        Row(
            "7. the same, against the KEEPER without them (the gate alone)",
            us(gated * 1e6),
            us(ungated * 1e6) + " (KEEPER, without them)",
            gated / ungated,
            "report",
            None,
        ),
    ]


CREATE = (
    'mutation { createAnimal(input: {name: "Written", species: "Lion", exhibitId: 1})'
    " { id name species } }"
)
PLAIN_CREATE = json.dumps({"name": "Written", "species": "Lion", "exhibitId": 1}).encode()


def writes(url: str, label: str, rounds: int) -> list[Row]:
    """Goal 8: a create through GraphQL beside the same create through a plain FastAPI
    route (the same token check, the exhibit checked, an ORM insert), sequential and
    interleaved; an update and a delete of the rows it made, reported."""
    env = {
        "ZOO_DATABASE_URL": url,
        "ZOO_ENV": "test",
        "ZOO_LOG_LEVEL": "warning",
        "ZOO_LOGIN_ATTEMPTS_PER_MINUTE": "1000",
    }
    with serve("zoo.main:app", env) as ours_port, serve("bench.baseline_app:app", env) as base_port:
        headers = {"Authorization": f"Bearer {datasets.superuser_token(url, ours_port)}"}
        ours, base = Client(ours_port), Client(base_port)
        made: list[int] = []

        def create() -> None:
            body = json.dumps({"query": CREATE}).encode()
            status, answer = ours.request("POST", "/graphql", body, headers)
            assert status == 200, answer
            made.append(json.loads(answer)["data"]["createAnimal"]["id"])

        def plain_create() -> None:
            status, answer = base.request("POST", "/animals", PLAIN_CREATE, headers)
            assert status == 200, answer

        def timed(operation: str, ids: list[int]) -> float:
            times = []
            for id_ in ids:
                query = operation.replace("ID", str(id_))
                body = json.dumps({"query": query}).encode()
                started = time.perf_counter()
                status, answer = ours.request("POST", "/graphql", body, headers)
                times.append(time.perf_counter() - started)
                assert status == 200, answer
                assert b'"errors"' not in answer, answer
            return statistics.median(times)

        ours_create, base_create = median_interleaved(create, plain_create, rounds)
        sample = made[: max(20, rounds // 2)]
        update = timed(
            'mutation { updateAnimal(id: ID, input: {name: "Renamed"}) { id name } }', sample
        )
        delete = timed("mutation { deleteAnimal(id: ID) { id } }", sample)
        ours.close()
        base.close()
    ratio = ours_create / base_create
    return [
        Row(
            f"8. create, {label}",
            fmt_ms(ours_create),
            f"{fmt_ms(base_create)} (FastAPI)",
            ratio,
            "<= 1.2x",
            ratio <= 1.2,
        ),
        Row(
            f"8. update / delete, {label}",
            f"{fmt_ms(update)} / {fmt_ms(delete)}",
            "",
            None,
            "report",
            None,
        ),
    ]


def change_log_cost(urls: tuple[str, str], label: str, rounds: int) -> list[Row]:
    """Goal 10: a create, and an update, through GraphQL with the change log beside the
    same without it (``bench.unlogged_app``), interleaved; each server on its own copy
    of the data (``urls``: SQLite admits one server per file)."""
    rows = []
    env = {"ZOO_ENV": "test", "ZOO_LOG_LEVEL": "warning", "ZOO_LOGIN_ATTEMPTS_PER_MINUTE": "1000"}
    with (
        serve("zoo.main:app", {**env, "ZOO_DATABASE_URL": urls[0]}) as logged_port,
        serve("bench.unlogged_app:app", {**env, "ZOO_DATABASE_URL": urls[1]}) as plain_port,
    ):
        token = datasets.superuser_token(urls[0], logged_port)
        shared = urls[1] == urls[0]  # else its own data, its own user
        token_plain = token if shared else datasets.superuser_token(urls[1], plain_port)
        clients = [
            (Client(logged_port), {"Authorization": f"Bearer {token}"}),
            (Client(plain_port), {"Authorization": f"Bearer {token_plain}"}),
        ]

        def sender(index: int, query: str) -> Callable[[], None]:
            client, headers = clients[index]
            body = json.dumps({"query": query}).encode()

            def send() -> None:
                status, answer = client.request("POST", "/graphql", body, headers)
                assert status == 200, answer
                assert b'"errors"' not in answer, answer

            return send

        rename = 'mutation { updateAnimal(id: 1, input: {species: "Renamed"}) { id } }'
        for operation, query in (("create", CREATE), ("update", rename)):
            logged, plain = median_interleaved(sender(0, query), sender(1, query), rounds)
            ratio = logged / plain
            rows.append(
                Row(
                    f"10. {operation} with the change log, {label}",
                    fmt_ms(logged),
                    f"{fmt_ms(plain)} (without)",
                    ratio,
                    "<= 1.25x",
                    ratio <= 1.25,
                )
            )
        for client, _ in clients:
            client.close()
    return rows


FILTERED = (
    '{ animals(first: 20, where: {name: {includesInsensitive: "li"},'
    ' createdAt: {greaterThan: "2026-01-01T13:53:20Z"}},'
    " sort: [{field: SPECIES}, {field: NAME, direction: DESC}]) { edges { node { id } } } }"
)
SUMMARY = (
    "{ animalsSummary { count bySpecies { species count } byExhibit { exhibit { id } count }"
    " createdPerMonth { month count } } }"
)


def query_power(url: str, rounds: int) -> list[Row]:
    """Goal 9 (issue 36), on PostgreSQL with 100,000 named animals: a filtered page in
    a two-key sort against the unfiltered first page; a page 2,000 deep in that sort and
    a page back (`last`, `before`) against the first and a page forward; the dashboard's
    summary against the same four counts hand-written (``bench/baseline_app.py``)."""
    exhibit_rows, animal_rows = datasets.rows(100, 1000, named=True)
    del exhibit_rows
    # species ascending, name descending, then the id descending (the last key's way).
    ordered = sorted(animal_rows, key=lambda r: r[0], reverse=True)
    ordered = sorted(ordered, key=lambda r: r[1], reverse=True)
    ordered = sorted(ordered, key=lambda r: r[3])
    deep_row = ordered[1_999]
    deep_cursor = encode_cursor("species,-name", [deep_row[3], deep_row[1]], deep_row[0])
    middle = sorted(animal_rows, key=lambda r: (r[1], r[0]))[50_000]
    name_cursor = encode_cursor("name", [middle[1]], middle[0])
    sort = "sort: [{field: SPECIES}, {field: NAME, direction: DESC}]"
    env = {"ZOO_DATABASE_URL": url, "ZOO_ENV": "test", "ZOO_LOG_LEVEL": "warning"}
    out = []
    with serve("zoo.main:app", env) as port, serve("bench.baseline_app:app", env) as base_port:
        client, baseline = Client(port), Client(base_port)
        try:
            ids = "{ edges { node { id } } } }"
            by_name = "sort: [{field: NAME}]) " + ids
            cases = [
                (
                    "filtered page in a two-key sort",
                    FILTERED,
                    "{ animals(first: 20) " + ids,
                    "unfiltered first page",
                    3.0,
                ),
                (
                    "page 2,000 deep in a two-key sort",
                    f'{{ animals(first: 20, after: "{deep_cursor}", {sort}) ' + ids,
                    f"{{ animals(first: 20, {sort}) " + ids,
                    "its first page",
                    1.3,
                ),
                (
                    "last: 20, before: (NAME, row 50,000)",
                    f'{{ animals(last: 20, before: "{name_cursor}", ' + by_name,
                    f'{{ animals(first: 20, after: "{name_cursor}", ' + by_name,
                    "first: 20, after: the same",
                    1.3,
                ),
            ]
            for label, ours, theirs, base_label, target in cases:
                ours_time, base_time = median_interleaved(
                    lambda q=ours: client.graphql(q), lambda q=theirs: client.graphql(q), rounds
                )
                ratio = ours_time / base_time
                out.append(
                    Row(
                        f"9. {label}, PostgreSQL",
                        fmt_ms(ours_time),
                        fmt_ms(base_time) + f" ({base_label})",
                        ratio,
                        f"<= {target}x",
                        ratio <= target,
                    )
                )
            status, body = baseline.request("GET", "/summaries/animals")
            if status != 200:
                raise RuntimeError(f"the baseline's summary: HTTP {status}: {body[:200]!r}")
            ours_time, base_time = median_interleaved(
                lambda: client.graphql(SUMMARY),
                lambda: baseline.request("GET", "/summaries/animals"),
                rounds,
            )
            ratio = ours_time / base_time
            out.append(
                Row(
                    "9. animalsSummary, 4 lists, 100,000 animals, PostgreSQL",
                    fmt_ms(ours_time),
                    fmt_ms(base_time) + " (hand-written GROUP BYs)",
                    ratio,
                    "<= 2x",
                    ratio <= 2.0,
                )
            )
        finally:
            client.close()
            baseline.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds per figure")
    parser.add_argument("--requests", type=int, default=3000, help="requests per throughput run")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("ZOO_BENCH_POSTGRES_URL") or os.environ.get("ZOO_TEST_POSTGRES_URL"),
    )
    parser.add_argument(
        "--only", default="1234567890", help="goals to run, e.g. 25; 0 is goal 10 (default: all)"
    )
    args = parser.parse_args()

    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="zoo-bench-") as scratch:
        tmp = Path(scratch)
        print("building data sets ...", file=sys.stderr)
        sizes = {1_000: 10, 5_000: 50, 20_000: 200}
        paths = {n: tmp / f"nested-{n}.db" for n in sizes}
        for n, each in sizes.items():
            datasets.sqlite_database(paths[n], 100, each)
        deep_url = ""
        if "4" in args.only:
            deep_url = datasets.sqlite_database(tmp / "deep.db", 100, 600)

        if "1" in args.only:
            print("1. nested lists ...", file=sys.stderr)
            rows.append(nested_over_socket(paths[5_000], "5,000 animals", args.rounds, 2.5))
            rows.append(nested_in_process(paths[5_000], args.rounds))
            rows += compression(paths[5_000], args.rounds)
            rows.append(nested_over_socket(paths[1_000], "1,000 animals", args.rounds, None))
            slow_rounds = max(5, args.rounds // 3)
            rows.append(nested_over_socket(paths[20_000], "20,000 animals", slow_rounds, None))
        if "2" in args.only:
            print("2. small query ...", file=sys.stderr)
            sqlite_url = f"sqlite:///{paths[5_000]}"
            rows.append(small_query(sqlite_url, "SQLite", args.requests, goal=True))
        if "3" in args.only:
            print("3. statements ...", file=sys.stderr)
            rows.append(statement_counts(tmp))
        if "4" in args.only:
            print("4. deep pages ...", file=sys.stderr)
            keys = deep_page_keys()
            rows += deep_pages(deep_url, "SQLite", args.rounds * 2, keys)
        if "8" in args.only:
            print("8. writes ...", file=sys.stderr)
            written = datasets.sqlite_database(tmp / "writes.db", 100, 10)
            rows += writes(written, "SQLite", args.rounds * 20)
        if "0" in args.only:
            print("10. the change log's cost ...", file=sys.stderr)
            copies = (tmp / "logged.db", tmp / "unlogged.db")
            urls = tuple(datasets.sqlite_database(path, 100, 10) for path in copies)
            rows += change_log_cost((urls[0], urls[1]), "SQLite", args.rounds * 20)
        if args.postgres_url and any(goal in args.only for goal in "2480"):
            name = f"zoo_bench_{os.getpid()}"
            url = datasets.postgres_database(args.postgres_url, name, 100, 600)
            try:
                if "2" in args.only:
                    rows.append(small_query(url, "PostgreSQL", args.requests, goal=False))
                if "4" in args.only:
                    rows += deep_pages(url, "PostgreSQL", args.rounds * 2, keys)
                if "8" in args.only:
                    print("8. writes on PostgreSQL ...", file=sys.stderr)
                    rows += writes(url, "PostgreSQL", args.rounds * 20)
                if "0" in args.only:
                    print("10. the change log's cost on PostgreSQL ...", file=sys.stderr)
                    rows += change_log_cost((url, url), "PostgreSQL", args.rounds * 20)
            finally:
                datasets.drop_postgres_database(args.postgres_url, name)
        if args.postgres_url and "9" in args.only:
            print("9. query power on PostgreSQL ...", file=sys.stderr)
            name = f"zoo_bench_power_{os.getpid()}"
            url = datasets.postgres_database(args.postgres_url, name, 100, 1000, named=True)
            try:
                rows += query_power(url, args.rounds * 2)
            finally:
                datasets.drop_postgres_database(args.postgres_url, name)
        if "5" in args.only:
            print("5. memory ...", file=sys.stderr)
            rows.append(memory(paths[20_000]))
        if "6" in args.only:
            print("6. instrumentation ...", file=sys.stderr)
            rows += instrumentation_cost(paths[5_000], 300, max(5, args.rounds // 2))
        if "7" in args.only:
            print("7. gated columns ...", file=sys.stderr)
            staffed = tmp / "staffed.db"
            datasets.sqlite_database(staffed, 1, 1)
            rows += gated_columns(staffed, 100, max(5, args.rounds // 2))

    header = ["goal", "ours", "baseline", "ratio", "target", "result"]
    table = [header, ["---"] * len(header), *(row.cells() for row in rows)]
    print(
        f"\nZoo benchmarks on {platform.node()}: {platform.processor() or platform.machine()},"
        f" {os.cpu_count()} cores, Python {platform.python_version()}\n"
    )
    for line in table:
        print("| " + " | ".join(line) + " |")
    return 0 if all(row.met is not False for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
