"""The pages mailed links open (no front end yet), driven in Chromium: from the link in
a delivered mail to a new password and a login; and their headers, without a browser."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.auth.test_account_mail import NEW_PASSWORD, bearer, served
from tests.support.accounts import PASSWORD
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.mailbox import Mailbox, link_in
from tests.support.servers import Live
from zoo.auth.service import create_user


async def test_the_pages_load_only_their_own_files_and_keep_the_token_to_themselves(
    client: httpx.AsyncClient,
) -> None:
    for name in ("accept-invitation", "reset-password", "verify"):
        page = await client.get(f"/account/{name}?token=secret")
        assert page.status_code == 200
        assert page.headers["content-security-policy"].startswith("default-src 'none'")
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["cache-control"] == "no-store"
        assert '<meta name="referrer" content="no-referrer" />' in page.text
        assert "secret" not in page.text  # the script reads the token from the URL
        assert "<script>" not in page.text
        for asset in ("/account/static/account.js", "/account/static/account.css"):
            assert f'"{asset}"' in page.text
            assert (await client.get(asset)).status_code == 200


async def open_page(playwright: Any, link: str) -> tuple[Any, Any]:
    browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    page = await (await browser.new_context()).new_page()
    errors: list[str] = []
    # Script errors and refused loads (a CSP violation), not the 4xx answers the page shows.
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(link, wait_until="domcontentloaded")
    page.errors = errors
    return browser, page


async def log_in_on(page: Any, email: str, password: str) -> None:
    login = page.locator("#login")
    await login.wait_for(state="visible", timeout=10_000)
    await login.locator("input[name=username]").fill(email)
    await login.locator("input[name=password]").fill(password)
    await login.locator("button").click()
    done = page.locator("#done")
    message = page.locator("#message.error")
    await page.locator("#done:visible, #message.error").wait_for(timeout=10_000)
    assert await done.is_visible(), await message.text_content()
    assert await page.locator("#email").text_content() == email


@pytest.mark.browser
async def test_an_invitation_link_opens_a_page_that_sets_a_password_and_logs_in(
    live: Live, mailbox: Mailbox
) -> None:
    from playwright.async_api import async_playwright

    async with served(live, mailbox) as (_, http, admin), async_playwright() as playwright:
        invited = await http.post(
            "/users/invitations", json={"email": "page@example.com"}, headers=bearer(admin)
        )
        assert invited.status_code == 201
        (mail,) = await mailbox.wait_for(1)
        browser, page = await open_page(playwright, link_in(mail))
        try:
            form = page.locator("#accept-invitation")
            await form.wait_for(state="visible")
            for other in ("#reset-password", "#forgot-password", "#verify", "#login", "#done"):
                assert await page.locator(other).is_hidden(), other
            await form.locator("input[name=password]").fill(NEW_PASSWORD)
            await form.locator("input[name=confirm]").fill(NEW_PASSWORD)
            await form.locator("button").click()
            await log_in_on(page, "page@example.com", NEW_PASSWORD)
            cookies = {c["name"] for c in await page.context.cookies()}
            assert "zoo-auth" in cookies
            # The same link again: the page says why it no longer works.
            await page.goto(link_in(mail), wait_until="domcontentloaded")
            await form.locator("input[name=password]").fill(NEW_PASSWORD)
            await form.locator("input[name=confirm]").fill(NEW_PASSWORD)
            await form.locator("button").click()
            message = page.locator("#message.error")
            await message.wait_for(timeout=10_000)
            assert "not valid" in (await message.text_content() or "")
            assert page.errors == []
        finally:
            await browser.close()


@pytest.mark.browser
async def test_a_reset_link_opens_a_page_that_sets_a_new_password_and_logs_in(
    live: Live, mailbox: Mailbox
) -> None:
    from playwright.async_api import async_playwright

    async with served(live, mailbox) as (app, http, _), async_playwright() as playwright:
        await create_user(app.state.database, "pager@example.com", PASSWORD)
        base = str(http.base_url)
        browser, page = await open_page(playwright, f"{base}/account/reset-password")
        try:
            # Without a token the page asks for a link.
            ask = page.locator("#forgot-password")
            await ask.locator("input[name=email]").fill("pager@example.com")
            await ask.locator("button").click()
            await page.get_by_text("Check your e-mail").wait_for(timeout=10_000)
            (mail,) = await mailbox.wait_for(1)
            await page.goto(link_in(mail), wait_until="domcontentloaded")
            form = page.locator("#reset-password")
            await form.locator("input[name=password]").fill(NEW_PASSWORD)
            await form.locator("input[name=confirm]").fill(NEW_PASSWORD)
            await form.locator("button").click()
            await log_in_on(page, "pager@example.com", NEW_PASSWORD)
            assert page.errors == []
        finally:
            await browser.close()
