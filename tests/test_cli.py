"""The ``zoo`` command, run as a subprocess the way people run it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.databases import ROOT
from tests.support.servers import free_port, python_module, zoo, zoo_serve

pytestmark = pytest.mark.slow
"""Real server processes, or long waits for deadlines."""


@pytest.fixture
def sqlite_env(tmp_path: Path) -> dict[str, str]:
    return {"ZOO_DATABASE_URL": f"sqlite:///{tmp_path / 'cli' / 'zoo.db'}"}


def test_migrate_seed_and_users(sqlite_env: dict[str, str]) -> None:
    assert zoo("migrate", env=sqlite_env).returncode == 0
    first = zoo("seed", env=sqlite_env)
    assert first.returncode == 0, first.stderr
    assert "4 exhibits, 2 staff, 40 animals created" in first.stdout
    again = zoo("seed", env=sqlite_env)
    assert "0 exhibits, 0 staff, 0 animals created" in again.stdout
    skipped = zoo("seed", "--if-empty", env=sqlite_env)
    assert "not seeding" in skipped.stdout

    created = zoo(
        "users",
        "create",
        "--email",
        "boss@example.com",
        "--password",
        "s3cret-pass",
        "--superuser",
        env=sqlite_env,
    )
    assert created.returncode == 0, created.stderr
    assert "created superuser boss@example.com" in created.stdout

    duplicate = zoo(
        "users",
        "create",
        "--email",
        "boss@example.com",
        "--password",
        "s3cret-pass",
        env=sqlite_env,
    )
    assert duplicate.returncode == 1
    assert "already exists" in duplicate.stderr
    assert "Traceback" not in duplicate.stderr

    bad_email = zoo(
        "users", "create", "--email", "nope", "--password", "s3cret-pass", env=sqlite_env
    )
    assert bad_email.returncode == 1
    assert "email" in bad_email.stderr
    assert "Traceback" not in bad_email.stderr

    short = zoo(
        "users", "create", "--email", "x@example.com", "--password", "short", env=sqlite_env
    )
    assert short.returncode == 1
    assert "password" in short.stderr


def test_seed_creates_no_known_password_unless_asked(sqlite_env: dict[str, str]) -> None:
    zoo("migrate", env=sqlite_env)
    plain = zoo("seed", env=sqlite_env)
    assert "demo superuser" not in plain.stdout
    demo = zoo("seed", "--demo-user", env=sqlite_env)
    assert demo.returncode == 0, demo.stderr
    line = next(line for line in demo.stdout.splitlines() if "demo superuser" in line)
    email, password = line.split(": ", 1)[1].split(" / ")
    assert email == "admin@example.com"
    assert len(password) >= 12


def test_unreachable_database_is_one_clear_line() -> None:
    env = {"ZOO_DATABASE_URL": "postgresql://postgres@127.0.0.1:9/nowhere"}
    for command in (
        ["migrate"],
        ["seed"],
        ["users", "create", "--email", "a@example.com", "--password", "long enough"],
    ):
        result = zoo(*command, env=env)
        assert result.returncode == 1, command
        assert "database unreachable" in result.stderr
        assert "Traceback" not in result.stderr


def test_production_without_a_secret_refuses_to_start(sqlite_env: dict[str, str]) -> None:
    result = zoo("serve", env={**sqlite_env, "ZOO_ENV": "production"})
    assert result.returncode == 1
    assert result.stderr.startswith("zoo: invalid settings: ZOO_SECRET must be set"), result.stderr
    assert "ZOO_SETTINGS" not in result.stderr  # no such variable
    assert "Traceback" not in result.stderr


def test_several_workers_without_a_shared_event_broker_refuse_to_start(
    sqlite_env: dict[str, str],
) -> None:
    """Each worker's subscribers would hear only of that worker's own mutations."""
    nowhere = "postgresql://postgres@127.0.0.1:9/nowhere"
    for env in (sqlite_env, {"ZOO_DATABASE_URL": nowhere, "ZOO_EVENTS": "memory"}):
        result = zoo("serve", "--workers", "2", "--port", "9", env=env)
        assert result.returncode == 1, result.stderr
        assert "ZOO_EVENTS=postgres" in result.stderr
        assert "Traceback" not in result.stderr


def test_several_workers_in_production_without_redis_refuse_to_start() -> None:
    """Each worker would count login attempts on its own: N workers, N times the guesses."""
    production = {
        "ZOO_DATABASE_URL": "postgresql://postgres@127.0.0.1:9/nowhere",
        "ZOO_ENV": "production",
        "ZOO_SECRET": "s" * 40,
    }
    result = zoo("serve", "--workers", "3", "--port", "9", env=production)
    assert result.returncode == 1, result.stderr
    assert "--workers 3 in production needs ZOO_REDIS_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_second_server_on_one_sqlite_file_is_refused(sqlite_env: dict[str, str]) -> None:
    """With SQLite, changes and ended logins are heard only in the process that serves:
    a second server on the file would miss the first one's, so it does not start."""
    assert zoo("migrate", env=sqlite_env).returncode == 0
    url = sqlite_env["ZOO_DATABASE_URL"]
    with zoo_serve(url) as (base, _):
        second = zoo("serve", "--port", str(free_port()), env=sqlite_env)
        assert second.returncode == 1, second.stderr
        assert "another Zoo server already serves" in second.stderr
        assert "Traceback" not in second.stderr
        assert httpx.get(f"{base}/health").status_code == 200
        # uvicorn run directly is held to it too: its workers' start-up refuses.
        direct = python_module(
            "uvicorn", "zoo.main:app", "--port", str(free_port()), env=sqlite_env
        )
        assert direct.returncode != 0
        assert "another Zoo server already serves" in direct.stderr
    # The claim ends with the server that held it, however it ended.
    with zoo_serve(url) as (base, process):
        process.kill()
        process.wait(timeout=15)
    with zoo_serve(url) as (base, _):
        assert httpx.get(f"{base}/health").status_code == 200


def test_uvicorn_workers_on_one_sqlite_file_stop_rather_than_serve_apart(
    sqlite_env: dict[str, str],
) -> None:
    """``uvicorn --workers 2`` on SQLite: one worker's start-up is refused, and uvicorn
    then stops them all rather than serve with workers that cannot hear each other."""
    assert zoo("migrate", env=sqlite_env).returncode == 0
    port = str(free_port())
    result = python_module(
        "uvicorn", "zoo.main:app", "--port", port, "--workers", "2", env=sqlite_env
    )
    assert "another Zoo server already serves" in result.stderr
    assert "stopping the parent process" in result.stderr


def test_bad_usage_exits_2() -> None:
    assert zoo("frobnicate").returncode == 2
    assert zoo("users", "create", "--email", "a@example.com").returncode == 2


def test_schema_export(tmp_path: Path) -> None:
    target = tmp_path / "schema.graphql"
    result = zoo("schema", "export", str(target))
    assert result.returncode == 0, result.stderr
    assert target.read_text() == (ROOT / "schema.graphql").read_text()


@pytest.mark.postgres
def test_migrate_and_seed_postgres(postgres_url: str) -> None:
    env = {"ZOO_DATABASE_URL": postgres_url}
    assert zoo("migrate", env=env).returncode == 0
    result = zoo("seed", env=env)
    assert result.returncode == 0, result.stderr
    assert "animals created" in result.stdout


def test_users_get_roles_from_the_command_line(sqlite_env: dict[str, str]) -> None:
    assert zoo("migrate", env=sqlite_env).returncode == 0
    assert zoo("seed", env=sqlite_env).returncode == 0
    keeper = zoo(
        "users",
        "create",
        "--email",
        "kim@example.com",
        "--password",
        "s3cret-pass",
        "--role",
        "KEEPER",
        "--staff-member",
        "1",
        env=sqlite_env,
    )
    assert keeper.returncode == 0, keeper.stderr
    assert "role KEEPER" in keeper.stdout
    plain = zoo(
        "users", "create", "--email", "v@example.com", "--password", "s3cret-pass", env=sqlite_env
    )
    assert "role VISITOR" in plain.stdout
    taken = zoo(
        "users", "create", "--email", "t@example.com", "--password", "s3cret-pass",
        "--role", "KEEPER", "--staff-member", "1", env=sqlite_env,
    )  # fmt: skip
    assert taken.returncode == 1
    assert "STAFF_MEMBER_ALREADY_LINKED" in taken.stderr

    promoted = zoo("users", "set-role", "v@example.com", "CURATOR", env=sqlite_env)
    assert promoted.returncode == 0, promoted.stderr
    assert "v@example.com is now CURATOR" in promoted.stdout
    unknown = zoo("users", "set-role", "nobody@example.com", "ADMIN", env=sqlite_env)
    assert unknown.returncode == 1
    assert "not found" in unknown.stderr
    listed = zoo("users", "list", env=sqlite_env).stdout.splitlines()
    assert listed == ["kim@example.com\tKEEPER staff member 1", "v@example.com\tCURATOR"]
    curators = zoo("users", "list", "--role", "CURATOR", env=sqlite_env).stdout.splitlines()
    assert curators == ["v@example.com\tCURATOR"]


def test_demo_users_one_per_role(sqlite_env: dict[str, str]) -> None:
    zoo("migrate", env=sqlite_env)
    demo = zoo("seed", "--demo-users", env=sqlite_env)
    assert demo.returncode == 0, demo.stderr
    lines = [line for line in demo.stdout.splitlines() if line.startswith("demo ")]
    assert [line.split(":")[0] for line in lines] == [
        "demo VISITOR",
        "demo KEEPER",
        "demo CURATOR",
        "demo ADMIN",
    ]
    listed = zoo("users", "list", env=sqlite_env).stdout.splitlines()
    assert "keeper@example.com\tKEEPER staff member 1" in listed
    again = zoo("seed", "--demo-users", env=sqlite_env)
    assert again.stdout.count("exists already; password unchanged") == 4


def test_the_readmes_permission_table_is_the_schemas() -> None:
    """``zoo permissions`` prints the rules the schema declares; the README shows them."""
    printed = zoo("permissions").stdout
    readme = (ROOT / "README.md").read_text()
    start = readme.index("<!-- zoo permissions -->\n") + len("<!-- zoo permissions -->\n")
    end = readme.index("<!-- /zoo permissions -->")
    assert readme[start:end] == printed


def test_history_prune(sqlite_env: dict[str, str]) -> None:
    """The seed's changes are logged without an author; pruning keeps what is recent,
    and removes what is older than the days given."""
    import sqlite3

    assert zoo("migrate", env=sqlite_env).returncode == 0
    assert zoo("seed", env=sqlite_env).returncode == 0
    path = sqlite_env["ZOO_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        logged, authors = connection.execute(
            "SELECT count(*), count(actor_id) FROM changes"
        ).fetchone()
        assert (logged, authors) == (46, 0)
        # The first ten changes were made 100 days ago.
        connection.execute("UPDATE changes SET at = datetime(at, '-100 days') WHERE position <= 10")
    kept = zoo("history", "prune", env=sqlite_env)
    assert kept.returncode == 0, kept.stderr
    assert kept.stdout.strip() == "pruned 10 changes older than 90 days"
    everything = zoo("history", "prune", "--days", "1", env={**sqlite_env})
    assert everything.stdout.strip() == "pruned 0 changes older than 1 day"
    refused = zoo("history", "prune", "--days", "0", env=sqlite_env)
    assert refused.returncode == 1
    assert refused.stderr.strip() == "zoo: --days must be at least 1"
    forever = zoo("history", "prune", env={**sqlite_env, "ZOO_HISTORY_DAYS": "0"})
    assert "every change is kept" in forever.stdout
    with sqlite3.connect(path) as connection:
        remaining = connection.execute("SELECT min(position), count(*) FROM changes").fetchone()
        pruned = connection.execute("SELECT pruned_through FROM change_log_state").fetchone()
    assert remaining == (11, 36)
    assert pruned == (10,)
