"""Backing up and restoring the embedded SQLite database (``zoo backup``, ``zoo restore``).

Copying the database file while a server runs is the classic way to lose data
with SQLite: the latest commits sit in the ``-wal`` file beside it, and a copy
taken mid-write is torn. A backup here goes through SQLite's online backup API,
which copies a consistent snapshot, commits in the WAL included, while the
server goes on reading and writing; it is written beside its target and
renamed into place once checked, so a file at the target is always a whole
backup.

A restore is refused while a server runs on the database (its claim,
``zoo.server.sqlite_lock``), checks the backup before touching anything, first saves
the database it replaces, and ends every session: tokens logged out since
the backup was taken would otherwise come back to life. PostgreSQL has its own
tools for both (``pg_dump``, ``pg_restore``).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from zoo.config import Settings
from zoo.server.sqlite_lock import LOCK_SUFFIX, DatabaseClaimed, sole_server
from zoo.storage.schema_versions import is_known_revision

BUSY_TIMEOUT_MS = 10_000
COUNTED = ("exhibits", "animals", "staff", "users")
_COUNTS = "SELECT " + ", ".join(f"(SELECT count(*) FROM {table})" for table in COUNTED)  # noqa: S608


class BackupError(Exception):
    """A backup or restore that cannot be done, with the reason in one line."""


@dataclass(frozen=True)
class Snapshot:
    """What a backup file holds, read back from it."""

    path: Path
    revision: str
    rows: dict[str, int]

    def describe(self) -> str:
        counts = ", ".join(f"{n} {table}" for table, n in self.rows.items())
        return f"{self.path} (schema {self.revision}: {counts})"


def back_up(settings: Settings, target: Path) -> Snapshot:
    """Write a consistent copy of the database to ``target``, replacing any file there."""
    source = _database_file(settings, "backup", "pg_dump --format=custom")
    if not source.exists():
        raise BackupError(f"no database at {source}")
    if _is_part_of(target, source):
        raise BackupError(f"{target} is part of the database itself: back up to another file")
    return _copy(source, target, check=True)


def restore(settings: Settings, source: Path) -> tuple[Snapshot, Path | None]:
    """Replace the database with the backup at ``source``; return what it now holds and
    where the database it replaced was saved (None if there was none)."""
    database = _database_file(settings, "restore", "pg_restore")
    if not source.exists():
        raise BackupError(f"no backup at {source}")
    if _is_part_of(source, database):
        raise BackupError(f"{source} is part of the database itself, not a backup of it")
    snapshot = _check(source)
    if not is_known_revision(settings, snapshot.revision):
        raise BackupError(
            f"{source} was migrated by a newer Zoo (schema {snapshot.revision}): this "
            "version can neither read nor migrate it"
        )
    try:
        with sole_server(settings):
            saved = _save_before_restore(database) if database.exists() else None
            database.parent.mkdir(parents=True, exist_ok=True)
            with _open(source, read_only=True) as backup, _open(database) as live:
                backup.backup(live)
                live.execute("PRAGMA journal_mode = WAL")
                live.execute("DELETE FROM access_tokens")
    except DatabaseClaimed as exc:
        raise BackupError(f"{exc}; stop it before restoring") from None
    except OSError as exc:
        raise BackupError(f"{exc.filename or database}: {exc.strerror}") from None
    return Snapshot(database, snapshot.revision, snapshot.rows), saved


def _save_before_restore(database: Path) -> Path:
    """Keep the database a restore replaces, whatever state it is in (a damaged one is
    what a restore is often for, so it is copied, not checked)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    saved = database.with_name(f"{database.name}.before-restore-{stamp}")
    try:
        _copy(database, saved, check=False)
    except BackupError:
        # Too damaged for SQLite to read: the files as they are, the WAL beside them.
        for suffix in ("", "-wal"):
            if Path(f"{database}{suffix}").exists():
                shutil.copyfile(f"{database}{suffix}", f"{saved}{suffix}")
    return saved


def _copy(source: Path, target: Path, *, check: bool) -> Snapshot:
    """Copy ``source`` through SQLite's backup API into one self-contained file (no -wal
    beside it to forget when it is moved), written beside ``target`` and renamed into
    place whole."""
    target = target.resolve()
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        if target.is_dir():
            raise BackupError(f"{target} is a directory: name the file to write")
        target.parent.mkdir(parents=True, exist_ok=True)
        with _open(source, read_only=True) as database, _open(partial) as copy:
            database.backup(copy)
            copy.execute("PRAGMA journal_mode = DELETE")
        snapshot = _check(partial) if check else Snapshot(partial, "", {})
        _flush(partial)
        partial.replace(target)
        _flush(target.parent)
    except OSError as exc:
        raise BackupError(f"{exc.filename or target}: {exc.strerror}") from None
    finally:
        partial.unlink(missing_ok=True)
    return Snapshot(target, snapshot.revision, snapshot.rows)


def _is_part_of(path: Path, database: Path) -> bool:
    """Whether ``path`` is the database or one of the files SQLite and Zoo keep beside it
    (writing a backup over its WAL would destroy the commits in it)."""
    database = database.resolve()
    parts = {database.name + suffix for suffix in ("", "-wal", "-shm", "-journal", LOCK_SUFFIX)}
    path = path.resolve()
    return path.parent == database.parent and path.name in parts


def _database_file(settings: Settings, command: str, tool: str) -> Path:
    if not settings.is_sqlite:
        raise BackupError(f"{command} works on SQLite files; for PostgreSQL use {tool}")
    path = settings.sqlite_path
    if path is None:
        raise BackupError(f"an in-memory database has no file for zoo {command}")
    return path


@contextmanager
def _open(path: Path, *, read_only: bool = False) -> Iterator[sqlite3.Connection]:
    uri = path.resolve().as_uri() + ("?mode=ro" if read_only else "")
    try:
        with closing(sqlite3.connect(uri, uri=True, isolation_level=None)) as connection:
            connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            yield connection
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path}: {exc}") from None


def _check(path: Path) -> Snapshot:
    """Read back a backup, or refuse it: damaged, not SQLite, or not a Zoo database."""
    with _open(path, read_only=True) as connection:
        problems = [row[0] for row in connection.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            raise BackupError(f"{path} is damaged: {problems[0]}")
        try:
            (revision,) = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            rows = dict(zip(COUNTED, connection.execute(_COUNTS).fetchone(), strict=True))
        except (sqlite3.OperationalError, TypeError):
            raise BackupError(f"{path} is not a migrated Zoo database") from None
    return Snapshot(path, revision, rows)


def _flush(path: Path) -> None:
    """Make ``path`` (a file, or a directory's entries) durable before going on."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
