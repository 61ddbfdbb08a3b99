"""``make attack``: normal reads beside an attack mix, against ``zoo serve``.

First the normal traffic alone (a few keep-alive clients reading a page of
animals), then the same traffic while attackers send, as fast as the server
answers them: fan-out fragment documents (renamed every time, so no cache
helps), the nested-list amplification query (five aliased copies, over an
exhibit of 100 animals), floods of WebSocket connections and subscriptions,
sign-up floods, slowloris connections, endless headers and clients that never
read their answers (from a process of their own, and
from another loopback address, as from another machine: per-address limits
apply to them and not to the normal clients).
Prints the normal traffic's p50
and p99 in both phases, their ratio (goal: p99 at most 3x) and its errors
(goal: none), and what the attackers got back. Loopback only; stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

from bench import datasets
from bench.http import serve_zoo
from bench.load import READ, request
from zoo.animals.models import Animal
from zoo.config import Settings
from zoo.exhibits.models import Exhibit
from zoo.storage.database import Database

ATTACKER = "127.0.0.2"
"""The attackers' source address: another loopback address, as another machine would be."""
NESTED = "animals { id exhibit { animals { id exhibit { animals { id } } } } }"
ANIMALS = "animals { id name species description createdAt updatedAt exhibit { name } }"


def fan_out(n: int) -> str:
    tag = uuid.uuid4().hex[:6]
    fragments = " ".join(
        f"fragment F{tag}{k} on Query {{ ...F{tag}{k + 1} ...F{tag}{k + 1} }}" for k in range(n)
    )
    return f"query {{ ...F{tag}0 }} {fragments} fragment F{tag}{n} on Query {{ __typename }}"


def code_of(status: int, body: dict) -> str:
    errors = body.get("errors") or []
    return errors[0].get("extensions", {}).get("code", str(status)) if errors else str(status)


async def reader_client(
    port: int, stop: asyncio.Event, latencies: list[float], errors: list[str]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while not stop.is_set():
            started = time.perf_counter()
            status, body = await request(reader, writer, "", {"query": READ})
            latencies.append(time.perf_counter() - started)
            if status != 200 or "errors" in body:
                errors.append(f"{status}: {body.get('errors')}")
    finally:
        writer.close()


async def query_attacker(port: int, stop: asyncio.Event, tally: Counter[str], make: object) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(ATTACKER, 0))
    try:
        while not stop.is_set():
            status, body = await request(reader, writer, "", {"query": make()})  # type: ignore[operator]
            tally[code_of(status, body)] += 1
    finally:
        writer.close()


async def signup_attacker(port: int, stop: asyncio.Event, tally: Counter[str]) -> None:
    import httpx

    transport = httpx.AsyncHTTPTransport(local_address=ATTACKER)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", transport=transport) as http:
        while not stop.is_set():
            body = {"email": f"{uuid.uuid4().hex}@example.com", "password": "a long password"}
            response = await http.post("/auth/register", json=body)
            tally[f"register {response.status_code}"] += 1


async def socket_attacker(port: int, stop: asyncio.Event, tally: Counter[str]) -> None:
    sockets = []
    try:
        while not stop.is_set():
            try:
                ws = await connect(
                    f"ws://127.0.0.1:{port}/graphql",
                    subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                    local_addr=(ATTACKER, 0),
                )
            except Exception as exc:
                tally[f"socket {type(exc).__name__}"] += 1
                await asyncio.sleep(0.05)
                continue
            sockets.append(ws)
            tally["socket open"] += 1
            await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
            for i in range(25):
                message = {"id": str(i), "type": "subscribe"}
                message["payload"] = {"query": "subscription { animalEvents { kind } }"}  # type: ignore[assignment]
                await ws.send(json.dumps(message))
    finally:
        for ws in sockets:
            with contextlib.suppress(Exception):
                await ws.close()


async def slowloris(port: int, stop: asyncio.Event, tally: Counter[str]) -> None:
    while not stop.is_set():
        reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(ATTACKER, 0))
        writer.write(b"GET /health HTTP/1.1\r\nHost: zoo\r\n")
        try:
            while not stop.is_set():
                writer.write(b"X-Slow: 1\r\n")
                await writer.drain()
                if await asyncio.wait_for(reader.read(1), 1) == b"":
                    tally["slowloris cut"] += 1
                    break
        except TimeoutError:
            continue
        except OSError:
            tally["slowloris cut"] += 1
        finally:
            writer.close()


async def endless_header(port: int, stop: asyncio.Event, tally: Counter[str]) -> None:
    """A header streamed as fast as the server takes it: uvicorn's parser gathers it by
    concatenation, so without ``ZOO_MAX_HEADER_BYTES`` one such client held every request."""
    chunk = b"a" * 65536
    while not stop.is_set():
        _reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(ATTACKER, 0))
        writer.write(b"GET /health HTTP/1.1\r\nHost: zoo\r\nX-Endless: ")
        try:
            while not stop.is_set():
                writer.write(chunk)
                await writer.drain()
        except OSError:
            tally["endless header cut"] += 1
        finally:
            writer.close()


async def non_reader(port: int, stop: asyncio.Event, tally: Counter[str], query: str) -> None:
    """Asks for a large answer and never reads it; blank lines between requests (which HTTP
    allows) show when ``ZOO_SEND_TIMEOUT_SECONDS`` has dropped the connection."""
    body = json.dumps({"query": query}).encode()
    message = (
        b"POST /graphql HTTP/1.1\r\nHost: zoo\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    while not stop.is_set():
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.bind((ATTACKER, 0))
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        _, writer = await asyncio.open_connection(sock=sock)
        writer.write(message)
        try:
            while not stop.is_set():
                await asyncio.sleep(0.5)
                writer.write(b"\r\n")
                await writer.drain()
        except OSError:
            tally["non-reader dropped"] += 1
        finally:
            writer.close()


ATTACKS = ("fanout", "nested", "signup", "sockets", "slowloris", "headers", "nonreaders")


async def attack(port: int, seconds: float, only: str | None) -> Counter[str]:
    stop = asyncio.Event()
    tally: Counter[str] = Counter()
    nested = "{ " + " ".join(f"a{i}: exhibit(id: 11) {{ {NESTED} }}" for i in range(5)) + " }"
    large = "{ " + " ".join(f"a{i}: exhibit(id: 11) {{ {ANIMALS} }}" for i in range(30)) + " }"
    attackers = {
        "fanout": [query_attacker(port, stop, tally, lambda: fan_out(40))],
        "nested": [query_attacker(port, stop, tally, lambda: nested)],
        "signup": [signup_attacker(port, stop, tally)],
        "sockets": [socket_attacker(port, stop, tally)],
        "slowloris": [slowloris(port, stop, tally) for _ in range(20)],
        "headers": [endless_header(port, stop, tally) for _ in range(2)],
        "nonreaders": [non_reader(port, stop, tally, large) for _ in range(2)],
    }
    tasks = []
    for name, coroutines in attackers.items():
        for coroutine in coroutines:
            if only is None or only == name:
                tasks.append(asyncio.create_task(coroutine))
            else:
                coroutine.close()
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return tally


def _attack_process(port: int, seconds: float, only: str | None, results: Any) -> None:
    results.put(dict(asyncio.run(attack(port, seconds, only))))


async def normal_traffic(port: int, seconds: float, readers: int) -> tuple[list[float], list[str]]:
    stop = asyncio.Event()
    latencies: list[float] = []
    errors: list[str] = []
    tasks = [
        asyncio.create_task(reader_client(port, stop, latencies, errors)) for _ in range(readers)
    ]
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return latencies, errors


def under_attack(
    port: int, seconds: float, readers: int, only: str | None
) -> tuple[list[float], list[str], Counter[str]]:
    """The attackers run in a process of their own, so that making their requests does
    not slow the normal clients' own loop (which would count against the server)."""
    results: Any = multiprocessing.Queue()
    attacker = multiprocessing.Process(
        target=_attack_process, args=(port, seconds + 1, only, results)
    )
    attacker.start()
    time.sleep(1)  # let the attack get going
    latencies, errors = asyncio.run(normal_traffic(port, seconds, readers))
    tally = Counter(results.get(timeout=60))
    attacker.join(timeout=30)
    return latencies, errors, tally


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.attack", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--readers", type=int, default=4)
    parser.add_argument("--only", choices=ATTACKS, help="one attacker instead of all")
    parser.add_argument(
        "--postgres", metavar="URL", help="a PostgreSQL server to use instead of SQLite"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="zoo-attack-") as scratch:
        url = (
            datasets.postgres_database(args.postgres, "zoo_attack", 10, 20)
            if args.postgres
            else datasets.sqlite_database(Path(scratch) / "attack.db", 10, 20)
        )

        async def crowd() -> None:
            database = Database(Settings(database_url=url))
            try:
                async with database.transaction() as session:
                    exhibit = Exhibit(name="Crowded")
                    session.add(exhibit)
                    await session.flush()
                    session.add_all(
                        # Long descriptions: the non-readers' answer is megabytes.
                        Animal(name=f"fish {i}", exhibit_id=exhibit.id, description="~" * 2000)
                        for i in range(100)
                    )
            finally:
                await database.dispose()

        asyncio.run(crowd())
        env = {
            "ZOO_DATABASE_URL": url,
            "ZOO_ENV": "production",
            "ZOO_SECRET": "attack-bench-secret-" + "x" * 32,
            "ZOO_LOG_LEVEL": "error",
            "ZOO_HEADER_TIMEOUT_SECONDS": "2",
            "ZOO_SEND_TIMEOUT_SECONDS": "2",
        }
        with serve_zoo(env) as port:
            quiet, quiet_errors = asyncio.run(normal_traffic(port, args.seconds, args.readers))
            loud, loud_errors, tally = under_attack(port, args.seconds, args.readers, args.only)

    if args.postgres:
        datasets.drop_postgres_database(args.postgres, "zoo_attack")

    def p(values: list[float], q: int) -> float:
        return statistics.quantiles(values, n=100)[q - 1] * 1000

    ratio = p(loud, 99) / p(quiet, 99)
    for label, values, errors in (
        ("alone", quiet, quiet_errors),
        ("under attack", loud, loud_errors),
    ):
        print(
            f"normal reads {label}: {len(values)} requests, p50 {p(values, 50):.1f} ms,"
            f" p99 {p(values, 99):.1f} ms, errors {len(errors)}"
        )
    print(f"p99 under attack / alone: {ratio:.2f}x (goal <= 3x)")
    print("attackers got: " + ", ".join(f"{k} x{v}" for k, v in tally.most_common()))
    print("(per-address limits: 429s; see ZOO_MAX_REFUSALS_PER_MINUTE and the login limits)")
    for error in loud_errors[:5]:
        print("  ", error)
    return 0 if ratio <= 3 and not quiet_errors and not loud_errors else 1


if __name__ == "__main__":
    sys.exit(main())
