"""The per-request context: who is asking, the services, and loaders that live one request."""

from __future__ import annotations

from asyncio import Future
from collections.abc import Awaitable, Callable, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, TypeVar, cast

from starlette.types import Scope
from strawberry.dataloader import DataLoader
from strawberry.types import Info as StrawberryInfo

from zoo.auth.models import User
from zoo.auth.sessions import LiveSessions, Session
from zoo.core.batch_queries import Handover, Wanted, handed_over

if TYPE_CHECKING:
    from zoo.domains import Loaders, Services

K = TypeVar("K")
V = TypeVar("V")


class HandoverLoader(DataLoader[K, Handover[V]]):
    """Hands each caller its own result (see :class:`Handover`); a page's worth of keys
    may be loaded ahead (``graphql.preload``), to be taken without awaiting."""

    def __init__(self, load: Callable[[Sequence[K]], Awaitable[list[V]]]) -> None:
        super().__init__(handed_over(load), cache=False)
        self._ready: dict[K, list[Handover[V]]] = {}
        """Loaded ahead: one handover for each field that will take the key."""

    async def preload(self, keys: Sequence[K]) -> None:
        for key, handover in zip(keys, await self.load_many(keys), strict=True):
            self._ready.setdefault(key, []).append(handover)

    def take(self, key: K) -> V:
        """The value, at once when it was loaded ahead; else an awaitable of it."""
        ready = self._ready.get(key)
        if ready:
            return ready.pop().take()
        return _taken(self.load(key))  # type: ignore[return-value]


async def _taken(pending: Awaitable[Handover[V]]) -> V:
    return (await pending).take()


class Context:
    def __init__(
        self,
        services: Services,
        user: User | None,
        *,
        json_fragments: bool = False,
        max_items: int | None = None,
        session: Session | None = None,
        sessions: LiveSessions | None = None,
        scope: Scope | None = None,
    ) -> None:
        self.services = services
        self._user = user
        self.session = session
        """The login behind a long-lived connection, checked again as it goes."""
        self.sessions = sessions
        self.loaders: Loaders = services.new_loaders()
        self.read_attributes: dict[tuple[int, ...], Wanted] = {}
        """What each list field of this request's query reads (see ``graphql.selection``)."""
        self.json_fragments = json_fragments
        """The result goes straight to orjson (an HTTP response), so the executor may
        hand over finished lists as encoded ``orjson.Fragment`` values."""
        self.max_items = max_items
        """Most list items one operation may complete (see ``graphql.execution``)."""
        self.connection_params: object = None
        """Set by strawberry from a WebSocket's ``connection_init`` payload."""
        self.scope = scope
        """The connection's ASGI scope, read only when needed (``transport``)."""

    @property
    def user(self) -> User | None:
        """Who is asking: on a socket or stream, the login as last checked (a role or
        link changed since it opened applies to its next operation and event)."""
        return self.session.user if self.session is not None else self._user

    @user.setter
    def user(self, user: User | None) -> None:
        self._user = user

    @cached_property
    def transport(self) -> str:
        """How the operation arrived: http, sse, multipart, graphql-transport-ws or
        graphql-ws (see :func:`transport_of`). Worked out only for a subscription, which
        is labelled with it, not on every request."""
        return transport_of(self.scope) if self.scope is not None else "http"


SOCKET_PROTOCOLS = ("graphql-transport-ws", "graphql-ws")


def transport_of(scope: Scope) -> str:
    """The transport a connection speaks, as the metrics label subscriptions with: the
    WebSocket subprotocol (strawberry takes the first it knows of those offered), or for
    HTTP what the client accepts (a stream of Server-Sent Events or multipart parts)."""
    if scope["type"] == "websocket":
        offered = scope.get("subprotocols") or ()
        return next((p for p in offered if p in SOCKET_PROTOCOLS), "websocket")
    accept = next((v for k, v in scope.get("headers", ()) if k == b"accept"), b"")
    if b"text/event-stream" in accept:
        return "sse"
    if b"multipart/mixed" in accept:
        return "multipart"
    return "http"


Info = StrawberryInfo[Context, None]
T = TypeVar("T")


def deferred(pending: Awaitable[T]) -> T:
    """A loader's future handed to graphql-core as the field's value, to be awaited there;
    or, when the loader already holds the value (a primed or repeated key), the value.

    A coroutine resolver costs a coroutine and strawberry's async wrapper for
    every parent: thousands for a relation read on each item of a long list.
    A plain resolver returning the future skips both (measured with callgrind:
    5 % fewer instructions for ``animals { exhibit { id } }`` over 1,000 animals).
    A value given at once skips graphql-core's awaiting too: a list whose items
    all resolve at once is completed without a task per item.
    """
    if (
        isinstance(pending, Future)
        and pending.done()
        and not pending.cancelled()
        and pending.exception() is None
    ):
        return cast(T, pending.result())
    return pending  # type: ignore[return-value]
