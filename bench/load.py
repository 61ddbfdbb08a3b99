"""``make load``: N clients, a fixed number of mixed reads and writes, against a real server.

Prints throughput, p50/p99 latency and the error count (which must be 0), then
checks that every acknowledged write is in the database. Loopback only; stops
by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench import datasets
from bench.http import serve
from zoo.auth.service import create_user
from zoo.config import Settings
from zoo.storage.database import Database

READ = (
    "{ animals(first: 20, orderBy: {field: NAME}) { edges { node { id name exhibit { name } } } } }"
)
CREATE = "mutation($n: String!, $e: Int) { createAnimal(input: {name: $n, exhibitId: $e}) { id } }"
UPDATE = "mutation($id: Int!, $s: String) { updateAnimal(id: $id, input: {species: $s}) { id } }"


async def request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, token: str, payload: dict
) -> tuple[int, dict]:
    body = json.dumps(payload).encode()
    writer.write(
        (
            "POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        + body
    )
    header = await reader.readuntil(b"\r\n\r\n")
    status = int(header.split(b" ", 2)[1])
    length = next(
        int(line.split(b":", 1)[1])
        for line in header.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return status, json.loads(await reader.readexactly(length))


async def client(
    number: int,
    port: int,
    token: str,
    count: int,
    latencies: list[float],
    errors: list[str],
    created: dict[int, str],
    species: dict[int, str],
) -> None:
    rng = random.Random(number)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    mine: list[int] = []
    try:
        for step in range(count):
            roll = rng.random()
            if roll < 0.6:
                payload = {"query": READ}
            elif roll < 0.85 or not mine:
                name = f"load {number}-{step}"
                payload = {"query": CREATE, "variables": {"n": name, "e": rng.randint(1, 10)}}
            else:
                target = rng.choice(mine)
                payload = {"query": UPDATE, "variables": {"id": target, "s": f"s {number}-{step}"}}
            started = time.perf_counter()
            status, body = await request(reader, writer, token, payload)
            latencies.append(time.perf_counter() - started)
            if status != 200 or "errors" in body:
                errors.append(f"{status}: {body.get('errors')}")
                continue
            data = body["data"]
            if "createAnimal" in data:
                created[data["createAnimal"]["id"]] = payload["variables"]["n"]
                mine.append(data["createAnimal"]["id"])
            elif "updateAnimal" in data:
                species[payload["variables"]["id"]] = payload["variables"]["s"]
    finally:
        writer.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=4000, help="total, shared by the clients")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="zoo-load-") as scratch:
        path = Path(scratch) / "load.db"
        url = datasets.sqlite_database(path, 10, 20)

        async def make_token_user() -> None:
            database = Database(Settings(database_url=url))
            try:
                await create_user(database, "load@example.com", "load password!")
            finally:
                await database.dispose()

        asyncio.run(make_token_user())
        env = {
            "ZOO_DATABASE_URL": url,
            "ZOO_ENV": "test",
            "ZOO_LOG_LEVEL": "warning",
            "ZOO_LOGIN_ATTEMPTS_PER_MINUTE": "1000",
        }
        with serve("zoo.main:app", env, workers=args.workers) as port:
            import httpx

            login = httpx.post(
                f"http://127.0.0.1:{port}/auth/jwt/login",
                data={"username": "load@example.com", "password": "load password!"},
            )
            token = login.json()["access_token"]
            latencies: list[float] = []
            errors: list[str] = []
            created: dict[int, str] = {}
            species: dict[int, str] = {}
            each = args.requests // args.clients

            async def run_all() -> float:
                started = time.perf_counter()
                await asyncio.gather(
                    *(
                        client(n, port, token, each, latencies, errors, created, species)
                        for n in range(args.clients)
                    )
                )
                return time.perf_counter() - started

            elapsed = asyncio.run(run_all())

        with sqlite3.connect(path) as connection:
            stored = dict(connection.execute("SELECT id, name FROM animals"))
            stored_species = dict(connection.execute("SELECT id, species FROM animals"))
        lost = [id_ for id_, name in created.items() if stored.get(id_) != name]
        stale = [id_ for id_, value in species.items() if stored_species.get(id_) != value]

    quantiles = statistics.quantiles(latencies, n=100)
    print(f"clients {args.clients}, workers {args.workers}, requests {len(latencies)}")
    print(f"throughput {len(latencies) / elapsed:.0f} req/s over {elapsed:.1f} s")
    print(f"latency p50 {quantiles[49] * 1000:.1f} ms, p99 {quantiles[98] * 1000:.1f} ms")
    print(
        f"errors {len(errors)}; writes acknowledged {len(created)} creates,"
        f" {len(species)} updated rows; missing {len(lost)}, stale {len(stale)}"
    )
    for error in errors[:5]:
        print("  ", error)
    return 0 if not errors and not lost and not stale else 1


if __name__ == "__main__":
    sys.exit(main())
