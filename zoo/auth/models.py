from __future__ import annotations

import uuid
from datetime import datetime

from fastapi_users_db_sqlalchemy import SQLAlchemyBaseUserTableUUID
from fastapi_users_db_sqlalchemy.access_token import SQLAlchemyBaseAccessTokenTableUUID
from fastapi_users_db_sqlalchemy.generics import GUID
from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from zoo.core.entity import Base, UTCDateTime, utcnow
from zoo.core.roles import Role


class User(SQLAlchemyBaseUserTableUUID, Base):
    __tablename__ = "users"

    role: Mapped[str] = mapped_column(
        String(16), nullable=False, default=Role.VISITOR.value, server_default=Role.VISITOR.value
    )
    """A :class:`Role`'s name; ``ADMIN`` exactly when ``is_superuser``."""
    staff_member_id: Mapped[int | None] = mapped_column(
        Integer,
        ForeignKey("staff.id", ondelete="SET NULL"),
        nullable=True,
        unique=True,
        index=True,
    )
    """The staff member this user works as (a keeper's exhibits are theirs); at most one
    user per staff member."""


class AccessToken(SQLAlchemyBaseAccessTokenTableUUID, Base):
    """A bearer token in the database, so that logging out really revokes it."""

    __tablename__ = "access_tokens"

    # fastapi-users points this at a table named "user"; ours is "users".
    user_id: Mapped[uuid.UUID] = mapped_column(
        GUID, ForeignKey("users.id", ondelete="cascade"), nullable=False, index=True
    )


class Invitation(Base):
    """An ADMIN's invitation to open an account with a given role (and staff member).

    Its link's token is kept as a digest, like a session's (``auth.tokens``). It is open
    until accepted, revoked or expired; accepting it is single use."""

    __tablename__ = "invitations"

    id: Mapped[uuid.UUID] = mapped_column(GUID, primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(320), nullable=False, index=True)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    staff_member_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("staff.id", ondelete="SET NULL"), nullable=True
    )
    token: Mapped[str] = mapped_column(String(43), nullable=False, unique=True)
    invited_by: Mapped[uuid.UUID | None] = mapped_column(
        GUID, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
