"""Settings are validated at start-up."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from zoo.config import DEVELOPMENT_SECRET, Settings


def test_production_refuses_a_missing_or_default_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZOO_SECRET", raising=False)
    monkeypatch.setenv("ZOO_ENV", "production")
    with pytest.raises(ValidationError, match="ZOO_SECRET"):
        Settings()
    with pytest.raises(ValidationError, match="ZOO_SECRET"):
        Settings(secret=DEVELOPMENT_SECRET)
    with pytest.raises(ValidationError, match="ZOO_SECRET"):
        Settings(secret="short")
    production = Settings(secret="x" * 48)
    assert production.is_production
    assert production.secure_cookies
    assert not production.graphiql_enabled


def test_development_has_a_default_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZOO_SECRET", raising=False)
    monkeypatch.delenv("ZOO_ENV", raising=False)
    settings = Settings()
    assert settings.secret.get_secret_value() == DEVELOPMENT_SECRET
    assert not settings.secure_cookies
    assert settings.graphiql_enabled


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql://u@h:5432/db", "postgresql+asyncpg://u@h:5432/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
        (
            "sqlite:///./data/zoo.db",
            "sqlite+aiosqlite:///./data/zoo.db",
        ),
        ("sqlite+aiosqlite:////tmp/z.db", "sqlite+aiosqlite:////tmp/z.db"),
    ],
)
def test_database_urls_map_to_async_drivers(url: str, expected: str) -> None:
    assert Settings(database_url=url).database_url == expected


@pytest.mark.parametrize("url", ["mysql://u@h/db", "not a url"])
def test_unsupported_database_urls_are_refused(url: str) -> None:
    with pytest.raises(ValidationError):
        Settings(database_url=url)


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZOO_PORT", "9001")
    monkeypatch.setenv("ZOO_TOKEN_LIFETIME_SECONDS", "120")
    monkeypatch.setenv("ZOO_LOG_LEVEL", "debug")
    settings = Settings()
    assert (settings.port, settings.token_lifetime_seconds, settings.log_level) == (
        9001,
        120,
        "DEBUG",
    )


def test_redis_url_is_optional_and_checked() -> None:
    assert Settings(redis_url="").redis_url is None
    assert Settings(redis_url=" redis://cache:6379/2 ").redis_url == "redis://cache:6379/2"
    with pytest.raises(ValidationError, match="redis://"):
        Settings(redis_url="http://cache:6379")


def test_postgres_events_need_a_postgres_database() -> None:
    """Changes are announced by the transactions that make them, in the database they
    are made in: with SQLite there would be no one to hear them."""
    with pytest.raises(ValidationError, match="ZOO_EVENTS=postgres needs a PostgreSQL"):
        Settings(database_url="sqlite:///zoo.db", events="postgres")
    assert Settings(database_url="postgresql://db/zoo", events="postgres").events_through_postgres
    assert not Settings(database_url="sqlite:///zoo.db").events_through_postgres
