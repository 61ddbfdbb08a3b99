"""What every subscription shares: the change stream, filtered, with rows loaded afresh."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import nullcontext
from typing import Any

import strawberry

from zoo.events.broker import ChangeKind as DomainChangeKind
from zoo.graphql.context import Info
from zoo.observability import metrics

ChangeKind = strawberry.enum(DomainChangeKind, name="ChangeKind")


async def changes(
    info: Info,
    entity: str,
    load: Callable[[int], Awaitable[Any]],
    exhibit_id: int | None = None,
) -> AsyncGenerator[tuple[DomainChangeKind, Any], None]:
    """Each committed change to ``entity`` (touching ``exhibit_id``, if given), with its row.

    A subscription's context lives as long as its socket, so the loaders are
    renewed for every event: nested fields then show the data as it is now.
    """
    context = info.context
    session, sessions = context.session, context.sessions
    async with context.services.events.subscribe() as subscriber:
        # A revoked login ends the subscription with UNAUTHENTICATED (on an HTTP stream;
        # a socket is closed as well, see ``graphql.websocket``).
        with (
            metrics.SUBSCRIPTIONS_OPEN.labels(context.transport).track_inprogress(),
            sessions.watched(session, subscriber.end_login)
            if session is not None and sessions is not None
            else nullcontext(),
        ):
            async for delivery in subscriber:
                change = delivery.change
                if change.entity != entity:
                    continue
                if exhibit_id is not None and exhibit_id not in change.exhibit_ids:
                    continue
                row = await delivery.row(load)
                if row is None:
                    continue
                context.loaders = context.services.new_loaders()
                yield change.kind, row
