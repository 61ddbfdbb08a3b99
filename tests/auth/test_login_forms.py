"""A plain HTML form logs in and out with the cookie, in Chromium, from the API's own
origin; a form on another site is still refused.

Browsers send ``Origin: null`` on a same-origin form POST when the page's referrer
policy is ``no-referrer`` (the Fetch standard's "serializing a request origin"); the
cookie routes' same-origin check refused such forms. Here the form is put into the
GraphiQL page the server itself serves (so the page carries the server's own
headers) and submitted as a person would."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from tests.support.accounts import PASSWORD
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.servers import Live, running
from zoo.auth.service import create_user
from zoo.core.roles import Role

pytestmark = pytest.mark.browser

FORM = """([action, username, password]) => {
  const form = document.createElement("form");
  form.method = "POST";
  form.action = action;
  for (const [name, value] of [["username", username], ["password", password]]) {
    const input = document.createElement("input");
    input.name = name;
    input.value = value;
    form.appendChild(input);
  }
  document.body.appendChild(form);
  form.submit();
}"""


async def submit(page: Any, action: str, username: str = "", password: str = "") -> int:
    """Submit a form built in ``page``; the status the server answered."""
    path = action.rsplit("/auth/", 1)[1]
    async with page.expect_response(lambda r: r.url.endswith(f"/auth/{path}")) as answer:
        await page.evaluate(FORM, [action, username, password])
    return int((await answer.value).status)


async def test_a_same_origin_form_logs_in_and_out_and_a_cross_site_form_is_refused(
    live: Live,
) -> None:
    from playwright.async_api import async_playwright

    assert CHROMIUM.exists(), "Chromium is required here (ZOO_TEST_REQUIRE_CLIENTS=1)"
    elsewhere = Starlette(routes=[Route("/", lambda _: HTMLResponse("<!doctype html><p>hi"))])
    async with (
        live() as (app, base, _),
        running(elsewhere) as other_base,
        async_playwright() as playwright,
    ):
        await create_user(app.state.database, "form@example.com", PASSWORD, role=Role.VISITOR)
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            context = await browser.new_context()
            page = await context.new_page()
            await page.goto(f"{base}/graphql", wait_until="domcontentloaded")
            assert await submit(page, "/auth/cookie/login", "form@example.com", PASSWORD) == 204
            cookies = {c["name"] for c in await context.cookies()}
            assert "zoo-auth" in cookies
            me = await context.request.get(f"{base}/users/me")
            assert me.status == 200
            assert (await me.json())["email"] == "form@example.com"

            await page.goto(f"{base}/graphql", wait_until="domcontentloaded")
            assert await submit(page, "/auth/cookie/logout") == 204
            assert "zoo-auth" not in {c["name"] for c in await context.cookies()}

            # A site elsewhere posting the same form: refused, no cookie set.
            other = other_base.replace("127.0.0.1", "localhost")
            await page.goto(f"{other}/")
            status = await submit(page, f"{base}/auth/cookie/login", "form@example.com", PASSWORD)
            assert status == 403
            assert "zoo-auth" not in {c["name"] for c in await context.cookies()}
        finally:
            await browser.close()
