"""User administration outside HTTP (the CLI and tests)."""

from __future__ import annotations

from fastapi_users.exceptions import InvalidPasswordException, UserAlreadyExists
from fastapi_users_db_sqlalchemy import SQLAlchemyUserDatabase
from pydantic import ValidationError

from zoo.auth.manager import UserManager
from zoo.auth.models import User
from zoo.auth.schemas import UserCreate
from zoo.core.errors import Conflict, InvalidInput
from zoo.core.fields import invalid_input
from zoo.storage.database import Database


async def create_user(
    database: Database, email: str, password: str, *, superuser: bool = False
) -> User:
    try:
        data = UserCreate(email=email, password=password, is_superuser=superuser)
    except ValidationError as exc:
        raise invalid_input(exc) from None
    async with database.write_session() as session:
        manager = UserManager(SQLAlchemyUserDatabase(session, User), "")
        try:
            return await manager.create(data, safe=False)
        except UserAlreadyExists:
            raise Conflict(f"a user with email {data.email} already exists") from None
        except InvalidPasswordException as exc:
            raise InvalidInput.for_field("password", str(exc.reason)) from None
