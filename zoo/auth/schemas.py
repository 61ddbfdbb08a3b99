from __future__ import annotations

import uuid

from fastapi_users import schemas
from pydantic import Field

MIN_PASSWORD_LENGTH = 8


class UserRead(schemas.BaseUser[uuid.UUID]):
    id: uuid.UUID = Field(description="Opaque user identifier.")
    email: str = Field(description="The address the user logs in with.")
    is_active: bool = Field(True, description="Inactive users cannot log in or change data.")
    is_superuser: bool = Field(False, description="Superusers may delete.")
    is_verified: bool = Field(False, description="Whether the email address was confirmed.")


class UserCreate(schemas.BaseUserCreate):
    password: str = Field(description=f"At least {MIN_PASSWORD_LENGTH} characters.")


class UserUpdate(schemas.BaseUserUpdate):
    current_password: str | None = Field(
        None,
        description="Your current password: needed to change your own password or email.",
    )
