"""Change events: announced by the commit that makes the change, fanned out to subscribers.

An event carries only what changed (entity, kind, id and the exhibits it
touched); subscribers load the current row themselves. Each subscriber has a
bounded queue: one that falls too far behind is ended with an error rather than
being allowed to grow the server's memory.

A change is announced with its transaction (:meth:`Broker.announce_on_commit`), not
after it, so that a committed change is always announced and a failed one never is
(ADR 0002).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from zoo.core.errors import EventsMissed, TooManySubscriptions, Unauthenticated
from zoo.events.change_log import Entry, append
from zoo.observability import metrics
from zoo.storage.database import at_commit

logger = logging.getLogger(__name__)

DEFAULT_QUEUE_SIZE = 1000


class ChangeKind(StrEnum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    DELETED = "DELETED"
    RESTORED = "RESTORED"


@dataclass(frozen=True, slots=True)
class Change:
    entity: str
    kind: ChangeKind
    id: int
    exhibit_ids: tuple[int, ...] = ()
    """Exhibits the row belonged to before or after the change (a move touches both)."""
    position: int | None = None
    """Its place in the change log (:mod:`zoo.events.change_log`); None for what the log
    does not keep (users' own account changes)."""

    def to_json(self) -> str:
        head = [self.entity, self.kind.value, self.id, list(self.exhibit_ids)]
        return json.dumps(head if self.position is None else [*head, self.position])

    def payload_head(self) -> str:
        """The announcement up to its position, which the database appends (with "]")."""
        return dataclasses.replace(self, position=None).to_json()[:-1] + ","

    @classmethod
    def from_json(cls, text: str) -> Change:
        entity, kind, id_, exhibit_ids, *rest = json.loads(text)
        position = int(rest[0]) if rest and rest[0] is not None else None
        return cls(
            str(entity),
            ChangeKind(kind),
            int(id_),
            tuple(int(e) for e in exhibit_ids),
            position,
        )


class Delivery:
    """One change as this process's subscribers receive it: the row is loaded once for all."""

    __slots__ = ("_row", "change")

    def __init__(self, change: Change) -> None:
        self.change = change
        self._row: asyncio.Future[Any] | None = None

    async def row(self, load: Callable[[Change], Awaitable[Any]]) -> Any:
        if self._row is None:
            self._row = asyncio.ensure_future(load(self.change))
        return await asyncio.shield(self._row)


class SubscriberTooSlow(EventsMissed):
    """The subscriber's queue overflowed; its subscription ends here."""


_OVERFLOWED = "overflowed"
_INTERRUPTED = "interrupted"
_CLOSED = "closed"
_LOGIN_ENDED = "login ended"


class Subscriber:
    def __init__(self, maxsize: int) -> None:
        # One slot more than the limit, kept for the sentinel that ends the stream.
        self.queue: asyncio.Queue[Delivery | str] = asyncio.Queue(maxsize + 1)
        self.limit = maxsize
        self.ended = False

    def offer(self, delivery: Delivery) -> None:
        if self.ended:
            return
        if self.queue.qsize() >= self.limit:
            metrics.SUBSCRIBERS_CUT_OFF.inc()
            self._end(_OVERFLOWED)
            return
        metrics.EVENTS_DELIVERED.inc()
        self.queue.put_nowait(delivery)

    def close(self) -> None:
        """End the stream cleanly (server shutdown): the subscription completes."""
        self._end_now(_CLOSED)

    def end_login(self) -> None:
        """The login this subscription runs under was revoked: end it with that error."""
        self._end_now(_LOGIN_ENDED)

    def interrupt(self) -> None:
        """Changes may have gone by unseen: end with ``EVENTS_MISSED``, at once."""
        self._end_now(_INTERRUPTED)

    def _end_now(self, reason: str) -> None:
        """End ahead of whatever is still waiting."""
        if not self.ended:
            while not self.queue.empty():
                self.queue.get_nowait()
            self._end(reason)

    def _end(self, reason: str) -> None:
        self.ended = True
        self.queue.put_nowait(reason)

    def __aiter__(self) -> AsyncIterator[Delivery]:
        return self

    async def __anext__(self) -> Delivery:
        item = await self.queue.get()
        if item == _OVERFLOWED:
            raise SubscriberTooSlow(
                "Too many events were waiting for this subscription; subscribe again"
            )
        if item == _INTERRUPTED:
            raise EventsMissed(
                "The server's event stream was interrupted and changes may have gone by "
                "unseen; subscribe again"
            )
        if item == _CLOSED:
            raise StopAsyncIteration
        if item == _LOGIN_ENDED:
            raise Unauthenticated("Your session has ended; log in again")
        assert isinstance(item, Delivery)
        return item


class Broker:
    """Fans changes out to this process's subscribers (the embedded, single-instance broker).

    Every change costs work for each subscriber, so their number is bounded:
    past ``max_subscribers`` a new subscription is refused.
    """

    def __init__(
        self, queue_size: int = DEFAULT_QUEUE_SIZE, max_subscribers: int | None = None
    ) -> None:
        self.queue_size = queue_size
        self.max_subscribers = max_subscribers
        self.subscribers: set[Subscriber] = set()
        self.stopping = False
        self.emptied = asyncio.Event()
        """Set when the last subscriber leaves."""
        self.listeners: list[Callable[[Change], None]] = []
        """Called with every change this process learns of (its own ones at once, even
        where they reach subscribers later, through the database), before subscribers."""
        self.gap_listeners: list[Callable[[], None]] = []
        """Called when changes may have gone by unseen (see :meth:`interrupt`): whatever a
        listener keeps up to date from changes is to be read afresh."""

    @property
    def state(self) -> str:
        """For ``/health``: whether this process hears of every change as it is made."""
        return "in-process"

    async def start(self) -> None:
        """Connect whatever the broker needs; the in-process one needs nothing."""
        self.stopping = False

    async def stop(self) -> None:
        self.end_subscriptions()

    def end_subscriptions(self) -> None:
        """End every subscription cleanly: each completes as its protocol says (the server
        is stopping: see ``zoo.server.shutdown``). One that starts later completes at once: the
        server has not yet closed the connection it came on."""
        self.stopping = True
        for subscriber in list(self.subscribers):
            subscriber.close()

    async def drain(self, grace: float = 0.05) -> None:
        """End every subscription, and return once each has let go of the broker, and a
        moment more for its protocol to send its last message."""
        self.end_subscriptions()
        if self.subscribers:
            self.emptied.clear()
            await self.emptied.wait()
        await asyncio.sleep(grace)

    def announce_on_commit(self, session: AsyncSession, change: Change) -> None:
        """Announce ``change`` if, and once, the session's transaction commits."""
        at_commit(session, self.announcing(change), lambda: self.committed(change))

    channel: str | None = None
    """Where the database announces logged changes to every instance; None: this
    process announces them itself, after the commit."""

    def log_on_commit(self, session: AsyncSession, change: Change, entry: Entry) -> None:
        """Append ``entry`` to the change log as the transaction's last statement, and
        announce ``change`` with the position it got, if, and once, it commits."""

        def write(sync_session: Session) -> None:
            append(sync_session, entry, change.payload_head(), self.channel)

        def announce() -> None:
            self.committed(dataclasses.replace(change, position=entry.position))

        at_commit(session, write, announce)

    def announcing(self, change: Change) -> Callable[[Session], object] | None:
        """What announces ``change`` inside its transaction; the in-process broker has
        nothing to write (its subscribers die with the process that commits)."""
        return None

    def committed(self, change: Change) -> None:
        metrics.EVENTS_PUBLISHED.inc()
        self.deliver(change)

    def interrupt(self) -> None:
        """This process's event stream was interrupted: changes may have gone by unseen.

        A subscriber cannot tell, and would go on showing what is no longer so; each
        is ended with ``EVENTS_MISSED`` (its client subscribes again, reading afresh),
        and the gap listeners are told.
        """
        metrics.EVENT_STREAM_GAPS.inc()
        logger.warning(
            "the event stream was interrupted: ending %d subscriptions", len(self.subscribers)
        )
        for subscriber in list(self.subscribers):
            subscriber.interrupt()
        for listener in self.gap_listeners:
            listener()

    def tell_listeners(self, change: Change) -> None:
        for listener in self.listeners:
            listener(change)

    def deliver(self, change: Change) -> None:
        self.tell_listeners(change)
        delivery = Delivery(change)
        for subscriber in list(self.subscribers):
            subscriber.offer(delivery)

    def subscribe(self) -> _Subscription:
        return _Subscription(self)


class _Subscription:
    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.subscriber = Subscriber(broker.queue_size)

    async def __aenter__(self) -> Subscriber:
        limit = self.broker.max_subscribers
        if limit is not None and len(self.broker.subscribers) >= limit:
            raise TooManySubscriptions(
                f"The server has {limit} subscriptions open, its limit; try again later"
            )
        self.broker.subscribers.add(self.subscriber)
        if self.broker.stopping:
            self.subscriber.close()
        return self.subscriber

    async def __aexit__(self, *exc: Any) -> None:
        self.broker.subscribers.discard(self.subscriber)
        if not self.broker.subscribers:
            self.broker.emptied.set()
