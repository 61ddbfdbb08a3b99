"""One server at a time on an SQLite database.

With SQLite the event broker lives in the server's process: a second server on
the same file (another ``zoo serve``, or uvicorn run with ``--workers``) would
never hear of the first one's changes or ended logins. Its subscribers would
miss changes, a socket logged in there would go on after its user logged out
through the other, and each would count login attempts on its own. So a server
claims the file for as long as it runs, with a lock on a file beside it that
the operating system lets go of when the process ends, however it ends.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from zoo.config import Settings

LOCK_SUFFIX = "-server.lock"
"""The lock's file is the database's name with this added, beside it."""


class DatabaseClaimed(Exception):
    """Another server already serves this database."""


def claim_file(settings: Settings) -> Path | None:
    """The lock file a server of ``settings`` holds, or None where none is needed."""
    path = settings.sqlite_path
    if path is None or settings.events_through_postgres:
        return None
    return path.with_name(path.name + LOCK_SUFFIX)


@contextmanager
def sole_server(settings: Settings) -> Iterator[None]:
    """Hold the claim on the database while the block runs, or raise DatabaseClaimed."""
    path = claim_file(settings)
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatabaseClaimed(
                f"another Zoo server already serves {settings.sqlite_path}: with SQLite, "
                "changes and ended logins are heard only in the process that makes them, "
                "so one server (one worker) at a time; for more, use PostgreSQL"
            ) from None
        yield
    finally:
        os.close(descriptor)


def check_unclaimed(settings: Settings) -> None:
    """Raise DatabaseClaimed now, before a server starts, if it would be refused."""
    with sole_server(settings):
        pass
