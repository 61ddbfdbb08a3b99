"""GraphiQL in a real browser (Debian's Chromium, driven by Playwright) with the internet cut.

Every request to another origin is aborted, as on a machine without internet
access; the page must still render, run the example query, list the schema,
log a person in and out, take a token from the Headers tab and show a
subscription's events. A screenshot of each step is written to a folder the
test prints (``ZOO_TEST_SCREENSHOTS``, or one under the system's temp dir), so
a person can look at what the page showed.

Without Chromium (``/usr/bin/chromium``) these tests skip and pytest's header
says so; ``.ci/run`` installs it and requires them.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support.accounts import PASSWORD
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.servers import Live
from zoo.auth.service import create_user
from zoo.core.keyset import PageRequest
from zoo.core.roles import Role
from zoo.storage.seed import seed

SCREENSHOTS = Path(
    os.environ.get("ZOO_TEST_SCREENSHOTS") or Path(tempfile.gettempdir()) / "zoo-graphiql"
)

pytestmark = pytest.mark.browser


class Explorer:
    """The GraphiQL page, driven as a person would, with what it did recorded."""

    def __init__(self, page: Any, base: str, app: Any, admin_token: str, shots: Path) -> None:
        self.page = page
        self.base = base
        self.app = app
        self.admin_token = admin_token
        self.shots = shots
        self.problems: list[str] = []
        """Console errors, page errors, CSP violations."""
        self.elsewhere: list[str] = []
        """Requests (and sockets) to any origin but the server's: every one is aborted."""
        self.step = 0
        self.expected_failures: set[str] = set()
        """Paths whose 4xx the browser reports as an error on purpose (a wrong password)."""

    async def open(self) -> None:
        origin = urlsplit(self.base).netloc

        async def only_this_server(route: Any) -> None:
            if urlsplit(route.request.url).netloc == origin:
                await route.continue_()
            else:
                self.elsewhere.append(route.request.url)
                await route.abort()

        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on("websocket", self._socket)
        await self.page.route("**/*", only_this_server)
        response = await self.page.goto(f"{self.base}/graphql")
        assert response.status == 200
        await self.page.wait_for_selector(".graphiql-query-editor .CodeMirror", timeout=20_000)

    def _console(self, message: Any) -> None:
        path = urlsplit(message.location.get("url", "")).path
        if message.text.startswith("Failed to load resource") and path in self.expected_failures:
            return
        if message.type in {"error", "warning"}:
            self.problems.append(f"console {message.type}: {message.text}")

    def _socket(self, socket: Any) -> None:
        if urlsplit(socket.url).netloc != urlsplit(self.base).netloc:
            self.elsewhere.append(socket.url)

    async def shot(self, name: str) -> None:
        self.step += 1
        await self.page.screenshot(path=str(self.shots / f"{self.step:02d}-{name}.png"))

    async def set_editor(self, selector: str, text: str) -> None:
        """Replace an editor's text through CodeMirror, as typing would (without its
        bracket auto-closing, which makes typed text unpredictable)."""
        await self.page.eval_on_selector(
            selector, "(element, text) => element.CodeMirror.setValue(text)", text
        )
        # GraphiQL reads the operation's name from the editor after a debounce: running
        # at once would send the previous document's name with the new document.
        await self.page.wait_for_timeout(500)

    async def run(self, query: str | None = None) -> None:
        if query is not None:
            await self.set_editor(".graphiql-query-editor .CodeMirror", query)
        await self.page.click(".graphiql-query-editor .CodeMirror-lines")
        await self.page.keyboard.press("Control+Enter")

    async def result(self) -> str:
        value: str = await self.page.eval_on_selector(
            ".result-window .CodeMirror", "element => element.CodeMirror.getValue()"
        )
        return value

    async def result_containing(self, text: str) -> dict[str, Any]:
        """The result pane's JSON, once it contains ``text``."""
        try:
            await self.page.wait_for_function(
                "text => document.querySelector('.result-window .CodeMirror')"
                ".CodeMirror.getValue().includes(text)",
                arg=text,
                timeout=15_000,
            )
        except Exception as exc:
            shown = await self.result()
            raise AssertionError(f"the result never showed {text!r}; it shows {shown!r}") from exc
        parsed: dict[str, Any] = json.loads(await self.result())
        return parsed

    async def create_animals_until(self, name: str, shown: Callable[[], Awaitable[bool]]) -> None:
        """Create animals called ``name`` over HTTP until ``shown()`` (a subscription in the
        browser opens in its own time), for at most about ten seconds."""
        async with httpx.AsyncClient(base_url=self.base) as http:
            bearer = {"Authorization": f"Bearer {self.admin_token}"}
            create = {"query": f'mutation {{ createAnimal(input: {{name: "{name}"}}) {{ id }} }}'}
            for _ in range(50):
                response = await http.post("/graphql", json=create, headers=bearer)
                assert "errors" not in response.json(), response.text
                if await shown():
                    return
                await asyncio.sleep(0.2)

    async def event_for_animal_created_elsewhere(self, name: str) -> dict[str, Any]:
        """Create animals called ``name`` until the running subscription shows one, and
        return what it shows."""

        async def in_the_result() -> bool:
            return name in await self.result()

        await self.create_animals_until(name, in_the_result)
        return await self.result_containing(name)

    async def log_in(self, email: str, password: str = PASSWORD) -> None:
        """Log in with the page's form, as a person would, until it shows who is in."""
        await self.page.fill("#zoo-login input[name=username]", email)
        await self.page.fill("#zoo-login input[name=password]", password)
        await self.page.click("#zoo-login button[type=submit]")
        await self.page.locator("#zoo-email", has_text=email).wait_for()

    async def set_headers(self, headers: dict[str, str]) -> None:
        await self.page.click("button:has-text('Headers')")
        await self.set_editor(
            ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror", json.dumps(headers)
        )


def shots_folder(request: pytest.FixtureRequest) -> Path:
    """An empty folder for this test's screenshots."""
    assert CHROMIUM.exists(), "Chromium is required here (ZOO_TEST_REQUIRE_CLIENTS=1)"
    shots = SCREENSHOTS / request.node.name.replace("[", "-").rstrip("]")
    shots.mkdir(parents=True, exist_ok=True)
    for old in shots.glob("*.png"):
        old.unlink()
    return shots


@pytest.fixture
async def explorer(
    live: Live, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> AsyncIterator[Explorer]:
    from playwright.async_api import async_playwright

    shots = shots_folder(request)
    overrides = getattr(request, "param", {})  # settings, from an indirect parametrize
    async with live(**overrides) as (app, base, token), async_playwright() as playwright:
        await seed(app.state.services)
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 800})
            page.set_default_timeout(20_000)
            explorer = Explorer(page, base, app, token, shots)
            await explorer.open()
            yield explorer
        finally:
            await browser.close()
            with capsys.disabled():
                print(f"\nGraphiQL screenshots: {shots}")
    assert explorer.elsewhere == [], explorer.elsewhere
    assert explorer.problems == [], explorer.problems


async def test_the_page_runs_the_example_and_lists_the_schema_offline(
    explorer: Explorer,
) -> None:
    await explorer.shot("opened")
    await explorer.run()
    data = (await explorer.result_containing("Big Cat Exhibit"))["data"]
    assert data["exhibits"]["totalCount"] == 4
    await explorer.shot("example-query-ran")
    await explorer.page.click("[aria-label='Show Documentation Explorer']")
    docs = explorer.page.locator(".graphiql-doc-explorer")
    await docs.get_by_text("Query", exact=True).first.wait_for()
    await docs.get_by_text("Mutation", exact=True).first.wait_for()
    await docs.get_by_text("Query", exact=True).first.click()
    await docs.get_by_text("exhibits", exact=True).first.wait_for()
    await explorer.shot("docs-explorer")


async def test_a_person_logs_in_with_the_form_or_a_token_and_out_again(
    explorer: Explorer,
) -> None:
    page = explorer.page
    create = 'mutation { createExhibit(input: {name: "%s"}) { id name } }'

    await explorer.set_headers({"Authorization": f"Bearer {explorer.admin_token}"})
    await explorer.run(create % "With a token")
    created = await explorer.result_containing("With a token")
    assert created["data"]["createExhibit"]["name"] == "With a token"
    await explorer.shot("token-in-headers")
    await explorer.set_headers({})

    await explorer.run(create % "Anonymous")
    refused = await explorer.result_containing("UNAUTHENTICATED")
    assert refused["data"] is None

    await create_user(
        explorer.app.state.database, "keeper@example.com", PASSWORD, role=Role.CURATOR
    )
    await page.fill("#zoo-login input[name=username]", "keeper@example.com")
    await page.fill("#zoo-login input[name=password]", "wrong password")
    explorer.expected_failures.add("/auth/cookie/login")
    await page.click("#zoo-login button[type=submit]")
    await page.get_by_text("Wrong email or password.").wait_for()
    explorer.expected_failures.clear()
    await explorer.log_in("keeper@example.com")
    await page.locator("#zoo-login").wait_for(state="hidden")
    await explorer.shot("logged-in")

    await explorer.run("{ me { email } }")
    me = await explorer.result_containing("keeper@example.com")
    assert me["data"]["me"]["email"] == "keeper@example.com"
    await explorer.run(create % "With the cookie")
    created = await explorer.result_containing("With the cookie")
    assert created["data"]["createExhibit"]["name"] == "With the cookie"
    await explorer.shot("mutation-with-the-cookie")

    await page.click("#zoo-logout")
    await page.locator("#zoo-login").wait_for(state="visible")
    await explorer.run(create % "After logout")
    refused = await explorer.result_containing("UNAUTHENTICATED")
    assert refused["data"] is None
    await explorer.shot("logged-out")


async def test_a_keeper_sees_the_contact_fields_anonymous_sees_null_and_errors(
    explorer: Explorer,
) -> None:
    contact = '{ staff(filter: {nameContains: "John Doe"}) { edges { node { name email } } } }'
    await explorer.run(contact)
    hidden = await explorer.result_containing("FORBIDDEN")
    assert hidden["data"]["staff"]["edges"] == [{"node": {"name": "John Doe", "email": None}}]
    assert [e["path"][-1] for e in hidden["errors"]] == ["email"]
    await explorer.shot("contact-fields-anonymous")

    services = explorer.app.state.services
    john = (await services.staff.list(None, PageRequest(first=100))).items
    (john_id,) = [member.id for member in john if member.name == "John Doe"]
    await create_user(
        services.database,
        "kim@example.com",
        PASSWORD,
        role=Role.KEEPER,
        staff_member_id=john_id,
    )
    await explorer.log_in("kim@example.com")
    await explorer.run(contact)
    shown = await explorer.result_containing("john.doe@example.com")
    assert shown == {
        "data": {
            "staff": {"edges": [{"node": {"name": "John Doe", "email": "john.doe@example.com"}}]}
        }
    }
    await explorer.shot("contact-fields-as-a-keeper")


async def test_a_subscription_shows_events_for_mutations_made_elsewhere(
    explorer: Explorer,
) -> None:
    await explorer.run("subscription { animalEvents { kind animal { name } } }")
    event = await explorer.event_for_animal_created_elsewhere("Okapi")
    assert event["data"]["animalEvents"] == {"kind": "CREATED", "animal": {"name": "Okapi"}}
    await explorer.shot("subscription-event")


@pytest.mark.parametrize("explorer", [{"subscriptions_require_login": True}], indirect=True)
async def test_subscriptions_that_need_a_login_work_once_the_form_logs_in(
    explorer: Explorer,
) -> None:
    """GraphiQL's WebSocket carries the session cookie, which is all the server needs."""
    subscription = "subscription { animalEvents { kind animal { name } } }"
    await create_user(explorer.app.state.database, "night@example.com", PASSWORD, role=Role.CURATOR)
    await explorer.log_in("night@example.com")

    await explorer.run(subscription)
    event = await explorer.event_for_animal_created_elsewhere("Aardvark")
    assert event["data"]["animalEvents"]["animal"] == {"name": "Aardvark"}
    await explorer.shot("subscription-after-login")


async def test_the_browsers_own_eventsource_receives_events(explorer: Explorer) -> None:
    """Server-Sent Events as a page without any GraphQL library reads them: the browser's
    ``EventSource`` (a GET, from the page's origin, under its CSP)."""
    page = explorer.page
    await page.evaluate(
        """query => {
            window.zooEvents = [];
            const source = new EventSource("/graphql?query=" + encodeURIComponent(query));
            const keep = (event) => window.zooEvents.push(JSON.parse(event.data));
            source.addEventListener("next", keep);
            source.onerror = () => window.zooEvents.push({ error: source.readyState });
        }""",
        "subscription { animalEvents { kind animal { name } } }",
    )

    async def received() -> bool:
        return bool(await page.evaluate("window.zooEvents.length"))

    await explorer.create_animals_until("Quokka", received)
    events: list[dict[str, Any]] = await page.evaluate("window.zooEvents")
    assert events, "the EventSource received nothing"
    assert events[0] == {
        "data": {"animalEvents": {"kind": "CREATED", "animal": {"name": "Quokka"}}}
    }
