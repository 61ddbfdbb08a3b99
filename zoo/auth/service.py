"""User administration outside HTTP (the CLI and tests)."""

from __future__ import annotations

from fastapi_users.exceptions import InvalidPasswordException, UserAlreadyExists, UserNotExists
from fastapi_users_db_sqlalchemy import SQLAlchemyUserDatabase
from pydantic import ValidationError
from sqlalchemy import select

from zoo.auth.manager import StaffLinkRefused, UserManager
from zoo.auth.models import User
from zoo.auth.schemas import UserCreate, UserUpdate
from zoo.core.errors import Conflict, InvalidInput, NotFound
from zoo.core.fields import invalid_input
from zoo.core.roles import Role
from zoo.events.broker import Broker
from zoo.storage.database import Database


async def list_users(database: Database, role: Role | None = None) -> list[User]:
    """Every user (of ``role``), by email."""
    users = User.__table__.c  # fastapi-users' mixin types its columns as values
    statement = select(User).order_by(users.email)
    if role is not None:
        statement = statement.where(users.role == role.value)
    async with database.read_session() as session:
        return list(await session.scalars(statement))


async def set_role(
    database: Database, email: str, role: Role, events: Broker | None = None
) -> User:
    """Give the user of ``email`` ``role``, as an ADMIN's ``PATCH /users/{id}`` would: their
    open sockets and streams run their next operation with it (at once where ``events``
    reach their servers: PostgreSQL's)."""
    async with database.write_session() as session:
        manager = UserManager(SQLAlchemyUserDatabase(session, User), "", events)
        try:
            user = await manager.get_by_email(email)
        except UserNotExists:
            raise NotFound("user", email) from None
        return await manager.update(UserUpdate(role=role), user, safe=False)


async def create_user(
    database: Database,
    email: str,
    password: str,
    *,
    superuser: bool = False,
    role: Role | None = None,
    staff_member_id: int | None = None,
) -> User:
    """A user with ``role`` (``superuser``: ADMIN; neither: VISITOR), linked to a staff
    member when given."""
    try:
        data = UserCreate(
            email=email,
            password=password,
            is_superuser=superuser or role is Role.ADMIN,
            role=Role.ADMIN if superuser else role,
            staff_member_id=staff_member_id,
        )
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
        except StaffLinkRefused as exc:
            raise InvalidInput.for_field("staff_member_id", exc.code) from None
