"""The declarative base and the mixins every entity is composed from."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Integer, MetaData
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


_fromisoformat = datetime.fromisoformat


def nullable(attribute: Any) -> bool:
    """Whether the column behind an ORM attribute (or an alias's) may hold NULL."""
    return bool(attribute.property.columns[0].nullable)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC and always hands back an aware datetime, on SQLite as on PostgreSQL.

    SQLite keeps no time zone, so without this the same row would read back
    naive on one database and aware on the other.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self) -> type[datetime]:
        return datetime

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Callable[[Any], Any]:
        """One tight function per value instead of the decorator's chain of calls.

        Large reads convert thousands of timestamps; SQLite hands back the ISO
        text SQLAlchemy wrote, asyncpg an aware datetime already.
        """
        if dialect.name == "sqlite":

            def from_text(value: Any) -> datetime | None:
                if value is None:
                    return None
                # Stored naive in UTC; parsing with the offset is ten times cheaper
                # than datetime.replace(tzinfo=...).
                return _fromisoformat(value + "+00:00")

            return from_text

        def to_utc(value: Any) -> datetime | None:
            if value is None or value.tzinfo is UTC:
                return value  # type: ignore[no-any-return]
            return self.process_result_value(value, dialect)

        return to_utc

    def process_literal_param(self, value: Any, dialect: Dialect) -> Any:
        """Literal SQL (EXPLAIN, offline migrations) renders the value as stored."""
        return self.process_bind_param(value, dialect)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class IdMixin:
    id: Mapped[int] = mapped_column(Integer, primary_key=True)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )


class SoftDeleteMixin:
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class Entity(IdMixin, TimestampMixin, SoftDeleteMixin, Base):
    """A row the API serves: integer id, timestamps, soft delete."""

    __abstract__ = True
