"""The outbox never loses a mail and never sends one twice: a mail server down or
refusing, a server process killed after the commit, two instances on one database."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.auth.test_account_mail import served
from tests.support.accounts import PASSWORD
from tests.support.mailbox import Mailbox
from tests.support.servers import Live, zoo_serve
from zoo.auth.service import create_user
from zoo.config import Settings
from zoo.mail.letters import letter
from zoo.mail.outbox import OutboxMail, queue
from zoo.observability import metrics
from zoo.storage.database import Database


def sample(name: str) -> float:
    value = metrics.REGISTRY.get_sample_value(name)
    return float(value or 0)


async def outbox(app_or_database: Any) -> list[OutboxMail]:
    database = getattr(getattr(app_or_database, "state", None), "database", app_or_database)
    async with database.read_session() as session:
        return list(await session.scalars(select(OutboxMail).order_by(OutboxMail.id)))


async def test_a_mail_server_down_for_ten_seconds_loses_no_mail_and_doubles_none(
    live: Live, mailbox: Mailbox
) -> None:
    async with served(live, mailbox, mail_retry_max_seconds=1, account_mails_per_hour=1000) as (
        app,
        http,
        _,
    ):
        emails = [f"reset-{i}@example.com" for i in range(50)]
        await asyncio.gather(*(create_user(app.state.database, e, PASSWORD) for e in emails))
        mailbox.stop()
        deferred = sample("zoo_mails_deferred_total")
        for email in emails:
            response = await http.post("/auth/forgot-password", json={"email": email})
            assert response.status_code == 202
        await asyncio.sleep(10)
        assert mailbox.messages == []
        assert (await http.get("/health")).status_code == 200  # mail is not the service
        assert sample("zoo_mails_deferred_total") > deferred
        mailbox.start()
        await mailbox.wait_for(50, seconds=30)
        await asyncio.sleep(1.5)  # time for a duplicate to show
        assert sorted(m["To"] for m in mailbox.messages) == sorted(emails)
        rows = await outbox(app)
        assert all(row.sent_at is not None and row.text_body == "" for row in rows)
        assert len({m["Message-ID"] for m in mailbox.messages}) == 50


async def test_refused_for_now_is_retried_and_refused_for_good_is_given_up(
    live: Live, mailbox: Mailbox
) -> None:
    async with served(live, mailbox, mail_retry_max_seconds=1) as (app, http, _):
        mailbox.refusal = "451 4.3.0 try again later"
        await http.post("/auth/forgot-password", json={"email": "later@example.com"})
        for _ in range(100):
            if (await outbox(app))[0].attempts >= 2:
                break
            await asyncio.sleep(0.05)
        (row,) = await outbox(app)
        assert (row.sent_at, row.failed_at) == (None, None)
        assert "451" in (row.last_error or "")
        mailbox.refusal = None
        (delivered,) = await mailbox.wait_for(1)
        assert delivered["To"] == "later@example.com"

        failed = sample("zoo_mails_failed_total")
        mailbox.refusal = "550 5.1.1 no such mailbox"
        await http.post("/auth/forgot-password", json={"email": "never@example.com"})
        for _ in range(100):
            rows = await outbox(app)
            if rows[-1].failed_at is not None:
                break
            await asyncio.sleep(0.05)
        assert rows[-1].failed_at is not None
        assert rows[-1].attempts == 1
        assert "550" in (rows[-1].last_error or "")
        assert sample("zoo_mails_failed_total") == failed + 1
        await asyncio.sleep(1.5)
        assert (await outbox(app))[-1].attempts == 1  # not tried again
        health = await http.get("/health")
        assert health.status_code == 200


async def test_without_a_mail_server_mails_are_files_and_links_are_logged(
    live: Live, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = tmp_path / "outbox-files"
    async with (
        live(mail_dir=directory) as (app, base, _),
        httpx.AsyncClient(base_url=base) as http,
    ):
        caplog.set_level(logging.INFO, logger="zoo.mail")
        await create_user(app.state.database, "files@example.com", PASSWORD)
        await http.post("/auth/forgot-password", json={"email": "files@example.com"})
        for _ in range(200):
            if list(directory.glob("*.eml")):
                break
            await asyncio.sleep(0.02)
    (written,) = directory.glob("*.eml")
    assert written.name.endswith("-reset_password.eml")
    content = written.read_text()
    assert "To: files@example.com" in content
    assert "/account/reset-password?token=" in content
    assert any("/account/reset-password?token=" in r.getMessage() for r in caplog.records)


@pytest.mark.slow
def test_a_server_killed_after_the_commit_sends_the_mail_after_restart(
    database_url: str, tmp_path: Path
) -> None:
    mailbox = Mailbox()  # not started: the mail server is down while the first server runs
    env = {
        "ZOO_ENV": "test",
        "ZOO_SMTP_URL": mailbox.url,
        "ZOO_MAIL_DIR": str(tmp_path),
        "ZOO_MAIL_RETRY_MAX_SECONDS": "1",
        "ZOO_LOG_LEVEL": "warning",
    }
    with zoo_serve(database_url, env=env) as (base, process):
        response = httpx.post(f"{base}/auth/forgot-password", json={"email": "k@example.com"})
        assert response.status_code == 202
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    rows = asyncio.run(_rows(database_url))
    assert [(r.recipient, r.sent_at) for r in rows] == [("k@example.com", None)]
    mailbox.start()
    try:
        with zoo_serve(database_url, env=env):
            asyncio.run(mailbox.wait_for(1, seconds=20))
        assert [m["To"] for m in mailbox.messages] == ["k@example.com"]
    finally:
        mailbox.stop()


async def _rows(database_url: str) -> list[OutboxMail]:
    database = Database(Settings(database_url=database_url))
    try:
        return await outbox(database)
    finally:
        await database.dispose()


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_two_instances_on_one_postgresql_send_each_mail_once(
    database_url: str, mailbox: Mailbox, tmp_path: Path
) -> None:
    env = {
        "ZOO_ENV": "test",
        "ZOO_SMTP_URL": mailbox.url,
        "ZOO_MAIL_DIR": str(tmp_path),
        "ZOO_MAIL_POLL_SECONDS": "0.1",
        "ZOO_LOG_LEVEL": "warning",
    }
    with zoo_serve(database_url, env=env), zoo_serve(database_url, env=env):
        asyncio.run(_queue_many(database_url, 200))
        asyncio.run(mailbox.wait_for(200, seconds=60))
        asyncio.run(asyncio.sleep(1))
    ids = Counter(m["Message-ID"] for m in mailbox.messages)
    assert len(ids) == 200
    assert set(ids.values()) == {1}, ids.most_common(3)


async def _queue_many(database_url: str, count: int) -> None:
    """Mails queued by a third party (another instance) in one transaction: both servers'
    senders find them at their next look, at once."""
    database = Database(Settings(database_url=database_url))
    try:
        async with database.transaction() as session:
            for i in range(count):
                queue(session, letter("reset_no_account", f"many-{i}@example.com"), lambda: None)
    finally:
        await database.dispose()


async def test_a_rolled_back_change_sends_nothing(live: Live, mailbox: Mailbox) -> None:
    async with served(live, mailbox) as (app, http, _):
        database: Database = app.state.database

        async def failing_change() -> None:
            async with database.transaction() as session:
                app.state.mail.queue(session, letter("reset_no_account", "gone@example.com"))
                raise RuntimeError("the change failed")

        with pytest.raises(RuntimeError):
            await failing_change()
        await http.post("/auth/forgot-password", json={"email": "kept@example.com"})
        (only,) = await mailbox.wait_for(1)
        await asyncio.sleep(0.3)
        assert [m["To"] for m in mailbox.messages] == ["kept@example.com"]
        assert [r.recipient for r in await outbox(app)] == ["kept@example.com"]
        assert only["Subject"] == "About a password reset at Zoo"
