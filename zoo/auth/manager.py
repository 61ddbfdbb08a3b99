"""Users: fastapi-users' manager, with password hashing moved off the event loop.

A password hash takes tens of milliseconds of CPU by design. fastapi-users
runs it inline, on the loop every request shares: 32 sign-ups at once held
``/health`` for a second. Here every hash and verification runs in a small
thread pool (the hashers release the GIL), so reads go on meanwhile and a
burst of sign-ups queues behind the pool instead of behind the loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from fastapi import Request
from fastapi.security import OAuth2PasswordRequestForm
from fastapi_users import (
    BaseUserManager,
    InvalidPasswordException,
    UUIDIDMixin,
    exceptions,
    schemas,
)
from fastapi_users.jwt import decode_jwt, generate_jwt
from fastapi_users_db_sqlalchemy import SQLAlchemyUserDatabase
from jwt import PyJWTError
from sqlalchemy import Row, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from zoo.auth.account_mail import AccountMail
from zoo.auth.models import User
from zoo.auth.rate_limit import record_login
from zoo.auth.schemas import MANAGED_BY_ADMINS, MIN_PASSWORD_LENGTH, UserUpdate, plain_spelling
from zoo.auth.sessions import announce_login_change, presented_token, revoke_sessions
from zoo.core.roles import SELF_REGISTERED, Role
from zoo.events.broker import Broker
from zoo.storage.tables import StaffMember

logger = logging.getLogger(__name__)

HASHING = ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="zoo-hash")
"""Threads for password hashing: one per core, so hashing never takes every core."""

T = TypeVar("T")


async def off_the_loop(work: Callable[..., T], *args: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(HASHING, work, *args)


STAFF_MEMBER_NOT_FOUND = "STAFF_MEMBER_NOT_FOUND"
STAFF_MEMBER_ALREADY_LINKED = "STAFF_MEMBER_ALREADY_LINKED"


class StaffLinkRefused(Exception):
    """A user cannot be linked to that staff member: ``code`` says why (REST: a 400)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def in_step(values: dict[str, Any], current: Role | None) -> dict[str, Any]:
    """``role`` and ``is_superuser`` say the same thing: ADMIN is a superuser. Setting one
    sets the other; a superuser unset becomes a CURATOR (what version 1 let them do)."""
    if values.get("role") is not None:
        values["role"] = Role(values["role"])
        values["is_superuser"] = values["role"] is Role.ADMIN
    elif values.get("is_superuser"):
        values["role"] = Role.ADMIN
    elif "is_superuser" in values and current in (None, Role.ADMIN):
        values["role"] = Role.CURATOR if current is Role.ADMIN else Role.VISITOR
    if "role" in values:
        values["role"] = values["role"].value
    return values


async def check_staff_link(
    session: AsyncSession, staff_member_id: int | None, user_id: uuid.UUID | None
) -> None:
    """A user may be linked to a live staff member that no other user is linked to."""
    if staff_member_id is None:
        return
    staff = StaffMember.__table__.c  # the table alone: no mapper needed (the CLI)
    live = await session.scalar(
        select(staff.id).where(staff.id == staff_member_id, staff.deleted_at.is_(None))
    )
    if live is None:
        raise StaffLinkRefused(STAFF_MEMBER_NOT_FOUND)
    users = User.__table__.c  # fastapi-users' mixin types its columns as values
    taken = select(users.id).where(users.staff_member_id == staff_member_id)
    if user_id is not None:
        taken = taken.where(users.id != user_id)
    if await session.scalar(taken) is not None:
        raise StaffLinkRefused(STAFF_MEMBER_ALREADY_LINKED)


NO_ACCOUNT_FINGERPRINT = "no account"
"""What an address without an account fingerprints, so that it costs what one with does."""


class UserManager(UUIDIDMixin, BaseUserManager[User, uuid.UUID]):
    def __init__(
        self,
        user_db: SQLAlchemyUserDatabase[User, uuid.UUID],
        secret: str,
        events: Broker | None = None,
        mail: AccountMail | None = None,
    ) -> None:
        super().__init__(user_db)
        self.reset_password_token_secret = secret
        self.verification_token_secret = secret
        self.events = events
        """Where changes to a user's logins are announced (see ``auth.sessions``)."""
        self.mail = mail
        """Where the mails of sign-ups, resets and verifications are queued; None: no mail
        (the CLI)."""
        if mail is not None:
            self.reset_password_token_lifetime_seconds = mail.settings.reset_token_lifetime_seconds
            self.verification_token_lifetime_seconds = mail.settings.verify_token_lifetime_seconds

    @property
    def session(self) -> AsyncSession:
        """The request's session: the user's, its tokens' and its mails' writes commit together."""
        return self.user_db.session  # type: ignore[attr-defined, no-any-return]

    # Password reset: a token bound to the password it replaces, queued as a mail.

    def _password_fingerprint(self, hashed_password: str) -> str:
        """What a reset token holds of the password it replaces: a new password (however
        set) changes it, so the token dies with the old password, and with its one use.
        fastapi-users hashes the stored hash again (tens of milliseconds on the event
        loop, and only for addresses with an account: a timing oracle); a keyed digest is
        as unforgeable and reveals nothing of the hash."""
        key = str(self.reset_password_token_secret).encode()
        return hmac.new(key, hashed_password.encode(), hashlib.sha256).hexdigest()[:32]

    async def forgot_password_of(self, email: str, request: Request | None = None) -> None:
        """``POST /auth/forgot-password``: a reset link to an active account's address, or a
        note that there is no such account. Either way the same work (one row looked up
        as plain columns, a token signed, a mail queued, a commit), so that neither
        answer nor timing tells them apart."""
        assert self.mail is not None
        account = await self._account_of(email)
        if account is None or not account.is_active:
            self._reset_token(uuid.UUID(int=0), NO_ACCOUNT_FINGERPRINT)  # signed, unsent
            self.mail.reset_no_account(self.session, plain_spelling(email))
        else:
            token = self._reset_token(account.id, account.hashed_password)
            self.mail.reset_password(self.session, account.email, token)
        await self.session.commit()

    async def _account_of(self, email: str) -> Row[Any] | None:
        """The columns of the account of ``email`` a mail needs, or None: the same
        statement, and no ORM object, whether there is one or not."""
        users = User.__table__.c  # fastapi-users' mixin types its columns as values
        statement = select(
            users.id, users.email, users.hashed_password, users.is_active, users.is_verified
        ).where(func.lower(users.email) == func.lower(plain_spelling(email)))
        return (await self.session.execute(statement)).first()

    async def forgot_password(self, user: User, request: Request | None = None) -> None:
        if not user.is_active:
            raise exceptions.UserInactive()
        token = self._reset_token(user.id, user.hashed_password)
        await self.on_after_forgot_password(user, token, request)

    def _reset_token(self, user_id: uuid.UUID, hashed_password: str) -> str:
        return generate_jwt(
            {
                "sub": str(user_id),
                "password_fgpt": self._password_fingerprint(hashed_password),
                "aud": self.reset_password_token_audience,
            },
            self.reset_password_token_secret,
            self.reset_password_token_lifetime_seconds,
        )

    async def on_after_forgot_password(
        self, user: User, token: str, request: Request | None = None
    ) -> None:
        if self.mail is not None:
            self.mail.reset_password(self.session, user.email, token)

    async def reset_password(
        self, token: str, password: str, request: Request | None = None
    ) -> User:
        """A new password through the same path as every other change of it
        (:meth:`update`): hashed off the loop, every session of the user ended with it."""
        try:
            data = decode_jwt(
                token, self.reset_password_token_secret, [self.reset_password_token_audience]
            )
            user = await self.get(self.parse_id(data["sub"]))
            fingerprint = str(data["password_fgpt"])
        except (PyJWTError, KeyError, exceptions.InvalidID, exceptions.UserNotExists):
            raise exceptions.InvalidResetPasswordToken() from None
        expected = self._password_fingerprint(user.hashed_password)
        if not hmac.compare_digest(fingerprint, expected):
            raise exceptions.InvalidResetPasswordToken()
        if not user.is_active:
            raise exceptions.UserInactive()
        updated = await self.update(UserUpdate(password=password), user, safe=False)
        await self.on_after_reset_password(updated, request)
        return updated

    # Verification: a token for the address an account has now.

    def _verification_token(self, user_id: uuid.UUID, email: str) -> str:
        return generate_jwt(
            {"sub": str(user_id), "email": email, "aud": self.verification_token_audience},
            self.verification_token_secret,
            self.verification_token_lifetime_seconds,
        )

    async def request_verify_of(self, email: str, request: Request | None = None) -> None:
        """``POST /auth/request-verify-token``: a verification link to an active, unverified
        account's address, or a note that there is nothing to verify; the same work
        either way (see :meth:`forgot_password_of`)."""
        assert self.mail is not None
        account = await self._account_of(email)
        if account is None or not account.is_active or account.is_verified:
            self._verification_token(uuid.UUID(int=0), plain_spelling(email))  # unsent
            self.mail.verify_not_needed(self.session, plain_spelling(email))
        else:
            token = self._verification_token(account.id, account.email)
            self.mail.verify(self.session, account.email, token)
        await self.session.commit()

    async def request_verify(self, user: User, request: Request | None = None) -> None:
        if not user.is_active:
            raise exceptions.UserInactive()
        if user.is_verified:
            raise exceptions.UserAlreadyVerified()
        token = self._verification_token(user.id, user.email)
        await self.on_after_request_verify(user, token, request)

    async def on_after_request_verify(
        self, user: User, token: str, request: Request | None = None
    ) -> None:
        if self.mail is not None:
            self.mail.verify(self.session, user.email, token)

    # Sign-up: the same answer for a new address and a known one.

    async def register(self, user_create: schemas.BaseUserCreate) -> None:
        """``POST /auth/register`` in open mode: a new address gets an account (an
        unverified VISITOR) and a verification link, committed together; a known one
        gets a note to its owner, after the same password hashing. The caller learns
        nothing either way."""
        assert self.mail is not None
        await self.validate_password(user_create.password, user_create)
        known = await self.user_or_none(user_create.email)
        if known is None:
            try:
                created = await self._insert(user_create, safe=True)  # commits, reads back
                await self.on_after_register(created)
                return
            except exceptions.UserAlreadyExists:
                pass  # registered meanwhile: as a known address
        else:
            await off_the_loop(self.password_helper.hash, user_create.password)
        self.mail.already_registered(self.session, plain_spelling(user_create.email))
        await self.session.commit()
        if known is not None:
            await self.session.refresh(known)  # as the insert reads its row back

    async def user_or_none(self, email: str) -> User | None:
        try:
            return await self.get_by_email(email)
        except exceptions.UserNotExists:
            return None

    async def update(
        self,
        user_update: schemas.BaseUserUpdate,
        user: User,
        safe: bool = False,
        request: Request | None = None,
    ) -> User:
        """A user changing their own password or email proves it is them (the current
        password); a new password ends every other session of the user (every session,
        when a superuser sets it)."""
        values: dict[str, Any] = (
            user_update.create_update_dict()  # type: ignore[no-untyped-call]
            if safe
            else user_update.create_update_dict_superuser()  # type: ignore[no-untyped-call]
        )
        current = values.pop("current_password", None)
        if safe and ("password" in values or "email" in values):
            proved = (
                current is not None
                and (
                    await off_the_loop(
                        self.password_helper.verify_and_update, current, user.hashed_password
                    )
                )[0]
            )
            if not proved:
                raise InvalidPasswordException(
                    reason="Give your current password (current_password) to change "
                    "your password or email"
                )
        session: AsyncSession = self.user_db.session  # type: ignore[attr-defined]
        values = in_step(values, Role(user.role))
        await check_staff_link(session, values.get("staff_member_id"), user.id)
        if "password" in values:
            keep = presented_token(request) if safe and request is not None else None
            await self._end_sessions_with_the_change(session, user, keep)
        return await self._update(user, values)  # commits: the change, and all of the above

    async def _end_sessions_with_the_change(
        self, session: AsyncSession, user: User, keep: str | None
    ) -> None:
        """End the user's sessions (but ``keep``) in the transaction that sets the new
        password: committed apart, a failure between the two left every session of the
        old password working. The user's row is locked first, so that a login holding
        it (``AnnouncingStrategy.write_token``) commits its session before they are ended."""
        users = User.__table__.c  # fastapi-users' mixin types its columns as values
        await session.execute(select(users.id).where(users.id == user.id).with_for_update())
        await revoke_sessions(session, user.id, keep)

    async def on_before_delete(self, user: User, request: Request | None = None) -> None:
        if self.events is not None:
            session: AsyncSession = self.user_db.session  # type: ignore[attr-defined]
            announce_login_change(self.events, session, user.id)

    async def validate_password(self, password: str, user: schemas.BaseUserCreate | User) -> None:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise InvalidPasswordException(
                reason=f"Password should be at least {MIN_PASSWORD_LENGTH} characters"
            )
        if user.email.lower() in password.lower():
            raise InvalidPasswordException(reason="Password should not contain the email")

    async def on_after_register(self, user: User, request: Request | None = None) -> None:
        logger.info("user registered: %s", user.id)

    async def on_after_login(
        self, user: User, request: Request | None = None, response: Any = None
    ) -> None:
        logger.info("user logged in: %s", user.id)

    async def create(
        self,
        user_create: schemas.BaseUserCreate,
        safe: bool = False,
        request: Request | None = None,
    ) -> User:
        await self.validate_password(user_create.password, user_create)
        if await self.user_db.get_by_email(user_create.email) is not None:
            raise exceptions.UserAlreadyExists()
        created = await self._insert(user_create, safe)
        await self.on_after_register(created, request)
        return created

    async def _insert(self, user_create: schemas.BaseUserCreate, safe: bool) -> User:
        """The account, its password hashed off the loop; committed (with, for a sign-up,
        its verification link) and read back."""
        values: dict[str, Any] = (
            user_create.create_update_dict()  # type: ignore[no-untyped-call]
            if safe
            else user_create.create_update_dict_superuser()  # type: ignore[no-untyped-call]
        )
        if safe:  # a sign-up: its owner chooses neither role nor link
            values = {k: v for k, v in values.items() if k not in MANAGED_BY_ADMINS}
            values["role"] = SELF_REGISTERED
        values = in_step(values, None)
        session = self.session
        await check_staff_link(session, values.get("staff_member_id"), None)
        values["hashed_password"] = await off_the_loop(
            self.password_helper.hash, values.pop("password")
        )
        values["id"] = uuid.uuid4()
        if safe and self.mail is not None:  # a sign-up: its verification link commits with it
            token = self._verification_token(values["id"], values["email"])
            self.mail.verify(session, values["email"], token)
        async with self._one_account_per_email():
            return await self.user_db.create(values)

    @asynccontextmanager
    async def _one_account_per_email(self) -> AsyncIterator[None]:
        """The database's unique indexes have the last word when two changes race past the
        checks: on the email (ignoring case), the loser is told the email is taken; on the
        staff member, that the staff member is linked already."""
        try:
            yield
        except IntegrityError as exc:
            await self.user_db.session.rollback()  # type: ignore[attr-defined]
            if "staff_member_id" in str(exc.orig):
                raise StaffLinkRefused(STAFF_MEMBER_ALREADY_LINKED) from None
            raise exceptions.UserAlreadyExists() from None

    async def get_by_email(self, user_email: str) -> User:
        """The account of an address however it is spelled (logins, the existence check
        of a change of email): addresses are stored in their plain spelling."""
        return await super().get_by_email(plain_spelling(user_email))

    async def authenticate(self, credentials: OAuth2PasswordRequestForm) -> User | None:
        user = await self._authenticate(credentials)
        await record_login(credentials.username, succeeded=user is not None)
        return user

    async def _authenticate(self, credentials: OAuth2PasswordRequestForm) -> User | None:
        try:
            user = await self.get_by_email(credentials.username)
        except exceptions.UserNotExists:
            # Hash anyway, so that an unknown email takes as long as a wrong password.
            await off_the_loop(self.password_helper.hash, credentials.password)
            return None
        verified, new_hash = await off_the_loop(
            self.password_helper.verify_and_update, credentials.password, user.hashed_password
        )
        if not verified:
            return None
        if new_hash is not None and not await self._rehashed(user, new_hash):
            return None
        return user

    async def _rehashed(self, user: User, new_hash: str) -> bool:
        """Store the password just checked hashed the current way (it was stored under an
        older scheme), unless it changed meanwhile: written unconditionally, this put the
        old password back over a new one set while it was checked. False if it changed."""
        session: AsyncSession = self.user_db.session  # type: ignore[attr-defined]
        users = User.__table__.c  # fastapi-users' mixin types its columns as values
        stored = await session.scalar(
            update(User)
            .where(users.id == user.id, users.hashed_password == user.hashed_password)
            .values(hashed_password=new_hash)
            .returning(users.id)
        )
        await session.commit()
        if stored is None:
            return False
        set_committed_value(user, "hashed_password", new_hash)
        return True

    async def _update(self, user: User, update_dict: dict[str, Any]) -> User:
        """Every change of a user (an update, a reset, a verification) is announced with
        its commit: open sockets check their login again, and every process forgets
        the login it kept (``auth.session_cache``)."""
        if self.events is not None:
            announce_login_change(self.events, self.session, user.id)
        password = update_dict.get("password")
        if password is None:
            async with self._one_account_per_email():
                return await super()._update(user, update_dict)
        await self.validate_password(password, user)
        # Hashed here, then passed on as a plain column: one update, as before.
        hashed = await off_the_loop(self.password_helper.hash, password)
        rest = {k: v for k, v in update_dict.items() if k != "password"}
        async with self._one_account_per_email():
            return await super()._update(user, {**rest, "hashed_password": hashed})
