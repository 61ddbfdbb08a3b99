"""Pages on the origins ``ZOO_CORS_ORIGINS`` names may call the API from a browser with a
bearer token; others, and any request that would carry the cookie, may not."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.servers import Live, running
from zoo.config import Settings

APP = "https://app.example"
QUERY = {"query": "{ me { email } }"}


def preflight(origin: str, method: str = "POST") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, content-type",
    }


async def test_listed_origins_may_call_with_a_token_and_no_cookie(live: Live) -> None:
    async with (
        live(cors_origins=f"{APP}, https://admin.example") as (_, base, token),
        httpx.AsyncClient(base_url=base) as http,
    ):
        for path, method in (("/graphql", "POST"), ("/users/me", "PATCH")):
            allowed = await http.options(path, headers=preflight(APP, method))
            assert allowed.status_code == 200, (path, allowed.text)
            assert allowed.headers["access-control-allow-origin"] == APP
            assert method in allowed.headers["access-control-allow-methods"]
            assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
            # No credentials: a browser neither sends the cookie nor, when a page asks
            # to send it, makes the request at all.
            assert "access-control-allow-credentials" not in allowed.headers
        answered = await http.post(
            "/graphql",
            json=QUERY,
            headers={"Origin": APP, "Authorization": f"Bearer {token}"},
        )
        assert answered.json()["data"]["me"]["email"].startswith("admin-")
        assert answered.headers["access-control-allow-origin"] == APP
        assert "x-request-id" in answered.headers["access-control-expose-headers"].lower()
        refused = await http.options("/graphql", headers=preflight("https://evil.example"))
        assert refused.status_code == 400
        assert "access-control-allow-origin" not in refused.headers


async def test_no_origin_may_call_unless_listed(live: Live) -> None:
    async with live() as (_, base, _token), httpx.AsyncClient(base_url=base) as http:
        answer = await http.options("/graphql", headers=preflight(APP))
        assert "access-control-allow-origin" not in answer.headers
        plain = await http.post("/graphql", json=QUERY, headers={"Origin": APP})
        assert "access-control-allow-origin" not in plain.headers


@pytest.mark.parametrize("origin", ["https://app.example/", "app.example", "https://a.example/x"])
def test_an_origin_with_a_path_or_no_scheme_is_refused_at_start(origin: str) -> None:
    with pytest.raises(ValidationError, match="is not an origin"):
        Settings(cors_origins=origin)


FETCH_ME = """async ([url, token]) => {
    try {
        const response = await fetch(url, {
            method: "POST",
            headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
            body: JSON.stringify({ query: "{ me { email } }" }),
        });
        return { status: response.status, body: await response.json() };
    } catch (error) {
        return { error: String(error) };
    }
}"""


@pytest.mark.browser
@pytest.mark.parametrize("listed", [True, False], ids=["listed", "not listed"])
async def test_a_page_on_another_origin_calls_the_api_in_a_real_browser(
    live: Live, listed: bool
) -> None:
    """Chromium, on a front end's page served from ``http://localhost:PORT``, calls the
    server at ``http://127.0.0.1:PORT`` (another origin) with a bearer token: answered
    when that origin is listed, blocked by the browser when it is not. (Both are on this
    machine: Chromium lets a page reach a loopback address only from another.)"""
    from playwright.async_api import async_playwright

    assert CHROMIUM.exists(), "Chromium is required here (ZOO_TEST_REQUIRE_CLIENTS=1)"
    page_html = HTMLResponse("<!doctype html><title>A front end</title>")
    front_end = Starlette(routes=[Route("/", lambda _: page_html)])
    async with running(front_end) as front_base:
        front = front_base.replace("127.0.0.1", "localhost")
        settings: dict[str, Any] = {"cors_origins": front} if listed else {}
        async with live(**settings) as (_, base, token), async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
            )
            try:
                page = await browser.new_page()
                await page.goto(f"{front}/")
                outcome = await page.evaluate(FETCH_ME, [f"{base}/graphql", token])
            finally:
                await browser.close()
    if listed:
        assert outcome.get("status") == 200, outcome
        assert outcome["body"]["data"]["me"]["email"].startswith("admin-")
    else:
        assert outcome == {"error": "TypeError: Failed to fetch"}
