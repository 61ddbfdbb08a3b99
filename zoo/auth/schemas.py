from __future__ import annotations

import unicodedata
import uuid
from typing import Annotated

from fastapi_users import schemas
from pydantic import BeforeValidator, EmailStr, Field, field_validator

from zoo.core.fields import Encodable

MIN_PASSWORD_LENGTH = 8


Password = Annotated[str, Encodable]
"""Hashed, not stored as text: NUL is allowed, half a surrogate pair is not (the hasher
failed on it with a 500)."""


def plain_spelling(email: str) -> str:
    """One address, one spelling: Unicode's compatibility forms (the fullwidth letters an
    input method types, ligatures, halfwidth kana) become the plain characters (NFKC).
    email-validator folds canonical forms only (NFC), so ``\uff21LICE@example.com`` was an
    account of its own, a look-alike of ``alice@example.com``'s."""
    return unicodedata.normalize("NFKC", email)


def _plain_if_text(value: object) -> object:
    return plain_spelling(value) if isinstance(value, str) else value


Email = Annotated[EmailStr, BeforeValidator(_plain_if_text)]


class UserRead(schemas.BaseUser[uuid.UUID]):
    id: uuid.UUID = Field(description="Opaque user identifier.")
    email: str = Field(description="The address the user logs in with.")
    is_active: bool = Field(True, description="Inactive users cannot log in or change data.")
    is_superuser: bool = Field(False, description="Superusers may delete.")
    is_verified: bool = Field(False, description="Whether the email address was confirmed.")


class UserCreate(schemas.BaseUserCreate):
    email: Email = Field(description="The address to log in with.")
    password: Password = Field(description=f"At least {MIN_PASSWORD_LENGTH} characters.")


class UserUpdate(schemas.BaseUserUpdate):
    email: Email | None = Field(None, description="A new address to log in with.")
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
