"""The ``zoo`` command: serve, migrate, seed, users, backup, restore, history, schema.

Every failure a user can cause (bad settings, bad input, an unreachable
database) ends with one clear line on stderr and a non-zero exit, never a
traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import signal
import sys
import tempfile
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import ValidationError

from zoo.config import Settings
from zoo.core.roles import Role
from zoo.storage.schema_versions import migrate

if TYPE_CHECKING:
    from zoo.storage.database import Database

T = TypeVar("T")

EXIT_USAGE = 2
EXIT_FAILED = 1


class CommandError(Exception):
    """A failure to report in one line."""


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            # A rule across settings (loc empty) names its variables in its message.
            (f"ZOO_{'_'.join(str(p) for p in e['loc']).upper()}: " if e["loc"] else "")
            + e["msg"].removeprefix("Value error, ")
            for e in exc.errors()
        )
        raise CommandError(f"invalid settings: {problems}") from None


def run_async(factory: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    with _database_reachable():
        return asyncio.run(factory())


@contextmanager
def _database_reachable() -> Iterator[None]:
    """An unreachable database is a one-line error, not a traceback."""
    from zoo.storage.database import is_unavailable

    try:
        yield
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        raise CommandError(f"database unreachable: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def _stopped(_signum: int, _frame: FrameType | None) -> None:
    sys.exit(0)


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    from zoo.server.protocol import BoundedProtocol
    from zoo.server.sqlite_lock import DatabaseClaimed, check_unclaimed

    settings = load_settings()
    if args.workers > 1 and not settings.events_through_postgres:
        raise CommandError(
            "--workers above 1 needs PostgreSQL and ZOO_EVENTS=postgres (or auto): with the "
            "in-process event broker, subscribers in one worker would never hear of changes "
            "made, or logins ended, through another"
        )
    if args.workers > 1 and settings.is_production and settings.redis_url is None:
        raise CommandError(
            f"--workers {args.workers} in production needs ZOO_REDIS_URL: each worker would "
            f"count login attempts on its own, {args.workers} times the guesses "
            "ZOO_LOGIN_ATTEMPTS_PER_MINUTE allows"
        )
    try:
        check_unclaimed(settings)
    except DatabaseClaimed as exc:
        raise CommandError(str(exc)) from None
    if args.workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        # Each worker writes its metrics to files here; /metrics adds them all up.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="zoo-metrics-")
    # Once it has shut down, uvicorn raises the stop signal again, to whatever handled it
    # before: a stop asked for and done is a success, so that handler exits 0.
    signal.signal(signal.SIGTERM, _stopped)
    uvicorn.run(
        "zoo.main:app",
        host=args.host or settings.host,
        port=args.port or settings.port,
        reload=args.reload,
        workers=args.workers,
        log_level=settings.log_level.lower(),
        # In JSON, uvicorn's own lines go through the app's handler too (zoo.observability.logs).
        log_config=None if settings.log_format == "json" else uvicorn.config.LOGGING_CONFIG,
        # Forwarded headers only from the proxies named: anyone else could claim any
        # address (and with it a fresh login budget) on every request.
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=settings.trusted_proxies or None,
        http=BoundedProtocol,
        timeout_keep_alive=settings.keep_alive_seconds,
        # SIGTERM: stop accepting, end subscriptions (zoo.server.shutdown), let requests in
        # flight finish within this bound, then exit 0.
        timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
        # A WebSocket message is capped like a request body, before it is read whole.
        ws_max_size=settings.max_body_bytes,
        # A socket whose client stops reading (or vanished without a FIN) misses a pong
        # and is closed, its subscriptions ended: sends to it would otherwise wait on
        # a full buffer for good.
        ws_ping_interval=settings.ws_ping_seconds,
        ws_ping_timeout=settings.ws_ping_seconds,
    )


def cmd_migrate(args: argparse.Namespace) -> None:
    settings = load_settings()
    with _database_reachable():
        migrate(settings, args.revision)
    print(f"database at {args.revision}")


def cmd_seed(args: argparse.Namespace) -> None:
    from zoo.auth.service import create_user
    from zoo.core.errors import Conflict
    from zoo.domains import Services
    from zoo.storage.database import Database
    from zoo.storage.seed import is_empty, seed, seed_demo_users

    settings = load_settings()

    async def run() -> None:
        database = Database(settings)
        services = Services.build(database)
        try:
            if args.if_empty and not await is_empty(services):
                print("database already has data; not seeding")
            else:
                report = await seed(services)
                print(
                    f"seeded: {report.exhibits} exhibits, {report.staff} staff, "
                    f"{report.animals} animals created"
                )
            if args.demo_user:
                password = secrets.token_urlsafe(12)
                try:
                    await create_user(database, args.demo_email, password, superuser=True)
                except Conflict:
                    print(f"demo user {args.demo_email} already exists; password unchanged")
                else:
                    print(f"demo superuser: {args.demo_email} / {password}")
            if args.demo_users:
                for email, role, made in await seed_demo_users(services):
                    shown = made or "(exists already; password unchanged)"
                    print(f"demo {role.value}: {email} / {shown}")
        finally:
            await database.dispose()

    run_async(run)


def on_database(work: Callable[[Settings, Database], Awaitable[T]]) -> T:
    """``work`` on the configured database, disposed of after; a domain error (bad
    input, a user that exists already or not at all) is the command's one-line failure."""
    from zoo.core.errors import DomainError
    from zoo.storage.database import Database

    settings = load_settings()

    async def run() -> T:
        database = Database(settings)
        try:
            return await work(settings, database)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        finally:
            await database.dispose()

    result: T = run_async(run)
    return result


def cmd_users_create(args: argparse.Namespace) -> None:
    from zoo.auth.service import create_user

    user = on_database(
        lambda _, database: create_user(
            database,
            args.email,
            args.password,
            superuser=args.superuser,
            role=Role(args.role) if args.role else None,
            staff_member_id=args.staff_member,
        )
    )
    kind = "superuser" if user.is_superuser else "user"
    print(f"created {kind} {user.email} ({user.id}), role {user.role}")


def cmd_users_list(args: argparse.Namespace) -> None:
    from zoo.auth.service import list_users

    role = Role(args.role) if args.role else None
    for user in on_database(lambda _, database: list_users(database, role)):
        state = "" if user.is_active else " (inactive)"
        link = f" staff member {user.staff_member_id}" if user.staff_member_id else ""
        print(f"{user.email}\t{user.role}{link}{state}")


def cmd_users_set_role(args: argparse.Namespace) -> None:
    from zoo.app import build_events
    from zoo.auth.service import set_role

    user = on_database(
        lambda settings, database: set_role(
            database, args.email, Role(args.role), build_events(settings)
        )
    )
    print(f"{user.email} is now {user.role}")


def cmd_backup(args: argparse.Namespace) -> None:
    from zoo.storage.backups import BackupError, back_up

    try:
        snapshot = back_up(load_settings(), Path(args.path))
    except BackupError as exc:
        raise CommandError(str(exc)) from None
    print(f"backed up to {snapshot.describe()}")


def cmd_restore(args: argparse.Namespace) -> None:
    from zoo.storage.backups import BackupError, restore

    settings = load_settings()
    try:
        snapshot, saved = restore(settings, Path(args.path))
    except BackupError as exc:
        raise CommandError(str(exc)) from None
    if saved is not None:
        print(f"the database it replaced is kept at {saved}")
    print(f"restored {snapshot.describe()}; every session ended")
    migrate(settings)
    print("database at head")


def cmd_history_prune(args: argparse.Namespace) -> None:
    from zoo.events.retention import prune

    days = args.days
    if days is not None and days < 1:
        raise CommandError("--days must be at least 1")
    if days is None:
        days = load_settings().history_days
    if days == 0:
        print("ZOO_HISTORY_DAYS is 0: every change is kept; nothing pruned")
        return
    deleted = on_database(lambda _, database: prune(database, days))
    print(f"pruned {deleted} changes older than {days} day{'' if days == 1 else 's'}")


def cmd_documents_check(args: argparse.Namespace) -> None:
    from zoo.core.document_manifests import ManifestError, read_manifest
    from zoo.graphql.limits.documents_check import check_document
    from zoo.graphql.schema import build_schema

    settings = load_settings()
    schema = build_schema(settings)
    failed = 0
    for path in args.manifests:
        try:
            documents = read_manifest(Path(path))
        except ManifestError as exc:
            raise CommandError(str(exc)) from None
        for digest, text in documents.items():
            checked = check_document(schema, settings, text)
            costs = ", ".join(f"{name} cost {cost}" for name, cost in checked.costs.items())
            if checked.problems:
                failed += 1
                for problem in checked.problems:
                    print(f"FAIL {path} sha256:{digest}: {problem}")
            else:
                print(f"ok   {path} sha256:{digest}: {costs} (limit {settings.max_cost})")
    if failed:
        raise CommandError(f"{failed} document{'s' if failed > 1 else ''} would be refused")


def cmd_permissions(args: argparse.Namespace) -> None:
    from zoo.graphql.permission_table import permission_table
    from zoo.graphql.schema import schema

    sys.stdout.write(permission_table(schema))


def cmd_schema_export(args: argparse.Namespace) -> None:
    from zoo.graphql.schema import schema

    sdl = schema.as_str() + "\n"
    if args.path == "-":
        sys.stdout.write(sdl)
        return
    Path(args.path).write_text(sdl, encoding="utf-8")
    print(f"wrote {args.path}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zoo", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="serve the API with uvicorn")
    serve.add_argument("--host", help="interface to bind (default: ZOO_HOST)")
    serve.add_argument("--port", type=int, help="port to bind (default: ZOO_PORT)")
    serve.add_argument("--reload", action="store_true", help="restart on code changes")
    serve.add_argument("--workers", type=int, default=1, help="worker processes")
    serve.set_defaults(handler=cmd_serve)

    mig = commands.add_parser("migrate", help="upgrade the database schema")
    mig.add_argument("revision", nargs="?", default="head", help="target (default: head)")
    mig.set_defaults(handler=cmd_migrate)

    seed = commands.add_parser("seed", help="create the demo data (idempotent)")
    seed.add_argument("--if-empty", action="store_true", help="only seed an empty database")
    seed.add_argument(
        "--demo-user", action="store_true", help="also create a superuser and print its password"
    )
    seed.add_argument(
        "--demo-users",
        action="store_true",
        help="also create one user per role (the keeper linked to John Doe), printing passwords",
    )
    seed.add_argument("--demo-email", default="admin@example.com", help=argparse.SUPPRESS)
    seed.set_defaults(handler=cmd_seed)

    users = commands.add_parser("users", help="manage users")
    users_commands = users.add_subparsers(dest="users_command", required=True, metavar="COMMAND")
    create = users_commands.add_parser("create", help="create a user")
    create.add_argument("--email", required=True)
    create.add_argument("--password", required=True)
    create.add_argument("--superuser", action="store_true", help="an ADMIN (as --role ADMIN)")
    create.add_argument(
        "--role", choices=[role.value for role in Role], help="what the user may do (VISITOR)"
    )
    create.add_argument(
        "--staff-member", type=int, metavar="ID", help="the staff member the user works as"
    )
    create.set_defaults(handler=cmd_users_create)
    listing = users_commands.add_parser("list", help="list users (email, role, link)")
    listing.add_argument("--role", choices=[role.value for role in Role], help="only these")
    listing.set_defaults(handler=cmd_users_list)
    set_role = users_commands.add_parser("set-role", help="change a user's role")
    set_role.add_argument("email")
    set_role.add_argument("role", choices=[role.value for role in Role])
    set_role.set_defaults(handler=cmd_users_set_role)

    backup = commands.add_parser(
        "backup", help="copy the SQLite database, consistently, even while it is served"
    )
    backup.add_argument("path", help="file to write (replaced whole once the copy is checked)")
    backup.set_defaults(handler=cmd_backup)

    restore = commands.add_parser(
        "restore", help="replace the SQLite database with a backup (the server stopped)"
    )
    restore.add_argument("path", help="a file zoo backup wrote")
    restore.set_defaults(handler=cmd_restore)

    schema = commands.add_parser("schema", help="the GraphQL schema")
    schema_commands = schema.add_subparsers(dest="schema_command", required=True, metavar="COMMAND")
    export = schema_commands.add_parser("export", help="write the SDL (default: schema.graphql)")
    export.add_argument("path", nargs="?", default="schema.graphql", help="file, or - for stdout")
    export.set_defaults(handler=cmd_schema_export)
    documents = commands.add_parser("documents", help="trusted documents (front ends' manifests)")
    documents_commands = documents.add_subparsers(
        dest="documents_command", required=True, metavar="COMMAND"
    )
    check = documents_commands.add_parser(
        "check", help="check each document against the schema and the limits; print its cost"
    )
    check.add_argument("manifests", nargs="+", metavar="MANIFEST", help="{hash: document} JSON")
    check.set_defaults(handler=cmd_documents_check)
    history = commands.add_parser("history", help="the change log")
    history_commands = history.add_subparsers(
        dest="history_command", required=True, metavar="COMMAND"
    )
    prune = history_commands.add_parser(
        "prune", help="delete the changes older than ZOO_HISTORY_DAYS (the server also does)"
    )
    prune.add_argument(
        "--days", type=int, metavar="N", help="older than N days instead (at least 1)"
    )
    prune.set_defaults(handler=cmd_history_prune)
    permissions = commands.add_parser(
        "permissions", help="print who may do what, as the schema declares it (Markdown)"
    )
    permissions.set_defaults(handler=cmd_permissions)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        args.handler(args)
    except CommandError as exc:
        print(f"zoo: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_FAILED
    return 0
