"""The schema's versions: Alembic's migrations as the package ships them."""

from __future__ import annotations

from importlib.resources import files

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from zoo.config import Settings


def alembic_config(settings: Settings) -> Config:
    # The migrations from the package (zoo.migrations: the repository's migrations/ in a
    # checkout), not an alembic.ini found relative to the current directory: an installed
    # `zoo migrate` works from anywhere.
    config = Config()
    config.set_main_option("script_location", str(files("zoo.migrations")))
    config.set_main_option("path_separator", "os")
    config.attributes["database_url"] = settings.database_url
    config.attributes["configure_logger"] = False
    return config


def migrate(settings: Settings, revision: str = "head") -> None:
    command.upgrade(alembic_config(settings), revision)


def is_known_revision(settings: Settings, revision: str) -> bool:
    """Whether ``revision`` is one of this version's migrations (a database a newer Zoo
    migrated is not: this one cannot read, nor migrate, it)."""
    scripts = ScriptDirectory.from_config(alembic_config(settings))
    return any(script.revision == revision for script in scripts.walk_revisions())
