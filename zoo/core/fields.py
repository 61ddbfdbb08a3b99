"""Field types and validation shared by every domain's pydantic models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from zoo.core.errors import InvalidInput

NAME_MAX_LENGTH = 200
TEXT_MAX_LENGTH = 2000


def _encodable(value: str) -> str:
    """JSON can escape half of a surrogate pair (``"\\ud800"``), which Python's parser
    accepts but no UTF-8 encoder does: not a database, not a password hasher."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must not contain unpaired surrogates") from None
    return value


def _storable(value: str) -> str:
    """Text both databases store alike: PostgreSQL refuses NUL, and no UTF-8 database
    can hold half a surrogate pair (SQLite kept both, PostgreSQL failed with a 500)."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return _encodable(value)


Encodable = AfterValidator(_encodable)
Storable = AfterValidator(_storable)

Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_MAX_LENGTH),
    Storable,
]
"""A required display name: trimmed, 1..200 characters."""

Text = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=TEXT_MAX_LENGTH), Storable
]
"""Any other free text: trimmed, at most 2000 characters."""

FilterText = Annotated[str, StringConstraints(max_length=TEXT_MAX_LENGTH), Storable]
"""A value to filter by: no longer than the longest text it could match (a 50,000
character ``nameContains`` made SQLite's LIKE fail as "pattern too complex", which
read as the database being down)."""


def _not_cleared(value: str | None) -> str:
    if value is None:
        raise ValueError("cannot be cleared")
    return value


NameUpdate = Annotated[Name | None, AfterValidator(_not_cleared)]
"""A name in an update: may be left out, but not sent as null."""


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", from_attributes=True)


class ReadSchema(Schema):
    """Columns every stored entity has."""

    id: int = Field(description="Database identifier, stable for the life of the row.")
    created_at: datetime = Field(description="When the row was created (UTC).")
    updated_at: datetime = Field(description="When the row last changed (UTC).")
    deleted_at: datetime | None = Field(
        None, description="When the row was soft-deleted; always null in query results."
    )


class UpdateSchema(Schema):
    """Partial update: only the fields the caller sent are applied; an explicit null clears."""

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: Any) -> M:
    """Validate ``data`` into ``model``, turning pydantic's error into a per-field InvalidInput."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid_input(exc) from None


def invalid_input(exc: ValidationError) -> InvalidInput:
    fields: dict[str, str] = {}
    for error in exc.errors(include_url=False, include_input=False):
        field = str(error["loc"][0]) if error["loc"] else "input"
        message = error["msg"].removeprefix("Value error, ")
        fields.setdefault(field, message)
    summary = "; ".join(f"{field}: {message}" for field, message in fields.items())
    return InvalidInput(f"Invalid input ({summary})", fields)
