"""A change is announced by the commit that makes it: with it, and only with it."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest
from sqlalchemy import select

from tests.support.accounts import Account
from tests.support.clients import GraphQL
from tests.support.databases import asyncpg_dsn
from tests.support.faults import killing_the_backend
from zoo.domains import Services
from zoo.events.broker import Change
from zoo.events.postgres import CHANNEL
from zoo.exhibits.models import Exhibit

CREATE = 'mutation { createExhibit(input: {name: "Kept"}) { id } }'


@asynccontextmanager
async def heard(database_url: str) -> AsyncIterator[list[Change]]:
    """The changes announced on the database while the block runs, as any instance hears them."""
    changes: list[Change] = []
    listener = await asyncpg.connect(asyncpg_dsn(database_url))
    await listener.add_listener(CHANNEL, lambda *args: changes.append(Change.from_json(args[-1])))
    try:
        yield changes
    finally:
        await listener.close()


async def exhibits_named(services: Services, name: str) -> list[int]:
    async with services.database.read_session() as session:
        return list(await session.scalars(select(Exhibit.id).where(Exhibit.name == name)))


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
@pytest.mark.postgres
async def test_a_change_is_announced_though_its_process_dies_as_it_commits(
    database_url: str, services: Services
) -> None:
    """Announced after the commit, a change was lost to every instance's subscribers
    when its process died between the two (killed, out of memory, a redeploy): they
    went on showing what was no longer so, and nothing told them. Here the process is
    killed the moment its commit returns."""
    script = textwrap.dedent(
        """
        import asyncio, os, signal, sys
        from sqlalchemy import event
        from sqlalchemy.orm import Session
        from zoo.config import Settings
        from zoo.events.postgres import PostgresBroker
        from zoo.storage.database import Database
        from zoo.exhibits.schemas import ExhibitCreate
        from zoo.domains import Services

        async def main() -> None:
            settings = Settings(database_url=sys.argv[1], env="test")
            services = Services.build(Database(settings), PostgresBroker(settings.database_url))
            event.listen(Session, "after_commit", lambda _: os.kill(os.getpid(), signal.SIGKILL))
            await services.exhibits.create(ExhibitCreate(name="Kept"))

        asyncio.run(main())
        """
    )
    async with heard(database_url) as changes:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", script, database_url, stderr=subprocess.PIPE
        )
        _, stderr = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == -9, stderr.decode()
        [id_] = await exhibits_named(services, "Kept")
        for _ in range(50):
            if changes:
                break
            await asyncio.sleep(0.02)
    assert [(c.entity, c.kind.value, c.id) for c in changes] == [("Exhibit", "CREATED", id_)]


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
@pytest.mark.postgres
async def test_a_change_whose_commit_fails_is_not_announced(
    app: Any, database_url: str, services: Services, gql: GraphQL, user: Account
) -> None:
    """The announcement is sent inside the transaction: PostgreSQL drops it with a
    transaction that never commits, so subscribers are never shown a change that
    did not happen."""
    async with heard(database_url) as changes:
        async with killing_the_backend(app, "COMMIT") as killed:
            error = await gql.error(CREATE, token=user.token)
        assert killed
        assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        created = await gql.data(CREATE.replace("Kept", "Second"), token=user.token)
        await asyncio.sleep(0.2)
    assert await exhibits_named(services, "Kept") == []
    assert [c.id for c in changes] == [int(created["createExhibit"]["id"])]


async def test_a_failure_after_the_commit_does_not_fail_the_write(
    services: Services, gql: GraphQL, user: Account, caplog: pytest.LogCaptureFixture
) -> None:
    """Once committed, a write has happened: whatever fails after the commit (here, one
    of the broker's listeners) is logged, not reported to the client as a failure
    (which a client would retry, writing it twice)."""

    def broken(change: Change) -> None:
        raise RuntimeError(f"a listener's bug, on {change}")

    services.events.listeners.append(broken)
    created = await gql.data(CREATE, token=user.token)
    assert await exhibits_named(services, "Kept") == [int(created["createExhibit"]["id"])]
    logged = [r for r in caplog.records if r.getMessage() == "work after a commit failed"]
    assert len(logged) == 1
    assert "a listener's bug" in str(logged[0].exc_info)
