"""The JavaScript clients front ends use (graphql-ws, graphql-sse, Apollo Client, urql), run
with Node against a real server, each receiving real events for mutations made over HTTP,
and sending queries by hash (automatic persisted queries); and graphql-http's audit of
the GraphQL over HTTP specification.

The clients are pinned in ``tests/js/package-lock.json`` and installed by
``make test`` (``npm ci``). Without Node and npm these tests skip, and the
pytest header says so; ``.ci/run`` requires them.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.http import serve
from tests.support import factories
from tests.support.servers import zoo
from tests.support.subscriptions import lifecycle, server_env, token_for
from zoo.domains import Services
from zoo.events.change_log import decode_position, encode_position

JS = Path(__file__).resolve().parents[2] / "js"
NODE = shutil.which("node")
INSTALLED = (JS / "node_modules" / "graphql-ws").is_dir()
REQUIRED = os.environ.get("ZOO_TEST_REQUIRE_CLIENTS", "") == "1"

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(
        not (NODE and INSTALLED) and not REQUIRED,
        reason="Node or the JavaScript clients are missing (make test installs them with npm)",
    ),
]


async def node_output(script: str, *args: str, seconds: float = 20) -> str:
    """What ``script`` (in tests/js) printed, run with Node to its end, which must be a
    success."""
    assert NODE is not None, "Node is required here (ZOO_TEST_REQUIRE_CLIENTS=1)"
    process = await asyncio.create_subprocess_exec(
        NODE,
        str(JS / script),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=JS,
    )
    out, err = await asyncio.wait_for(process.communicate(), seconds)
    assert process.returncode == 0, err.decode()
    return out.decode()


@pytest.fixture
def server(database_url: str) -> Iterator[str]:
    with serve("zoo.main:app", server_env(database_url)) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.mark.parametrize(
    "client",
    ["graphql-ws", "graphql-sse", "apollo-ws", "apollo-multipart", "urql-ws", "urql-fetch"],
)
async def test_javascript_client_receives_events(
    server: str, database_url: str, client: str
) -> None:
    assert NODE is not None, "Node is required here (ZOO_TEST_REQUIRE_CLIENTS=1)"
    token = await token_for(database_url, server.removeprefix("http://"))
    process = await asyncio.create_subprocess_exec(
        NODE,
        str(JS / "subscribe.mjs"),
        client,
        f"{server}/graphql",
        token,
        "3",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=JS,
    )
    assert process.stdout is not None
    try:
        ready = await asyncio.wait_for(process.stdout.readline(), 20)
        assert ready.strip() == b"READY", ready + await process.stderr.read()  # type: ignore[union-attr]
        expected = await lifecycle(server, token)
        out, err = await asyncio.wait_for(process.communicate(), 20)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    events = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
    assert process.returncode == 0, (events, err.decode())
    assert [event["kind"] for event in events] == expected
    animal = {k: v for k, v in events[0]["animal"].items() if k != "__typename"}  # Apollo's
    assert animal == {"id": events[2]["animal"]["id"], "name": "Ada", "species": None}
    assert events[1]["animal"]["species"] == "owl"


@pytest.mark.parametrize("client", ["urql", "apollo"])
async def test_javascript_clients_query_over_http(database_url: str, client: str) -> None:
    """Anonymous reads through each client's own HTTP transport, on a server where
    subscriptions need a login: urql names ``text/event-stream`` in every query's
    ``Accept``, and its queries were taken for subscriptions and refused."""
    env = server_env(database_url, ZOO_SUBSCRIPTIONS_REQUIRE_LOGIN="true")
    with serve("zoo.main:app", env) as port:
        url = f"http://127.0.0.1:{port}/graphql"
        out = await node_output("query.mjs", client, url, "{ exhibits(first: 1) { totalCount } }")
    result = json.loads(out)
    assert result["error"] is None, result
    assert isinstance(result["data"]["exhibits"]["totalCount"], int)


@pytest.mark.parametrize(("client", "first"), [("apollo-get", 1), ("apollo-post", 2), ("urql", 3)])
async def test_javascript_clients_use_automatic_persisted_queries(
    server: str, client: str, first: int
) -> None:
    """Apollo Client's persisted-queries link (over GET and over POST) and urql's
    persisted exchange: a query unknown to the server is sent by its hash, then in
    full when the server says it does not know it; from then on by its hash alone.
    Before, a client with persisted queries on failed every request."""
    unknown = f"{{ exhibits(first: {first}) {{ totalCount }} }}"  # new to the server
    run = json.loads(await node_output("persisted.mjs", client, f"{server}/graphql", unknown))
    method = "POST" if client == "apollo-post" else "GET"
    # Apollo falls back to POST to send a query in full; urql keeps to GET.
    in_full = "GET" if client == "urql" else "POST"
    assert run["requests"] == [
        {"method": method, "query": False, "hash": True},
        {"method": in_full, "query": True, "hash": True},
        {"method": method, "query": False, "hash": True},
    ]
    assert [result["error"] for result in run["results"]] == [None, None]
    counts = [result["data"]["exhibits"]["totalCount"] for result in run["results"]]
    assert counts[0] == counts[1]
    assert isinstance(counts[0], int)


async def test_apollo_relay_style_pagination_pages_backwards(
    database_url: str, services: Services
) -> None:
    """Apollo Client's ``relayStylePagination`` with ``last`` and ``before``, as a "load
    earlier" button uses it: each page is prepended to what its cache holds, until
    ``hasPreviousPage`` is false."""
    names = ["Ant", "Bee", "Cat", "Dog", "Eel", "Fox", "Gnu"]
    for name in names:
        await factories.animal(services, name=name)
    with serve("zoo.main:app", server_env(database_url)) as port:
        out = await node_output("pages.mjs", f"http://127.0.0.1:{port}/graphql", "3")
    result = json.loads(out)
    assert result["error"] is None, result
    assert result["names"] == sorted(names, reverse=True)
    assert result["pages"] == 3


async def test_the_graphql_over_http_audit_passes_every_check(server: str) -> None:
    """graphql-http's audit (the check GraphQL servers publish their compliance with)
    runs every MUST, SHOULD and MAY of the GraphQL over HTTP specification against
    ``/graphql``: media types, status codes, GET and POST, malformed bodies."""
    out = await node_output("audit.mjs", f"{server}/graphql", seconds=60)
    checks = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert len(checks) > 50, checks
    failed = [check for check in checks if check["status"] != "ok"]
    assert failed == [], failed


async def test_graphql_ws_resumes_from_its_last_cursor(server: str, database_url: str) -> None:
    """graphql-ws in Node drops its connection every two events and resumes with the last
    cursor it handled, while changes are made: it sees each change once, in order."""
    assert NODE is not None, "Node is required here (ZOO_TEST_REQUIRE_CLIENTS=1)"
    token = await token_for(database_url, server.removeprefix("http://"))
    before = await lifecycle(server, token)  # made while it was away
    process = await asyncio.create_subprocess_exec(
        NODE,
        str(JS / "resume.mjs"),
        f"{server}/graphql",
        encode_position(0),
        "6",
        "2",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=JS,
    )
    assert process.stdout is not None
    try:
        ready = await asyncio.wait_for(process.stdout.readline(), 20)
        assert ready.strip() == b"READY", ready + await process.stderr.read()  # type: ignore[union-attr]
        after = await lifecycle(server, token)
        out, err = await asyncio.wait_for(process.communicate(), 20)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    events = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
    assert process.returncode == 0, (events, err.decode())
    assert [event["kind"] for event in events] == before + after
    assert [decode_position(event["cursor"]) for event in events] == [1, 2, 3, 4, 5, 6]


@pytest.fixture(scope="module")
def codegen_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """GraphQL Code Generator's client preset, run on tests/js/documents/ against the
    schema, with persisted documents on (sha256): the manifest a front end ships."""
    assert NODE is not None, "Node is required here (ZOO_TEST_REQUIRE_CLIENTS=1)"
    out = tmp_path_factory.mktemp("codegen")
    schema = Path(__file__).resolve().parents[3] / "schema.graphql"
    completed = subprocess.run(
        [NODE, "codegen.mjs", str(schema), str(out)],
        cwd=JS,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return out / "persisted-documents.json"


@pytest.fixture
def trusted_server(database_url: str, codegen_manifest: Path) -> Iterator[str]:
    env = server_env(database_url, ZOO_TRUSTED_DOCUMENTS=str(codegen_manifest))
    with serve("zoo.main:app", env) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("client", ["apollo", "urql"])
async def test_clients_run_a_codegen_manifests_documents_by_hash_only(
    trusted_server: str, codegen_manifest: Path, client: str
) -> None:
    """Apollo Client and urql with their persisted-documents settings run every document
    of the manifest by hash alone; an ad-hoc query is PERSISTED_QUERY_ONLY."""
    run = json.loads(
        await node_output("trusted.mjs", client, f"{trusted_server}/graphql", str(codegen_manifest))
    )
    *documents, adhoc = run["results"]
    assert documents == [
        {"data": {"animals": {"totalCount": 0}}, "error": None},
        {"data": {"exhibits": {"edges": []}}, "error": None},
    ]
    assert run["texts"] == 0  # no document's text was ever sent
    assert adhoc == {"status": 400, "code": "PERSISTED_QUERY_ONLY"}


def test_documents_check_passes_on_the_codegen_manifest(codegen_manifest: Path) -> None:
    checked = zoo("documents", "check", str(codegen_manifest))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert [line.split()[0] for line in checked.stdout.splitlines()] == ["ok", "ok"]
    assert "AnimalCount cost" in checked.stdout
    assert "ExhibitNames cost" in checked.stdout
