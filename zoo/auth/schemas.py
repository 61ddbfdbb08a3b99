from __future__ import annotations

import unicodedata
import uuid
from datetime import datetime
from typing import Annotated

from fastapi_users import schemas
from pydantic import BaseModel, BeforeValidator, ConfigDict, EmailStr, Field, field_validator

from zoo.core.fields import Encodable
from zoo.core.roles import Role

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


MANAGED_BY_ADMINS = ("role", "staff_member_id")
"""Fields of an account only an ADMIN sets (fastapi-users' own safe update strips only
``is_superuser``, ``is_active`` and ``is_verified``)."""


class UserRead(schemas.BaseUser[uuid.UUID]):
    id: uuid.UUID = Field(description="Opaque user identifier.")
    email: str = Field(description="The address the user logs in with.")
    is_active: bool = Field(True, description="Inactive users cannot log in or change data.")
    is_superuser: bool = Field(False, description="The same as role ADMIN.")
    is_verified: bool = Field(False, description="Whether the email address was confirmed.")
    role: Role = Field(Role.VISITOR, description="What the user may read and change.")
    staff_member_id: int | None = Field(
        None, description="The staff member the user works as (a keeper's exhibits), if any."
    )


class UserCreate(schemas.BaseUserCreate):
    email: Email = Field(description="The address to log in with.")
    password: Password = Field(description=f"At least {MIN_PASSWORD_LENGTH} characters.")
    role: Role | None = Field(None, description="Set by an ADMIN; a sign-up is a VISITOR.")
    staff_member_id: int | None = Field(None, description="Set by an ADMIN.")


class UserUpdate(schemas.BaseUserUpdate):
    email: Email | None = Field(None, description="A new address to log in with.")
    password: Password | None = Field(
        None, description=f"At least {MIN_PASSWORD_LENGTH} characters."
    )
    current_password: Password | None = Field(
        None,
        description="Your current password: needed to change your own password or email.",
    )
    role: Role | None = Field(None, description="A new role (ADMIN only).")
    staff_member_id: int | None = Field(
        None, description="The staff member to link, or null to unlink (ADMIN only)."
    )

    def create_update_dict(self) -> dict[str, object]:
        """What a user may change of their own account: never their role or link."""
        values: dict[str, object] = super().create_update_dict()  # type: ignore[no-untyped-call]
        for managed in MANAGED_BY_ADMINS:
            values.pop(managed, None)
        return values

    @field_validator(
        "email", "password", "is_active", "is_superuser", "is_verified", "role", mode="before"
    )
    @classmethod
    def _not_null(cls, value: object) -> object:
        """Left out, a field keeps its value; sent as null it meant to clear it: a null
        email reached the database and came back as "email already exists"."""
        if value is None:
            raise ValueError("may not be null: leave the field out to keep its value")
        return value


Token = Annotated[str, Field(min_length=1, max_length=2048, description="The link's token.")]


class EmailRequest(BaseModel):
    email: Email = Field(description="The address to send the mail to.")


class TokenRequest(BaseModel):
    token: Token


class NewPassword(BaseModel):
    token: Token
    password: Password = Field(description=f"At least {MIN_PASSWORD_LENGTH} characters.")


class InvitationCreate(BaseModel):
    email: Email = Field(description="Who to invite.")
    role: Role = Field(Role.VISITOR, description="VISITOR, KEEPER or CURATOR.")
    staff_member_id: int | None = Field(None, description="The staff member they work as.")


class InvitationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="Opaque invitation identifier.")
    email: str = Field(description="Who is invited.")
    role: Role = Field(description="The role the account will have.")
    staff_member_id: int | None = Field(description="The staff member it will work as.")
    created_at: datetime = Field(description="When the invitation was made.")
    expires_at: datetime = Field(description="When its link stops working.")
