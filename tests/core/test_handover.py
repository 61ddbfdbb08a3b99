"""A handed-over loader result belongs to one caller."""

from __future__ import annotations

import pytest

from zoo.core.batch_queries import Handover, handed_over


async def test_each_key_gets_its_own_handover_even_when_repeated() -> None:
    shared = ["row"]

    async def load(keys: list[int]) -> list[list[str]]:
        return [shared for _ in keys]

    first, second = await handed_over(load)([1, 1])
    assert first is not second
    assert first.take() is shared
    assert second.take() is shared


def test_a_result_is_taken_once() -> None:
    handover = Handover([1, 2])
    assert handover.take() == [1, 2]
    with pytest.raises(RuntimeError, match="already taken"):
        handover.take()
