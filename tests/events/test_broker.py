"""The broker's promises: fan-out in order, a bounded queue per subscriber, a clean shutdown."""

from __future__ import annotations

import asyncio

import pytest

from zoo.events.broker import Broker, Change, ChangeKind, SubscriberTooSlow


def change(id_: int) -> Change:
    return Change("Animal", ChangeKind.CREATED, id_, (1,))


async def test_every_subscriber_gets_every_change_in_order() -> None:
    broker = Broker(queue_size=10)
    async with broker.subscribe() as first, broker.subscribe() as second:
        for id_ in range(5):
            broker.committed(change(id_))
        for subscriber in (first, second):
            got = [(await anext(subscriber)).change.id for _ in range(5)]
            assert got == [0, 1, 2, 3, 4]
    assert broker.subscribers == set()


async def test_a_slow_subscriber_is_cut_off_not_grown() -> None:
    broker = Broker(queue_size=3)
    async with broker.subscribe() as slow, broker.subscribe() as fast:
        for id_ in range(3):
            broker.committed(change(id_))
        assert [(await anext(fast)).change.id for _ in range(3)] == [0, 1, 2]
        broker.committed(change(3))  # the slow one now has 4 waiting: over its limit
        assert slow.queue.qsize() <= 4
        received = [(await anext(slow)).change.id for _ in range(3)]
        assert received == [0, 1, 2]
        with pytest.raises(SubscriberTooSlow):
            await anext(slow)
        assert (await anext(fast)).change.id == 3


async def test_shutdown_ends_subscriptions_cleanly() -> None:
    broker = Broker()
    async with broker.subscribe() as subscriber:
        waiting = asyncio.ensure_future(anext(subscriber))
        await asyncio.sleep(0)
        await broker.stop()
        with pytest.raises(StopAsyncIteration):
            await waiting


async def test_a_subscription_begun_while_stopping_ends_at_once() -> None:
    """Between the stop signal and the server closing its connections, a new subscription
    completes at once instead of waiting to be cut."""
    broker = Broker()
    broker.end_subscriptions()
    async with broker.subscribe() as late:
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(anext(late), timeout=5)
    await broker.start()  # a broker started again serves again
    async with broker.subscribe() as renewed:
        broker.committed(change(7))
        assert (await anext(renewed)).change.id == 7


async def test_a_change_is_loaded_once_for_all_subscribers() -> None:
    broker = Broker()
    loads: list[int] = []

    async def load(announced: Change) -> str:
        loads.append(announced.id)
        await asyncio.sleep(0)
        return f"row {announced.id}"

    async with broker.subscribe() as first, broker.subscribe() as second:
        broker.committed(change(7))
        one, two = await anext(first), await anext(second)
        assert await asyncio.gather(one.row(load), two.row(load)) == ["row 7", "row 7"]
    assert loads == [7]


def test_changes_survive_the_wire() -> None:
    original = Change("StaffMember", ChangeKind.UPDATED, 12, (3, 4))
    assert Change.from_json(original.to_json()) == original


async def test_draining_waits_for_every_subscription_to_let_go() -> None:
    """A stop signal reaches uvicorn only after this: handed on at once, a socket could be
    closed before its subscription had sent ``complete``."""
    broker = Broker()
    left: list[int] = []

    async def subscription(number: int) -> None:
        async with broker.subscribe() as subscriber:
            async for _ in subscriber:
                pass
            await asyncio.sleep(0.05 * number)  # its protocol's last message, slowly
        left.append(number)

    running = [asyncio.ensure_future(subscription(n)) for n in range(1, 4)]
    await asyncio.sleep(0.01)
    await asyncio.wait_for(broker.drain(grace=0), 2)
    assert sorted(left) == [1, 2, 3]
    await asyncio.gather(*running)
    await asyncio.wait_for(broker.drain(grace=0), 1)  # none left: at once
