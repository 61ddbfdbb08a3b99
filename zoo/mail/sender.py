"""The sender: a task in each server process that sends the outbox's due mails.

It claims a batch of due mails by setting a lease on them (``claimed_until``), in a
transaction that skips rows another process has locked (``FOR UPDATE SKIP LOCKED``
on PostgreSQL; SQLite has one writer at a time), so that with several instances
each mail is claimed by exactly one. It then sends the batch outside any
transaction, and records each outcome only while its lease is still its own. A
process that dies holding a lease leaves the mail to be claimed again once the
lease lapses; one that dies before claiming leaves it due.

It sends as soon as a transaction that queued a mail commits in this process (it
is woken), and looks every ``ZOO_MAIL_POLL_SECONDS`` for mails queued elsewhere
or due again. A mail refused for now waits 1, 2, 4... seconds between attempts,
up to ``ZOO_MAIL_RETRY_MAX_SECONDS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from zoo.core.entity import utcnow
from zoo.mail.delivery import Delivery, Outcome, Result
from zoo.mail.outbox import Mail, OutboxMail, queue
from zoo.observability import metrics
from zoo.storage.database import Database, is_unavailable

logger = logging.getLogger("zoo.mail")

BATCH = 20
LEASE_SECONDS = 120.0
"""How long a claimed batch is a sender's own: longer than sending it can take (each
SMTP step gives up after 20 s)."""
STOP_SECONDS = 5.0


def pending() -> ColumnElement[bool]:
    mails = OutboxMail.__table__.c
    return and_(mails.sent_at.is_(None), mails.failed_at.is_(None))


def retry_pause(attempts: int, longest: float) -> float:
    """Seconds before attempt ``attempts + 1``: 1, 2, 4... up to ``longest``."""
    return float(min(longest, 2.0 ** min(max(attempts - 1, 0), 30)))


class Sender:
    def __init__(
        self,
        database: Database,
        delivery: Delivery,
        *,
        retry_max_seconds: float,
        poll_seconds: float,
        batch: int = BATCH,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        self.database = database
        self.delivery = delivery
        self.retry_max_seconds = retry_max_seconds
        self.poll_seconds = poll_seconds
        self.batch = batch
        self.lease = timedelta(seconds=lease_seconds)
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def queue(self, session: AsyncSession, mail: Mail) -> None:
        """Queue ``mail`` in ``session``'s transaction, to be sent once it commits."""
        queue(session, mail, self.wake)

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="zoo-mail-sender")

    async def stop(self) -> None:
        """Let the batch in hand finish (a few seconds at most), then stop: a batch cut
        off after the server took a mail would send it again after its lease."""
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._task), STOP_SECONDS)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            pause = self.poll_seconds
            try:
                while await self.send_due() == self.batch and not self._stopping:
                    pass
                pause = await self._pause()
            except Exception as exc:
                if is_unavailable(exc):
                    logger.warning("mail sender: the database is unavailable: %s", exc)
                else:
                    logger.exception("mail sender: a pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), pause)

    async def send_due(self) -> int:
        """Claim up to a batch of due mails, send them, record how each went; the number
        claimed."""
        claimed, lease = await self._claim()
        if not claimed:
            return 0
        try:
            results = await self.delivery.send(claimed)
        except Exception as exc:
            logger.exception("mail delivery failed")
            results = [Result(Outcome.RETRY, f"{type(exc).__name__}: {exc}"[:500])] * len(claimed)
        await self._record(claimed, results, lease)
        return len(claimed)

    async def _claim(self) -> tuple[list[OutboxMail], datetime]:
        mails = OutboxMail.__table__.c
        now = utcnow()
        lease = now + self.lease
        due = (
            select(mails.id)
            .where(
                pending(),
                mails.next_attempt_at <= now,
                or_(mails.claimed_until.is_(None), mails.claimed_until < now),
            )
            .order_by(mails.id)
            .limit(self.batch)
            .with_for_update(skip_locked=True)
        )
        claim = (
            update(OutboxMail)
            .where(mails.id.in_(due.scalar_subquery()))
            .values(claimed_until=lease, attempts=mails.attempts + 1)
            .returning(OutboxMail)
            .execution_options(synchronize_session=False)
        )
        async with self.database.transaction() as session:
            claimed = sorted((await session.scalars(claim)).all(), key=lambda mail: mail.id)
        return claimed, lease

    async def _record(
        self, claimed: list[OutboxMail], results: list[Result], lease: datetime
    ) -> None:
        mails = OutboxMail.__table__.c
        now = utcnow()
        async with self.database.transaction() as session:
            for mail, result in zip(claimed, results, strict=True):
                values: dict[str, object] = {"claimed_until": None, "last_error": result.error}
                if result.outcome is Outcome.SENT:
                    values.update(sent_at=now, text_body="", html_body="", link=None)
                    metrics.MAILS_SENT.inc()
                elif result.outcome is Outcome.FAILED:
                    values.update(failed_at=now)
                    metrics.MAILS_FAILED.inc()
                    logger.error(
                        "mail %d (%s) to %s refused for good: %s",
                        mail.id,
                        mail.kind,
                        mail.recipient,
                        result.error,
                    )
                else:
                    pause = retry_pause(mail.attempts, self.retry_max_seconds)
                    values.update(next_attempt_at=now + timedelta(seconds=pause))
                    metrics.MAILS_DEFERRED.inc()
                await session.execute(
                    update(OutboxMail)
                    .where(mails.id == mail.id, mails.claimed_until == lease)
                    .values(**values)
                    .execution_options(synchronize_session=False)
                )

    async def _pause(self) -> float:
        """Until the next mail falls due, at most ``poll_seconds``; the pending count is
        read on the way (the metric)."""
        mails = OutboxMail.__table__.c
        async with self.database.read_session() as session:
            count = await session.scalar(select(func.count()).where(pending()))
            due = await session.scalar(
                select(func.min(mails.next_attempt_at)).where(
                    pending(), mails.claimed_until.is_(None)
                )
            )
        metrics.MAILS_PENDING.set(count or 0)
        if due is None:
            return self.poll_seconds
        if isinstance(due, str):  # SQLite's aggregate loses the column's type
            due = datetime.fromisoformat(due)
        if due.tzinfo is None:
            due = due.replace(tzinfo=utcnow().tzinfo)
        wait: float = (due - utcnow()).total_seconds()
        return min(self.poll_seconds, max(wait, 0.05))
