from __future__ import annotations

import uuid
from typing import Annotated

from fastapi_users import schemas
from pydantic import Field, field_validator

from zoo.core.schemas import Encodable

MIN_PASSWORD_LENGTH = 8


Password = Annotated[str, Encodable]
"""Hashed, not stored as text: NUL is allowed, half a surrogate pair is not (the hasher
failed on it with a 500)."""


class UserRead(schemas.BaseUser[uuid.UUID]):
    id: uuid.UUID = Field(description="Opaque user identifier.")
    email: str = Field(description="The address the user logs in with.")
    is_active: bool = Field(True, description="Inactive users cannot log in or change data.")
    is_superuser: bool = Field(False, description="Superusers may delete.")
    is_verified: bool = Field(False, description="Whether the email address was confirmed.")


class UserCreate(schemas.BaseUserCreate):
    password: Password = Field(description=f"At least {MIN_PASSWORD_LENGTH} characters.")


class UserUpdate(schemas.BaseUserUpdate):
    password: Password | None = Field(
        None, description=f"At least {MIN_PASSWORD_LENGTH} characters."
    )
    current_password: Password | None = Field(
        None,
        description="Your current password: needed to change your own password or email.",
    )

    @field_validator("email", "password", "is_active", "is_superuser", "is_verified", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        """Left out, a field keeps its value; sent as null it meant to clear it: a null
        email reached the database and came back as "email already exists"."""
        if value is None:
            raise ValueError("may not be null: leave the field out to keep its value")
        return value
