"""/graphql over HTTP as the GraphQL-over-HTTP spec describes, GraphiQL, /health, error masking."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from tests.support import factories
from tests.support.accounts import Account
from tests.support.clients import GraphQL
from tests.support.databases import dispose
from zoo.app import create_app
from zoo.config import Settings
from zoo.domains import Services
from zoo.graphql.transport.graphiql import EXAMPLE_QUERY
from zoo.storage.seed import seed


async def test_get_runs_queries(client: httpx.AsyncClient, services: Services) -> None:
    exhibit = await factories.exhibit(services, name="Via GET")
    response = await client.get(
        "/graphql",
        params={
            "query": "query($id: Int!) { exhibit(id: $id) { name } }",
            "variables": f'{{"id": {exhibit.id}}}',
        },
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"data": {"exhibit": {"name": "Via GET"}}}


async def test_get_never_runs_mutations(
    client: httpx.AsyncClient, gql: GraphQL, user: Account
) -> None:
    response = await client.get(
        "/graphql",
        params={"query": 'mutation { createExhibit(input: {name: "No"}) { id } }'},
        headers={"Authorization": f"Bearer {user.token}"},
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    assert (await gql.data("{ exhibits { totalCount } }"))["exhibits"]["totalCount"] == 0


async def test_several_operations_need_an_operation_name(
    client: httpx.AsyncClient, gql: GraphQL, user: Account
) -> None:
    """Strawberry ran the first operation when none was named: here, a mutation the
    client never chose. The spec refuses such a request before anything runs."""
    add = 'mutation Add { createExhibit(input: {name: "Unchosen"}) { id } }'
    count = "query Count { exhibits { totalCount } }"
    document = f"{add} {count}"
    headers = {"Authorization": f"Bearer {user.token}"}
    refused = {
        "errors": [
            {
                "message": "Must provide operation name if query contains multiple operations.",
                "extensions": {"code": "BAD_REQUEST"},
            }
        ]
    }
    for send in (
        client.post("/graphql", json={"query": document}, headers=headers),
        client.post("/graphql", json={"query": f"{count} {add}"}, headers=headers),
        client.get("/graphql", params={"query": f"{count} {add}"}, headers=headers),
    ):
        assert (await send).json() == refused
    # A document seen (and cached as valid) before still needs the name.
    named = await client.post(
        "/graphql", json={"query": document, "operationName": "Count"}, headers=headers
    )
    assert named.json() == {"data": {"exhibits": {"totalCount": 0}}}
    again = await client.post("/graphql", json={"query": document}, headers=headers)
    assert again.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert (await gql.data("{ exhibits { totalCount } }"))["exhibits"]["totalCount"] == 0


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
async def test_a_post_body_must_be_json(
    client: httpx.AsyncClient, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = await client.post(
        "/graphql", content=b'{"query": "{ __typename }"}', headers=headers
    )
    assert response.status_code == 415
    assert response.json()["errors"][0]["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    charset = {"Content-Type": "application/json; charset=utf-8"}
    accepted = await client.post(
        "/graphql", content=b'{"query": "{ __typename }"}', headers=charset
    )
    assert accepted.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
async def test_other_methods_are_refused_with_a_code(
    client: httpx.AsyncClient, method: str
) -> None:
    response = await client.request(method, "/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert response.headers["content-type"] == "application/json"
    assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"


@pytest.mark.parametrize(
    ("accept", "media_type", "status"),
    [
        ("application/json", "application/json", 200),
        ("application/graphql-response+json", "application/graphql-response+json", 400),
        (
            "application/graphql-response+json, application/json;q=0.9",
            "application/graphql-response+json",
            400,
        ),
        ("application/json, application/graphql-response+json;q=0.5", "application/json", 200),
        ("*/*", "application/json", 200),
    ],
)
async def test_request_errors_follow_the_accept_header(
    client: httpx.AsyncClient, accept: str, media_type: str, status: int
) -> None:
    response = await client.post(
        "/graphql", json={"query": "{ exhibits { nope } }"}, headers={"Accept": accept}
    )
    assert response.status_code == status
    assert response.headers["content-type"] == media_type
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_field_errors_keep_data_and_status_200(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql",
        json={"query": "{ animals(first: 101) { totalCount } }"},
        headers={"Accept": "application/graphql-response+json"},
    )
    assert response.status_code == 200
    assert response.json()["data"] is None


async def test_parse_and_variable_errors_have_codes(client: httpx.AsyncClient) -> None:
    parse = (await client.post("/graphql", json={"query": "{ exhibits { "})).json()
    assert parse["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    variables = (
        await client.post(
            "/graphql",
            json={
                "query": "query($n: Int) { animals(first: $n) { totalCount } }",
                "variables": {"n": "many"},
            },
        )
    ).json()
    assert variables["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    garbage = await client.post(
        "/graphql", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert garbage.status_code == 400
    assert garbage.json() == {
        "errors": [
            {
                "message": "Unable to parse request body as JSON",
                "extensions": {"code": "BAD_REQUEST"},
            }
        ]
    }
    assert "x-request-id" in garbage.headers


async def test_graphiql_opens_on_a_query_that_works_on_seeded_data(
    client: httpx.AsyncClient, services: Services, gql: GraphQL
) -> None:
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
    assert "query Exhibits" in page.text
    await seed(services)
    data = await gql.data(EXAMPLE_QUERY)
    exhibits = data["exhibits"]
    assert exhibits["totalCount"] == 4
    names = [edge["node"]["name"] for edge in exhibits["edges"]]
    assert names == sorted(names)
    big_cats = next(e["node"] for e in exhibits["edges"] if e["node"]["name"] == "Big Cat Exhibit")
    assert {"name": "Lion", "species": "Panthera leo"} in [
        {k: a[k] for k in ("name", "species")} for a in big_cats["animals"]
    ]


async def test_graphiql_is_off_in_production(database_url: str) -> None:
    app = create_app(Settings(database_url=database_url, env="production", secret="s" * 40))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        page = await client.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 404
        assert page.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    await dispose(app)


async def test_unexpected_errors_are_masked_and_logged(
    client: httpx.AsyncClient,
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("SELECT secret FROM vault -- boom")

    monkeypatch.setattr(services.animals, "list", broken)
    with caplog.at_level(logging.ERROR, logger="zoo.graphql"):
        response = await client.post("/graphql", json={"query": "{ animals { totalCount } }"})
    assert response.status_code == 200
    error = response.json()["errors"][0]
    request_id = response.headers["x-request-id"]
    assert error == {
        "message": "Internal server error",
        "locations": [{"line": 1, "column": 3}],
        "path": ["animals"],
        "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
    }
    assert "vault" not in response.text
    logged = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(logged) == 1
    assert request_id in logged[0].getMessage()
    assert "SELECT secret FROM vault" in caplog.text


async def test_health(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["database"] == "ok"
    probed = await client.head("/health")
    assert (probed.status_code, probed.content) == (200, b"")


async def test_health_reports_an_unreachable_database() -> None:
    app = create_app(Settings(database_url="postgresql://postgres@127.0.0.1:9/none"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/health")
        probed = await client.head("/health")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert probed.status_code == 503
    await dispose(app)
