"""``GET /health`` and ``HEAD /health``: what a load balancer and a monitor ask of an instance."""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI
from fastapi.responses import JSONResponse

import zoo
from zoo.events.broker import Broker
from zoo.storage.database import Database, is_unavailable

logger = logging.getLogger("zoo")

RETRY_AFTER_SECONDS = "5"
"""When a probe that found the database out may ask again (as other outage answers say)."""


def add_health_routes(app: FastAPI, database: Database, events: Broker, timeout: float) -> None:
    """Both methods answer alike; HEAD without a body, as load balancers probe with it."""

    @app.get("/health", tags=["health"])
    async def health() -> JSONResponse:
        """200 after a database round trip; 503 with the reason when the database is
        unreachable or slower than ``ZOO_HEALTH_TIMEOUT_SECONDS``, so that a load balancer
        hears of a stalled database before its own probe times out.

        ``events`` says whether this instance hears of changes as they are made; while
        its PostgreSQL listener reconnects it does not, but every other request is
        answered, so the status stays 200 and the body says ``degraded`` for monitors."""
        try:
            await asyncio.wait_for(database.ping(), timeout)
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            logger.warning("health check failed: %s", exc)
            return JSONResponse(
                {"status": "unavailable", "database": "unreachable"},
                status_code=503,
                headers={"Retry-After": RETRY_AFTER_SECONDS},
            )
        state = events.state
        status = "degraded" if state == "reconnecting" else "ok"
        return JSONResponse(
            {"status": status, "database": "ok", "events": state, "version": zoo.__version__}
        )

    app.add_api_route("/health", health, methods=["HEAD"], include_in_schema=False)
