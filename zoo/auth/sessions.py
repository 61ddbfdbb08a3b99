"""Logins held by long-lived connections (a WebSocket, a subscription stream), kept current.

A request checks its token once, which is enough for a request; a socket lives
for hours. So a connection's :class:`Session` is checked again before each
operation it runs, and a change to a user's logins (a logout, an update, a deletion) is
announced through the event broker, so that every instance checks that
user's open sessions again at once and ends those no longer valid.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from zoo.auth.models import AccessToken, User
from zoo.auth.tokens import stored_form
from zoo.events.broker import Broker, Change, ChangeKind

logger = logging.getLogger(__name__)

COOKIE_NAME = "zoo-auth"

USER_ENTITY = "User"
"""The entity of the events that say a user's logins changed (the id is the UUID's int)."""


@dataclass(frozen=True)
class Login:
    """The user a live session token names, and when the token lapses."""

    user: User
    expires_at: datetime


Verify = Callable[[str], Awaitable[Login | None]]
"""The login a credential names, or None."""


def announce_login_change(events: Broker, session: AsyncSession, user_id: uuid.UUID) -> None:
    """Announce that the user's logins change, with the session's next commit: the one
    that makes the change (fastapi-users commits its own writes)."""
    events.announce_on_commit(session, Change(USER_ENTITY, ChangeKind.UPDATED, user_id.int))


def bearer_token(authorization: str) -> str:
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def presented_token(request: HTTPConnection) -> str | None:
    """The session token a request came with (its bearer token, else the cookie)."""
    return bearer_token(request.headers.get("authorization", "")) or request.cookies.get(
        COOKIE_NAME
    )


async def revoke_sessions(session: AsyncSession, user_id: uuid.UUID, keep: str | None) -> None:
    """Delete the user's session rows (bearer tokens and cookies alike), but ``keep``."""
    tokens = AccessToken.__table__.c
    statement = delete(AccessToken).where(tokens.user_id == user_id)
    if keep:
        statement = statement.where(tokens.token != stored_form(keep))
    await session.execute(statement)


class Session:
    """The credential a connection logged in with, and the user it names as of the last check."""

    def __init__(self, credential: str, login: Login) -> None:
        self.credential = credential
        self.user = login.user
        self.expires_at = login.expires_at
        self.ended = False
        self.on_end: set[Callable[[], None]] = set()
        self.lapse: asyncio.TimerHandle | None = None
        """Ends the session as its token lapses, while something watches it."""

    def end(self) -> None:
        if self.ended:
            return
        self.ended = True
        for callback in list(self.on_end):
            callback()


class LiveSessions:
    """This process's sessions in use by long-lived connections, by user."""

    def __init__(self, verify: Verify) -> None:
        self.verify = verify
        self.by_user: dict[uuid.UUID, set[Session]] = {}
        self._checks: set[asyncio.Task[bool]] = set()

    async def check(self, session: Session) -> bool:
        """Whether the session still stands (its user refreshed); ends it if not."""
        if session.ended:
            return False
        login = await self.verify(session.credential)
        if login is None or not login.user.is_active:
            session.end()
            return False
        session.user = login.user
        return True

    @contextmanager
    def watched(self, session: Session, on_end: Callable[[], None]) -> Iterator[None]:
        """While the block runs, ``on_end`` is called if the session is ended: by a
        change to its user's logins, or as its token lapses (a request made with it
        then would be anonymous; an open connection kept its login for hours)."""
        users = self.by_user.setdefault(session.user.id, set())
        users.add(session)
        session.on_end.add(on_end)
        if session.lapse is None:
            left = (session.expires_at - datetime.now(UTC)).total_seconds()
            session.lapse = asyncio.get_running_loop().call_later(max(left, 0), session.end)
        try:
            yield
        finally:
            session.on_end.discard(on_end)
            if not session.on_end:
                if session.lapse is not None:
                    session.lapse.cancel()
                    session.lapse = None
                users.discard(session)
                if not users:
                    self.by_user.pop(session.user.id, None)

    def note(self, change: Change) -> None:
        """A broker listener: a user's logins changed somewhere; check their sessions here."""
        if change.entity == USER_ENTITY:
            self._check_again(self.by_user.get(uuid.UUID(int=change.id), ()))

    def check_all(self) -> None:
        """A broker gap listener: a logout announced meanwhile may have gone by unseen."""
        self._check_again(s for sessions in self.by_user.values() for s in sessions)

    def _check_again(self, sessions: Iterable[Session]) -> None:
        for session in list(sessions):
            task = asyncio.ensure_future(self.check(session))
            self._checks.add(task)
            task.add_done_callback(self._checked)

    def _checked(self, task: asyncio.Task[bool]) -> None:
        self._checks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.warning("could not check a session again: %s", task.exception())
