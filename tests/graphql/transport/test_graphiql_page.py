"""The GraphiQL page over HTTP: same-origin files with matching integrity hashes, a strict
Content-Security-Policy, correct URLs under a path prefix, and nothing served when off."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from tests.support.accounts import Account, cookie_login
from tests.support.clients import StatementCounter
from tests.support.databases import dispose
from zoo.app import create_app
from zoo.config import Settings
from zoo.graphql.transport.graphiql_assets import VENDOR, assets, integrity_of, license_name

HTML = {"Accept": "text/html"}
REFERENCES = re.compile(r'<(?:script src|link rel="stylesheet" href)="([^"]+)" integrity="([^"]+)"')


@pytest.fixture
async def prefixed(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The app mounted under ``/zoo`` in another app, as behind a path-routing proxy."""
    app = create_app(Settings(database_url=database_url, env="test"))
    outer = Starlette(routes=[Mount("/zoo", app=app)])
    transport = httpx.ASGITransport(app=outer)
    async with httpx.AsyncClient(transport=transport, base_url="http://zoo.example") as http:
        yield http
    await dispose(app)


def test_the_vendored_files_are_the_ones_the_manifest_pins() -> None:
    """A hand edit (or a partial upgrade) fails here, not in a visitor's browser."""
    for asset in assets():
        assert integrity_of((VENDOR / asset.name).read_bytes()) == asset.integrity, asset.name
        assert (VENDOR / license_name(asset.package)).read_text().strip(), asset.package


async def test_every_script_and_style_is_same_origin_and_hashed(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/graphql", headers=HTML)
    assert page.status_code == 200
    assert "unpkg" not in page.text
    assert "<script>" not in page.text  # no inline script: the policy forbids it
    references = REFERENCES.findall(page.text)
    assert len(references) == len(assets()) + 2  # the vendored files and the page's own two
    for url, integrity in references:
        assert url.startswith("/graphql/static/"), url
        served = await client.get(url)
        assert served.status_code == 200, url
        assert integrity_of(served.content) == integrity, url
        kind = "text/css" if url.endswith(".css") else "text/javascript"
        assert served.headers["content-type"].startswith(kind), url


async def test_the_page_allows_only_its_own_origin(client: httpx.AsyncClient) -> None:
    policy = (await client.get("/graphql", headers=HTML)).headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'none'"
    for directive in ("script-src", "style-src", "connect-src"):
        assert directives[directive] == "'self'", directive
    assert directives["frame-ancestors"] == "'none'"


async def test_the_page_reads_nothing_for_a_logged_in_browser(
    client: httpx.AsyncClient, user: Account, count_statements: StatementCounter
) -> None:
    """The page needs no login: a browser's login cookie was looked up for it (a read on
    every page load), and while the database was out the browser got a JSON 503 instead
    of the page."""
    await cookie_login(client, user.email)
    count_statements.statements.clear()
    page = await client.get("/graphql", headers=HTML)
    assert page.status_code == 200
    assert count_statements.statements == []
    me = await client.post("/graphql", json={"query": "{ me { email } }"})
    assert me.json() == {"data": {"me": {"email": user.email}}}
    assert count_statements.count == 1


async def test_under_a_path_prefix_every_url_carries_it(prefixed: httpx.AsyncClient) -> None:
    page = await prefixed.get("/zoo/graphql", headers=HTML)
    assert page.status_code == 200
    assert 'data-root="/zoo"' in page.text
    for url, integrity in REFERENCES.findall(page.text):
        assert url.startswith("/zoo/graphql/static/"), url
        served = await prefixed.get(url)
        assert integrity_of(served.content) == integrity, url
    query = await prefixed.post("/zoo/graphql", json={"query": "{ __typename }"})
    assert query.json() == {"data": {"__typename": "Query"}}


async def test_nothing_is_served_when_graphiql_is_off(database_url: str) -> None:
    app = create_app(Settings(database_url=database_url, env="test", graphiql=False))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://off") as http:
        assert (await http.get("/graphql", headers=HTML)).status_code == 404
        assert (await http.get("/graphql/static/vendor/graphiql.min.js")).status_code == 404
        assert (await http.get("/graphql/static/zoo-graphiql.js")).status_code == 404
    await dispose(app)
