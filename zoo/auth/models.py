from __future__ import annotations

import uuid

from fastapi_users_db_sqlalchemy import SQLAlchemyBaseUserTableUUID
from fastapi_users_db_sqlalchemy.access_token import SQLAlchemyBaseAccessTokenTableUUID
from fastapi_users_db_sqlalchemy.generics import GUID
from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from zoo.core.entity import Base


class User(SQLAlchemyBaseUserTableUUID, Base):
    __tablename__ = "users"


class AccessToken(SQLAlchemyBaseAccessTokenTableUUID, Base):
    """A bearer token in the database, so that logging out really revokes it."""

    __tablename__ = "access_tokens"

    # fastapi-users points this at a table named "user"; ours is "users".
    user_id: Mapped[uuid.UUID] = mapped_column(
        GUID, ForeignKey("users.id", ondelete="cascade"), nullable=False, index=True
    )
