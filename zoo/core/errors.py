"""Domain errors: raised by services, mapped to GraphQL ``extensions.code`` in one place."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class ErrorCode(StrEnum):
    BAD_USER_INPUT = "BAD_USER_INPUT"
    NOT_FOUND = "NOT_FOUND"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    CONFLICT = "CONFLICT"
    TOO_MANY_SUBSCRIPTIONS = "TOO_MANY_SUBSCRIPTIONS"
    EVENTS_MISSED = "EVENTS_MISSED"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


class DomainError(Exception):
    code: ErrorCode = ErrorCode.INTERNAL_SERVER_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def details(self) -> dict[str, object]:
        """What the error adds to GraphQL's ``extensions`` beside its code."""
        return {}


class NotFound(DomainError):
    code = ErrorCode.NOT_FOUND

    def __init__(self, entity: str, id_: object) -> None:
        super().__init__(f"{entity} {id_} not found")
        self.entity = entity
        self.id = id_


class InvalidInput(DomainError):
    """Bad input; ``fields`` maps each offending field (domain spelling) to its message."""

    code = ErrorCode.BAD_USER_INPUT

    def __init__(self, message: str, fields: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields = dict(fields or {})

    @classmethod
    def for_field(cls, field: str, message: str) -> InvalidInput:
        return cls(f"{field}: {message}", {field: message})


class Forbidden(DomainError):
    code = ErrorCode.FORBIDDEN


class Unauthenticated(DomainError):
    code = ErrorCode.UNAUTHENTICATED


class Conflict(DomainError):
    code = ErrorCode.CONFLICT


class TooManySubscriptions(DomainError):
    code = ErrorCode.TOO_MANY_SUBSCRIPTIONS


class EventsMissed(DomainError):
    """A subscription ended because changes went by that it could not be sent: its client
    subscribes again and reads afresh what it shows."""

    code = ErrorCode.EVENTS_MISSED

    def __init__(self, message: str, last_cursor: str | None = None) -> None:
        super().__init__(message)
        self.last_cursor = last_cursor
        """The cursor of the last event delivered (or of the ``after`` given): resume there."""

    def details(self) -> dict[str, object]:
        return {"lastCursor": self.last_cursor}
