"""``/docs`` and ``/redoc`` as the README describes them: FastAPI's pages, whose scripts
come from public CDNs (unlike GraphiQL's, served by Zoo), which the README says."""

from __future__ import annotations

import re

import httpx

from tests.support.databases import ROOT, dispose
from zoo.app import create_app
from zoo.config import Settings


async def test_the_readme_names_every_host_the_docs_pages_load_from(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"api_docs": True}))
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://zoo") as http:
            pages = [(await http.get(path)).text for path in ("/docs", "/redoc")]
            assert (await http.get("/openapi.json")).status_code == 200
    finally:
        await dispose(app)
    hosts = {host for page in pages for host in re.findall(r"https://([a-z0-9.-]+)/", page)}
    named = {"cdn.jsdelivr.net": "jsDelivr", "fonts.googleapis.com": "Google Fonts"}
    assert hosts <= set(named) | {"fastapi.tiangolo.com"}, hosts
    readme = (ROOT / "README.md").read_text()
    for host in hosts & set(named):
        assert named[host] in readme, host


async def test_the_openapi_document_lists_the_refusals_zoo_adds(settings: Settings) -> None:
    """A 429 with Retry-After on every rate-limited route, a 403 on those the cookie
    reaches, each in the REST error shape (schemathesis found them undocumented)."""
    app = create_app(settings.model_copy(update={"api_docs": True}))
    try:
        document = app.openapi()
    finally:
        await dispose(app)
    paths = document["paths"]
    for path in (
        "/auth/jwt/login",
        "/auth/cookie/login",
        "/auth/register",
        "/auth/forgot-password",
    ):
        limited = paths[path]["post"]["responses"]["429"]
        assert "Retry-After" in limited["headers"], path
        assert limited["content"]["application/json"]["schema"]["$ref"].endswith("/RestError")
    assert "403" in paths["/users/me"]["patch"]["responses"]
    error = document["components"]["schemas"]["RestError"]
    assert set(error["properties"]) == {"code", "detail"}
