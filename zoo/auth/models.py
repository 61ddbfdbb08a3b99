from __future__ import annotations

import uuid

from fastapi_users_db_sqlalchemy import SQLAlchemyBaseUserTableUUID
from fastapi_users_db_sqlalchemy.access_token import SQLAlchemyBaseAccessTokenTableUUID
from fastapi_users_db_sqlalchemy.generics import GUID
from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from zoo.core.entity import Base
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
