"""The pages mailed links open when there is no front end yet (``ZOO_APP_URL`` unset).

``/account/accept-invitation``, ``/account/reset-password`` (without a token: ask for
a reset link) and ``/account/verify``: one small page each, built like the GraphiQL
page: every script and style a file of this server's (``static/account.*``), a
Content-Security-Policy of ``default-src 'none'`` that forbids inline script, no
third-party asset. The page reads the token from its own URL and posts it, with
what the person types, to the JSON routes (``auth.account_routes``), then offers to
log in. Nothing is sent on opening the page: mail scanners that follow links must
not use a token up.
"""

from __future__ import annotations

import base64
import hashlib
import html
from functools import cache
from pathlib import Path
from string import Template

from fastapi import FastAPI, Request
from starlette.responses import HTMLResponse
from starlette.routing import Route
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
STATIC_PATH = "/account/static"
PAGES = {
    "accept-invitation": "Accept your invitation",
    "reset-password": "Reset your password",
    "verify": "Confirm your e-mail address",
}

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


def _integrity(name: str) -> str:
    digest = hashlib.sha384((STATIC / name).read_bytes()).digest()
    return "sha384-" + base64.b64encode(digest).decode("ascii")


@cache
def _template() -> Template:
    return Template((STATIC / "account.html").read_text(encoding="utf-8"))


@cache
def _integrities() -> tuple[str, str]:
    return _integrity("account.css"), _integrity("account.js")


def page(name: str, root_path: str) -> str:
    css, js = _integrities()
    return _template().substitute(
        title=html.escape(PAGES[name]),
        page=html.escape(name),
        root=html.escape(root_path),
        static=html.escape(root_path + STATIC_PATH),
        css_integrity=css,
        js_integrity=js,
    )


def _endpoint(name: str) -> Route:
    async def show(request: Request) -> HTMLResponse:
        response = HTMLResponse(page(name, request.scope.get("root_path", "")))
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        # The URL holds a token: no cache keeps the page (and its <meta name="referrer">
        # sends no Referer at all from it).
        response.headers["Cache-Control"] = "no-store"
        return response

    return Route(f"/account/{name}", show, methods=["GET"], name=f"account-{name}")


def add_account_pages(app: FastAPI) -> None:
    app.router.routes.extend(_endpoint(name) for name in PAGES)
    app.mount(STATIC_PATH, StaticFiles(directory=STATIC), name="account-static")
