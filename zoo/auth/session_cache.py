"""Logins this process read lately, so that a request with a token reads no row for it.

Every authenticated request looked its token up (one statement, the largest part
of a small write). Here a login read from the database is kept, by its token's
digest, for ``ZOO_SESSION_CACHE_SECONDS`` at most, and is forgotten the moment the
broker says its user's logins changed: every logout, password change, role change,
deactivation and deletion is announced with its commit (``auth.sessions``), in this
process at once and in every other through PostgreSQL's notifications. A gap in
those (the listener lost and back) forgets every entry.

A read that raced a change is not kept: each change moves a generation counter,
and a login read before the counter moved is not stored after it. A change made
around the services (SQL by hand, a CLI on SQLite, which has no broker to the
server) is seen once the entry is ``max_age`` old; ``0`` turns the cache off.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import Callable

from zoo.auth.sessions import USER_ENTITY, Login
from zoo.core.entity import utcnow
from zoo.events.broker import Change

DEFAULT_SIZE = 10_000


class SessionCache:
    def __init__(
        self,
        max_age: float,
        size: int = DEFAULT_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_age = max_age
        self.size = size
        self.clock = clock
        self.generation = 0
        """Moves with every change of any user's logins (and every gap)."""
        self._entries: OrderedDict[str, tuple[Login, float]] = OrderedDict()
        self._by_user: dict[uuid.UUID, set[str]] = {}

    @property
    def enabled(self) -> bool:
        return self.max_age > 0

    def get(self, digest: str) -> Login | None:
        """The login kept for ``digest``, if it is young enough and its token not lapsed."""
        entry = self._entries.get(digest)
        if entry is None:
            return None
        login, stored_at = entry
        if self.clock() - stored_at >= self.max_age or login.expires_at <= utcnow():
            self._drop(digest)
            return None
        self._entries.move_to_end(digest)
        return login

    def put(self, digest: str, login: Login, generation: int) -> None:
        """Keep ``login``, read when the counter stood at ``generation``, unless a change
        has been heard of since (the row read may already be revoked)."""
        if not self.enabled or generation != self.generation:
            return
        self._entries[digest] = (login, self.clock())
        self._entries.move_to_end(digest)
        self._by_user.setdefault(login.user.id, set()).add(digest)
        while len(self._entries) > self.size:
            self._drop(next(iter(self._entries)))

    def note(self, change: Change) -> None:
        """A broker listener: a user's logins changed; forget theirs."""
        if change.entity != USER_ENTITY:
            return
        self.generation += 1
        for digest in self._by_user.pop(uuid.UUID(int=change.id), set()):
            self._entries.pop(digest, None)

    def clear(self) -> None:
        """A broker gap listener: a change may have gone by unheard; forget everything."""
        self.generation += 1
        self._entries.clear()
        self._by_user.clear()

    def _drop(self, digest: str) -> None:
        entry = self._entries.pop(digest, None)
        if entry is None:
            return
        user_id = entry[0].user.id
        digests = self._by_user.get(user_id)
        if digests is not None:
            digests.discard(digest)
            if not digests:
                del self._by_user[user_id]
