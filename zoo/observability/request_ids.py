"""The id of the request being served, for log lines, spans and error extensions."""

from __future__ import annotations

import logging
from contextvars import ContextVar

request_id: ContextVar[str] = ContextVar("request_id", default="-")
"""The current request's id, for logs and error extensions."""


class RequestIdFilter(logging.Filter):
    """Stamps every log record with the id of the request it was written for."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True
