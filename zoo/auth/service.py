"""User administration outside HTTP (the CLI and tests)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi_users.exceptions import InvalidPasswordException, UserAlreadyExists, UserNotExists
from fastapi_users_db_sqlalchemy import SQLAlchemyUserDatabase
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from zoo.auth.account_mail import AccountMail
from zoo.auth.invitations import (
    INVITATION_USER_ALREADY_EXISTS,
    REGISTRATION_CLOSED,
    InvitationRefused,
    invite,
    open_invitations,
)
from zoo.auth.manager import StaffLinkRefused, UserManager
from zoo.auth.models import Invitation, User
from zoo.auth.schemas import InvitationCreate, UserCreate, UserUpdate
from zoo.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from zoo.core.fields import invalid_input
from zoo.core.filters import name_contains
from zoo.core.keyset import Page, PageRequest, decode_cursor, encode_cursor
from zoo.core.roles import Role
from zoo.events.broker import Broker
from zoo.storage.database import Database


def _manager(session: AsyncSession, events: Broker | None = None) -> UserManager:
    """The user manager on ``session``, as the REST routes use it (no tokens to sign)."""
    return UserManager(SQLAlchemyUserDatabase(session, User), "", events)


class UserPage(Page[User]):
    """A page of users by email, which is unique: its cursor holds the email alone."""

    def cursor(self, item: Any) -> str:
        return encode_cursor(BY_EMAIL, [item.email], 0)


BY_EMAIL = "email"


def _users_where(email_contains: str | None, role: Role | None) -> list[Any]:
    users = User.__table__.c  # fastapi-users' mixin types its columns as values
    clauses: list[Any] = []
    if email_contains:
        clauses.append(name_contains(users.email, email_contains))
    if role is not None:
        clauses.append(users.role == role.value)
    return clauses


async def users_page(
    database: Database,
    request: PageRequest,
    email_contains: str | None = None,
    role: Role | None = None,
) -> UserPage:
    """A page of users (ordered by email) for an admin's screen, filtered."""
    users = User.__table__.c
    statement = select(User).where(*_users_where(email_contains, role)).order_by(users.email)
    if request.after is not None:
        key = decode_cursor(request.after, BY_EMAIL, (str,))
        statement = statement.where(users.email > key.values[0])
    async with database.read_session() as session:
        rows = list(await session.scalars(statement.limit(request.first + 1)))
    return UserPage(
        rows[: request.first],
        len(rows) > request.first,
        request.after is not None,
        BY_EMAIL,
        ("email",),
    )


async def count_users(
    database: Database, email_contains: str | None = None, role: Role | None = None
) -> int:
    statement = select(func.count()).select_from(User).where(*_users_where(email_contains, role))
    async with database.read_session() as session:
        return int(await session.scalar(statement) or 0)


async def update_user(
    database: Database, events: Broker | None, user_id: uuid.UUID, changes: UserUpdate
) -> User:
    """An ADMIN's change to a user (role, link, activation), as ``PATCH /users/{id}`` makes
    it: announced, so that the user's open sockets and streams apply it at once."""
    async with database.write_session() as session:
        manager = _manager(session, events)
        user = await manager.user_db.get(user_id)
        if user is None:
            raise NotFound("User", user_id)
        try:
            return await manager.update(changes, user, safe=False)
        except StaffLinkRefused as exc:
            raise InvalidInput.for_field("staff_member_id", exc.code) from None


async def invite_user(
    database: Database,
    mail: AccountMail,
    invited_by: uuid.UUID | None,
    invitation: InvitationCreate,
) -> Invitation:
    """An ADMIN's invitation made over GraphQL, as ``POST /users/invitations`` makes it."""
    async with database.writing(), database.write_session() as session:
        try:
            return await invite(
                _manager(session),
                mail,
                invited_by,
                invitation.email,
                invitation.role,
                invitation.staff_member_id,
            )
        except StaffLinkRefused as exc:
            raise InvalidInput.for_field("staff_member_id", exc.code) from None
        except InvitationRefused as exc:
            if exc.code == REGISTRATION_CLOSED:
                raise Forbidden("REGISTRATION_CLOSED: invitations are off") from None
            if exc.code == INVITATION_USER_ALREADY_EXISTS:
                raise Conflict(f"a user with email {invitation.email} already exists") from None
            raise InvalidInput.for_field("role", exc.reason or exc.code) from None


async def list_invitations(database: Database) -> list[Invitation]:
    async with database.read_session() as session:
        return await open_invitations(session)


async def list_users(database: Database, role: Role | None = None) -> list[User]:
    """Every user (of ``role``), by email."""
    users = User.__table__.c  # fastapi-users' mixin types its columns as values
    statement = select(User).where(*_users_where(None, role)).order_by(users.email)
    async with database.read_session() as session:
        return list(await session.scalars(statement))


async def set_role(
    database: Database, email: str, role: Role, events: Broker | None = None
) -> User:
    """Give the user of ``email`` ``role``, as an ADMIN's ``PATCH /users/{id}`` would: their
    open sockets and streams run their next operation with it (at once where ``events``
    reach their servers: PostgreSQL's)."""
    async with database.write_session() as session:
        manager = _manager(session, events)
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
    member when given. Verified: whoever runs this (an operator, the seed) vouches for
    the address."""
    try:
        data = UserCreate(
            email=email,
            password=password,
            is_superuser=superuser or role is Role.ADMIN,
            role=Role.ADMIN if superuser else role,
            staff_member_id=staff_member_id,
            is_verified=True,
        )
    except ValidationError as exc:
        raise invalid_input(exc) from None
    async with database.write_session() as session:
        manager = _manager(session)
        try:
            return await manager.create(data, safe=False)
        except UserAlreadyExists:
            raise Conflict(f"a user with email {data.email} already exists") from None
        except InvalidPasswordException as exc:
            raise InvalidInput.for_field("password", str(exc.reason)) from None
        except StaffLinkRefused as exc:
            raise InvalidInput.for_field("staff_member_id", exc.code) from None
