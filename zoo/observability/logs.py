"""Log lines a person or a log pipeline can read: text, or one JSON object per line.

Every line carries the request id; lines written while a GraphQL operation
runs carry its name and the user's id too. Passwords, tokens and cookies are
never put in a log line by Zoo (and ``message`` is the only free text).

A GraphQL operation slower than ``ZOO_SLOW_OPERATION_MS`` is logged once, with
its duration and the SQL statements it ran (counted per request, by
``metrics.watch_database``'s listener, through a context variable, which
SQLAlchemy's greenlets and the DataLoaders' tasks inherit from the request).
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson

from zoo.observability.request_ids import RequestIdFilter

operation_name: ContextVar[str | None] = ContextVar("operation_name", default=None)
user_id: ContextVar[str | None] = ContextVar("user_id", default=None)
statements: ContextVar[list[int] | None] = ContextVar("statements", default=None)
"""The running operation's statement count, in a one-item list (shared with its tasks)."""

TEXT_FORMAT = "%(levelname)s [%(request_id)s] %(name)s: %(message)s"
_EXTRAS = ("operation", "duration_ms", "statements")


class OperationFilter(logging.Filter):
    """Stamps every record with the operation and user it was written for."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "operation"):
            record.operation = operation_name.get()
        record.user_id = user_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        if getattr(record, "user_id", None):
            line["user_id"] = record.user_id  # type: ignore[attr-defined]
        for name in _EXTRAS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


def configure_logging(level: str, log_format: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    handler.addFilter(RequestIdFilter())
    handler.addFilter(OperationFilter())
    logging.basicConfig(level=level, handlers=[handler], force=True)
