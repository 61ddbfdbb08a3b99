"""Trusted documents: only the manifest's operations run, named by documentId or by the
persisted-query hash, over HTTP and WebSocket; an ADMIN's own text where allowed; a bad
manifest stops the server at start; ``zoo documents check`` in a front end's CI."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.support.accounts import Account
from tests.support.databases import dispose
from tests.support.servers import running, zoo
from zoo.app import create_app
from zoo.config import Settings
from zoo.core.document_manifests import digest_of

COUNT = "query Count { animals(first: 1) { totalCount } }"
CREATE = 'mutation Make { createAnimal(input: {name: "Trusted"}) { id } }'
ADHOC = "{ animals(first: 1) { totalCount } }"


def manifest(tmp_path: Path, *documents: str, name: str = "manifest.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({digest_of(d): d for d in documents}))
    return path


@pytest.fixture
async def trusted(
    settings: Settings, tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    first = manifest(tmp_path, COUNT, name="web.json")
    second = manifest(tmp_path, CREATE, name="admin.json")
    changed = {"trusted_documents": f"{first}, {second}"}
    app = create_app(settings.model_copy(update=changed))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://zoo") as client:
        yield client, app
    await dispose(app)


def code_of(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


async def test_only_the_manifests_documents_run(
    trusted: tuple[httpx.AsyncClient, Any], user: Account
) -> None:
    client, _app = trusted
    bearer = {"Authorization": f"Bearer {user.token}"}
    digest = digest_of(COUNT)
    for body in (
        {"documentId": f"sha256:{digest}"},
        {"documentId": digest, "operationName": "Count"},
        {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}},
    ):
        answer = await client.post("/graphql", json=body)
        assert answer.json() == {"data": {"animals": {"totalCount": 0}}}, body
    by_get = await client.get(
        "/graphql",
        params={"documentId": f"sha256:{digest}"},
        headers={"Accept": "application/json"},
    )
    assert by_get.json() == {"data": {"animals": {"totalCount": 0}}}
    made = await client.post("/graphql", json={"documentId": digest_of(CREATE)}, headers=bearer)
    assert made.json()["data"]["createAnimal"]["id"] > 0  # the second manifest's

    for body, status, code in (
        ({"query": ADHOC}, 400, "PERSISTED_QUERY_ONLY"),
        ({"query": COUNT}, 400, "PERSISTED_QUERY_ONLY"),  # its own text, even if trusted
        ({"documentId": digest_of(ADHOC)}, 404, "PERSISTED_QUERY_NOT_FOUND"),
        ({"documentId": "sha256:abc"}, 400, "BAD_REQUEST"),
        ({"documentId": "md5:" + "0" * 32}, 400, "BAD_REQUEST"),
        ({"documentId": 12}, 400, "BAD_REQUEST"),
        ({"documentId": "x" * 100_000}, 400, "BAD_REQUEST"),
        (
            {
                "query": ADHOC,
                "extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest_of(ADHOC)}},
            },
            400,
            "PERSISTED_QUERY_ONLY",
        ),
    ):
        refused = await client.post("/graphql", json=body, headers=bearer)
        assert (refused.status_code, code_of(refused)) == (status, code), body
    # A huge text under a known hash is refused for its length before anything else.
    huge = {"query": "{" + " " * 30_000 + "}", "documentId": digest}
    assert (await client.post("/graphql", json=huge)).status_code == 413


async def test_an_admins_text_runs_only_where_allowed(
    settings: Settings, tmp_path: Path, admin: Account, user: Account
) -> None:
    path = manifest(tmp_path, COUNT)
    for allowed in (False, True):
        changed = {"trusted_documents": str(path), "trusted_documents_allow_admin_text": allowed}
        app = create_app(settings.model_copy(update=changed))
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://zoo") as client:
                as_admin = await client.post(
                    "/graphql",
                    json={"query": ADHOC},
                    headers={"Authorization": f"Bearer {admin.token}"},
                )
                as_curator = await client.post(
                    "/graphql",
                    json={"query": ADHOC},
                    headers={"Authorization": f"Bearer {user.token}"},
                )
        finally:
            await dispose(app)
        assert ("errors" not in as_admin.json()) is allowed
        assert code_of(as_curator) == "PERSISTED_QUERY_ONLY"


async def test_a_socket_runs_only_the_manifests_documents(
    settings: Settings, tmp_path: Path
) -> None:
    subscribe = "subscription Events { animalEvents { kind } }"
    path = manifest(tmp_path, subscribe, COUNT)
    app = create_app(settings.model_copy(update={"trusted_documents": str(path)}))
    try:
        async with running(app) as base:
            url = base.replace("http://", "ws://") + "/graphql"
            async with connect(url, subprotocols=["graphql-transport-ws"]) as ws:
                await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
                assert json.loads(await ws.recv())["type"] == "connection_ack"
                for id_, payload in (
                    ("1", {"query": ADHOC}),
                    ("2", {"documentId": digest_of(ADHOC)}),
                ):
                    await ws.send(json.dumps({"id": id_, "type": "subscribe", "payload": payload}))
                    refused = json.loads(await ws.recv())
                    assert refused["type"] == "error", refused
                    assert refused["payload"][0]["extensions"]["code"] in {
                        "PERSISTED_QUERY_ONLY",
                        "PERSISTED_QUERY_NOT_FOUND",
                    }
                await ws.send(
                    json.dumps(
                        {
                            "id": "3",
                            "type": "subscribe",
                            "payload": {"documentId": digest_of(COUNT)},
                        }
                    )
                )
                answer = json.loads(await ws.recv())
                assert answer == {
                    "id": "3",
                    "type": "next",
                    "payload": {"data": {"animals": {"totalCount": 0}}},
                }
    finally:
        await dispose(app)


def test_a_manifest_that_cannot_be_trusted_stops_the_server(tmp_path: Path) -> None:
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{not json")
    wrong_hash = tmp_path / "wrong.json"
    wrong_hash.write_text(json.dumps({"0" * 64: COUNT}))
    env = {"ZOO_DATABASE_URL": f"sqlite:///{tmp_path / 'zoo.db'}"}
    for path, says in ((bad_json, "not JSON"), (wrong_hash, "is not the SHA-256 of its document")):
        result = zoo("serve", env={**env, "ZOO_TRUSTED_DOCUMENTS": str(path)})
        assert result.returncode == 1
        [line] = result.stderr.strip().splitlines()
        assert line.startswith("zoo: invalid settings: ZOO_TRUSTED_DOCUMENTS: trusted documents")
        assert says in line
        assert "Traceback" not in result.stderr


def test_documents_check_prints_costs_and_names_what_would_be_refused(tmp_path: Path) -> None:
    good = manifest(tmp_path, COUNT, CREATE, name="good.json")
    passed = zoo("documents", "check", str(good))
    assert passed.returncode == 0, passed.stderr
    lines = passed.stdout.strip().splitlines()
    assert len(lines) == 2
    assert any(f"sha256:{digest_of(COUNT)}: Count cost" in line for line in lines)
    assert all(line.startswith("ok") for line in lines)

    inner = "id"
    for _ in range(7):
        inner = f"exhibit {{ animals {{ {inner} }} }}"
    deep = f"query Deep {{ animal(id: 1) {{ {inner} }} }}"
    twice = (
        "exhibits(first: 100) { edges { node { animals { exhibit { animals { id name } } } } } }"
    )
    costly = f"query Costly {{ a: {twice} b: {twice} }}"
    invalid = "query Invalid { nothing }"
    bad = manifest(tmp_path, COUNT, deep, costly, invalid, name="bad.json")
    failed = zoo("documents", "check", str(bad))
    assert failed.returncode == 1
    failures = [line for line in failed.stdout.splitlines() if line.startswith("FAIL")]
    named = {
        digest
        for digest in map(digest_of, (deep, costly, invalid))
        if any(digest in f for f in failures)
    }
    assert len(named) == 3, failed.stdout
    assert "exceeds the limit" in failed.stdout
    assert "maximum operation depth" in failed.stdout
    assert "3 documents would be refused" in failed.stderr
