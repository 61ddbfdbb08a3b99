"""What every subscription shares: the change stream, filtered, each change with its row
as the change log holds it, and resuming from a cursor (``zoo.events.replay``)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import nullcontext
from typing import Any

import strawberry

from zoo.core.entity_service import EntityService
from zoo.core.errors import EventsMissed
from zoo.events.broker import Change
from zoo.events.broker import ChangeKind as DomainChangeKind
from zoo.events.change_log import LoggedChange, decode_position, encode_position
from zoo.events.replay import Replay, logged_change
from zoo.graphql.context import Info
from zoo.observability import metrics
from zoo.storage.database import Database

ChangeKind = strawberry.enum(
    DomainChangeKind, name="ChangeKind", description="What a change did to its row."
)

AFTER = (
    "Resume: first every matching change after this cursor (an event's `cursor`, or "
    "`lastCursor` of an EVENTS_MISSED error), in order, then live ones, with no gap "
    "and no duplicate. Too far behind (ZOO_RESUME_MAX_EVENTS) or older than the log "
    "keeps (ZOO_HISTORY_DAYS) is EVENTS_MISSED at once."
)

Event = tuple[DomainChangeKind, Any, str]
"""A change's kind, its row as the change left it, and its cursor."""


async def changes(
    info: Info,
    service: EntityService[Any, Any],
    exhibit_id: int | None = None,
    after: str | None = None,
) -> AsyncGenerator[Event, None]:
    """Each committed change to the service's rows (touching ``exhibit_id``, if given);
    after the cursor ``after`` first, if given. An ``EVENTS_MISSED`` that ends the stream
    carries the cursor of the last event delivered.

    A subscription's context lives as long as its socket, so the loaders are
    renewed for every event: nested fields then show the data as it is now.
    """
    context = info.context
    services = context.services
    policy = services.log_policy
    entity, model = service.entity_name, service.model
    replay = None
    if after is not None:
        replay = Replay(entity, exhibit_id, decode_position(after), policy.resume_max_events)
    delivered = None if replay is None else replay.after
    session, sessions = context.session, context.sessions
    async with services.events.subscribe() as subscriber:
        # A revoked login ends the subscription with UNAUTHENTICATED (on an HTTP stream;
        # a socket is closed as well, see ``graphql.websocket``).
        with (
            metrics.SUBSCRIPTIONS_OPEN.labels(context.transport).track_inprogress(),
            sessions.watched(session, subscriber.end_login)
            if session is not None and sessions is not None
            else nullcontext(),
        ):
            through = 0
            if replay is not None:
                through = await replay.through(services.database, policy.describe())
                async for logged in replay.changes(services.database, through):
                    context.loaders = services.new_loaders()
                    yield DomainChangeKind(logged.kind), logged.row(model), logged.cursor
                    delivered = logged.position
            try:
                async for delivery in subscriber:
                    change = delivery.change
                    if change.entity != entity:
                        continue
                    if change.position is None:
                        raise EventsMissed(
                            "A change was made that the change log does not hold (by a "
                            "server of an earlier version); read afresh"
                        )
                    if change.position <= through:
                        continue  # replayed, or not this subscription's
                    if exhibit_id is not None and exhibit_id not in change.exhibit_ids:
                        continue
                    logged = await delivery.row(_from_log(services.database))
                    if logged is None:
                        continue
                    context.loaders = services.new_loaders()
                    yield change.kind, logged.row(model), logged.cursor
                    delivered = change.position
            except EventsMissed as missed:
                last = None if delivered is None else encode_position(delivered)
                raise EventsMissed(missed.message, last) from None


def _from_log(database: Database) -> Callable[[Change], Awaitable[LoggedChange | None]]:
    """Loads a live change's row from the log: one read per change for all subscribers."""

    async def load(change: Change) -> LoggedChange | None:
        assert change.position is not None
        return await logged_change(database, change.position)

    return load
