"""The baseline of the change log's goal: Zoo itself, with each change announced as it
was before the log (``announce_on_commit``) instead of appended to the log with it.

Nothing else differs (same app, settings, statements for the write itself), so the
ratio is what the log costs a write: its counter and row (on PostgreSQL folded into
the statement that notifies; on SQLite two statements more).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from zoo.app import create_app
from zoo.events.broker import Broker, Change
from zoo.events.change_log import Entry


def _announce_only(self: Broker, session: AsyncSession, change: Change, entry: Entry) -> None:
    self.announce_on_commit(session, change)


Broker.log_on_commit = _announce_only  # type: ignore[method-assign]
app = create_app()
