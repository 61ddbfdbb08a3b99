"""``extensions.cost``: each operation's estimate beside the limit, where it is asked for,
equal to the figure a refusal names; and the same figure as a metric."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from tests.support.databases import dispose
from zoo.app import create_app
from zoo.config import Environment, Settings
from zoo.observability import metrics

QUERY = "{ exhibits(first: 3) { edges { node { id animals { id name } } } } }"


@asynccontextmanager
async def client(settings: Settings, **changes: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update=changes))
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://zoo") as http:
            yield http
    finally:
        await dispose(app)


async def test_the_cost_beside_the_limit_is_the_figure_a_refusal_names(
    settings: Settings,
) -> None:
    async with client(settings, cost_in_extensions=True, max_cost=1) as http:
        refused = (await http.post("/graphql", json={"query": QUERY})).json()
    [error] = refused["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    cost = error["extensions"]["cost"]
    assert "extensions" not in refused  # nothing ran: no cost beside a result
    async with client(settings, cost_in_extensions=True) as http:
        body = (await http.post("/graphql", json={"query": QUERY})).json()
    assert body["data"] == {"exhibits": {"edges": []}}
    assert body["extensions"] == {"cost": {"requested": cost, "limit": settings.max_cost}}
    assert cost > 3  # three exhibits at least, each with its fields


async def test_off_unless_asked_outside_development(settings: Settings) -> None:
    before = sample_count()
    async with client(settings) as http:
        body = (await http.post("/graphql", json={"query": QUERY})).json()
    assert "extensions" not in body
    assert sample_count() == before + 1  # the metric counts every estimate
    assert Settings(env=Environment.DEVELOPMENT).cost_in_extensions_enabled
    assert not Settings(env=Environment.TEST).cost_in_extensions_enabled
    production = Settings(env=Environment.PRODUCTION, secret="s" * 40)
    assert not production.cost_in_extensions_enabled
    assert Settings(
        env=Environment.PRODUCTION, secret="s" * 40, cost_in_extensions=True
    ).cost_in_extensions_enabled


def sample_count() -> float:
    for family in metrics.OPERATION_COST.collect():
        for sample in family.samples:
            if sample.name.endswith("_count"):
                return sample.value
    pytest.fail("the cost histogram has no count")
