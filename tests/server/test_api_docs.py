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
