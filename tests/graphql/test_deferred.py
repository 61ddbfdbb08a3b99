"""A relation resolver hands graphql-core a value when its loader already holds it."""

from __future__ import annotations

import asyncio

import pytest

from zoo.graphql.context import deferred


async def test_a_value_the_loader_holds_is_given_at_once() -> None:
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    ready.set_result("exhibit")
    assert deferred(ready) == "exhibit"


async def test_a_pending_load_is_left_to_graphql_core_to_await() -> None:
    pending: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    handed = deferred(pending)
    assert handed is pending
    pending.set_result("later")
    assert await handed == "later"


async def test_a_failed_load_still_raises_where_graphql_core_awaits_it() -> None:
    failed: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    failed.set_exception(LookupError("gone"))
    handed = deferred(failed)
    assert handed is failed
    with pytest.raises(LookupError, match="gone"):
        await handed


async def test_a_cancelled_load_is_not_read() -> None:
    cancelled: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    cancelled.cancel()
    assert deferred(cancelled) is cancelled
