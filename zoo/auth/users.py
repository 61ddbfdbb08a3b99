"""fastapi-users wired to one app's settings and database.

Bearer tokens and cookies both name a session row in the database, so that
logging out (either way) revokes it at once; a signed JWT in the cookie would
stay valid until it expired. Both resolve to the same ``User``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request, status
from fastapi_users import BaseUserManager, FastAPIUsers
from fastapi_users.authentication import (
    AuthenticationBackend,
    BearerTransport,
    CookieTransport,
)
from fastapi_users.authentication.strategy.db import DatabaseStrategy
from fastapi_users.router.common import ErrorCode
from fastapi_users_db_sqlalchemy import SQLAlchemyUserDatabase
from fastapi_users_db_sqlalchemy.access_token import SQLAlchemyAccessTokenDatabase
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from zoo.auth.account_mail import AccountMail
from zoo.auth.manager import UserManager
from zoo.auth.models import AccessToken, User
from zoo.auth.session_cache import SessionCache
from zoo.auth.sessions import COOKIE_NAME, Login, announce_login_change, bearer_token
from zoo.auth.tokens import new_token, stored_form
from zoo.config import Settings
from zoo.events.broker import Broker
from zoo.storage.database import Database

CSRF_SAFE_CONTENT_TYPES = ("application/json", "application/graphql-response+json")


def cookie_is_csrf_safe(request: HTTPConnection) -> bool:
    """Whether a cookie may authenticate this request.

    Browsers send cookies with cross-site form posts, which can only be
    ``text/plain``, urlencoded or multipart and cannot set custom headers. A JSON
    body or an ``X-Requested-With`` header therefore proves the request came from
    a page allowed to make it; a GET never runs a mutation. Browsers also send
    cookies when any site opens a WebSocket, so there the page's ``Origin`` must
    be this server.
    """
    if request.scope["type"] == "websocket":
        return is_same_origin(request)
    if request.scope.get("method") in {"GET", "HEAD"} or "x-requested-with" in request.headers:
        return True
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return content_type in CSRF_SAFE_CONTENT_TYPES


def is_same_origin(request: HTTPConnection) -> bool:
    """No ``Origin`` header (not a browser's cross-site request), or this server's own.

    ``Origin: null`` is a browser hiding the origin (a page under ``no-referrer``, a
    sandboxed frame, a redirect): it counts as this server's only when the browser's own
    ``Sec-Fetch-Site`` says ``same-origin``, which no page can set."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    if origin == "null":
        return request.headers.get("sec-fetch-site") == "same-origin"
    return urlsplit(origin).netloc == request.headers.get("host")


async def refuse_cross_origin_cookie(request: Request) -> None:
    """Any route the cookie can authenticate refuses it from another origin.

    fastapi-users authenticates every protected route (``/auth/jwt/logout``,
    ``/users/...``) with either backend, so a page elsewhere could have a
    visitor's browser post to them with the visitor's cookie. Bearer tokens
    are not sent by browsers on their own, so requests with only a token pass.
    """
    if COOKIE_NAME in request.cookies and not is_same_origin(request):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="CROSS_ORIGIN_REQUEST")


async def refuse_cross_origin(request: Request) -> None:
    """Cookie login and logout only from this server's own pages.

    A cross-site form could otherwise log a visitor in as the attacker (login
    CSRF), and whatever they then typed would land in the attacker's account.
    """
    if not is_same_origin(request):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="CROSS_ORIGIN_REQUEST")


class AnnouncingStrategy(DatabaseStrategy[User, uuid.UUID, AccessToken]):
    """Database sessions whose logout is announced, so that open sockets drop it too,
    and whose tokens are kept as digests (``auth.tokens``)."""

    def __init__(self, *args: Any, events: Broker, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.events = events

    async def write_token(self, user: User) -> str:
        """A session for a login, unless the password it checked has changed since.

        A new password ends the user's sessions; a login that checked the old one just
        before, and wrote its session just after, kept a session the change never
        saw. The user's row is read again, and held (``FOR SHARE``: a password change
        waits for this transaction, then ends the session written here) until the
        session is committed.
        """
        session: AsyncSession = self.database.session  # type: ignore[attr-defined]
        users = User.__table__.c  # fastapi-users' mixin types its columns as values
        statement = select(users.hashed_password).where(users.id == user.id)
        hashed = await session.scalar(statement.with_for_update(read=True))
        if hashed != user.hashed_password:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=ErrorCode.LOGIN_BAD_CREDENTIALS)
        token = new_token()
        await self.database.create({"token": stored_form(token), "user_id": user.id})
        return token

    async def read_token(
        self, token: str | None, user_manager: BaseUserManager[User, uuid.UUID]
    ) -> User | None:
        return await super().read_token(token and stored_form(token), user_manager)

    async def destroy_token(self, token: str, user: User) -> None:
        session: AsyncSession = self.database.session  # type: ignore[attr-defined]
        announce_login_change(self.events, session, user.id)
        await super().destroy_token(stored_form(token), user)


class Auth:
    def __init__(
        self,
        settings: Settings,
        database: Database,
        events: Broker,
        mail: AccountMail | None = None,
    ) -> None:
        self.settings = settings
        self.database = database
        self.events = events
        self.mail = mail
        """Where account mails go (sign-ups, resets, verification, invitations)."""
        self.logins = SessionCache(settings.session_cache_seconds)
        """Logins read lately; the app has the broker empty it of every changed user's."""
        secret = settings.secret.get_secret_value()
        lifetime = settings.token_lifetime_seconds

        async def get_session() -> AsyncIterator[AsyncSession]:
            # One session per request for user and token together: on SQLite two write
            # sessions in one request would wait on each other's lock.
            async with database.writing(), database.request_session() as session:
                yield session

        async def get_user_db(
            session: AsyncSession = Depends(get_session),
        ) -> AsyncIterator[SQLAlchemyUserDatabase[User, uuid.UUID]]:
            yield SQLAlchemyUserDatabase(session, User)

        async def get_access_token_db(
            session: AsyncSession = Depends(get_session),
        ) -> AsyncIterator[SQLAlchemyAccessTokenDatabase[AccessToken]]:
            yield SQLAlchemyAccessTokenDatabase(session, AccessToken)

        async def get_user_manager(
            user_db: SQLAlchemyUserDatabase[User, uuid.UUID] = Depends(get_user_db),
        ) -> AsyncIterator[UserManager]:
            yield UserManager(user_db, secret, events, mail)

        def database_strategy(
            access_token_db: SQLAlchemyAccessTokenDatabase[AccessToken] = Depends(
                get_access_token_db
            ),
        ) -> DatabaseStrategy[User, uuid.UUID, AccessToken]:
            return AnnouncingStrategy(access_token_db, lifetime_seconds=lifetime, events=events)

        self.bearer = AuthenticationBackend(
            name="bearer",
            transport=BearerTransport(tokenUrl="auth/jwt/login"),
            get_strategy=database_strategy,
        )
        self.cookie = AuthenticationBackend(
            name="cookie",
            transport=CookieTransport(
                cookie_name=COOKIE_NAME,
                cookie_max_age=lifetime,
                cookie_secure=settings.secure_cookies,
                cookie_httponly=True,
                cookie_samesite="lax",
            ),
            get_strategy=database_strategy,
        )
        self.users = FastAPIUsers[User, uuid.UUID](get_user_manager, [self.bearer, self.cookie])

    def credential_for(self, request: HTTPConnection) -> str | None:
        """The session token a GraphQL request presents: its bearer token, else the
        cookie where the cookie may authenticate it (see ``cookie_is_csrf_safe``)."""
        token = bearer_token(request.headers.get("authorization", ""))
        if token:
            return token
        cookie = request.cookies.get(COOKIE_NAME)
        return cookie if cookie and cookie_is_csrf_safe(request) else None

    async def user_for(self, request: HTTPConnection) -> User | None:
        """The user behind a GraphQL request, or None (no, bad, expired or revoked credentials)."""
        credential = self.credential_for(request)
        return await self.user_for_token(credential) if credential else None

    async def user_for_token(self, token: str) -> User | None:
        """The user whose live session ``token`` names (from a header or the cookie)."""
        login = await self.login_for_token(token)
        return login.user if login is not None else None

    async def login_for_token(self, token: str) -> Login | None:
        """The live session ``token`` names: its user, and when it lapses. Kept a few
        seconds by this process, and forgotten the moment its user's logins change
        (``auth.session_cache``)."""
        digest = stored_form(token)
        login = self.logins.get(digest)
        if login is not None:
            return login
        generation = self.logins.generation
        login = await self._login_for_token(digest)
        if login is not None:
            self.logins.put(digest, login, generation)
        return login

    async def _login_for_token(self, digest: str) -> Login | None:
        """The token joined to its user, in one statement: fastapi-users'
        ``DatabaseStrategy.read_token`` reads the same in two (the token, then its user
        by id), and every authenticated request reads it. Same rule: a token older than
        the lifetime names no one. Read through Core, on one greenlet (``Database.fetch``):
        through an ORM session the lookup took twice as long, on every request."""
        lifetime = timedelta(seconds=self.settings.token_lifetime_seconds)
        parameters = {"token": digest, "since": datetime.now(UTC) - lifetime}
        found = await self.database.fetch(
            lambda connection: connection.execute(_LOGIN, parameters).first()
        )
        if found is None:
            return None
        *values, created_at = found
        return Login(User(**dict(zip(_USER_COLUMNS, values, strict=True))), created_at + lifetime)


_USER_COLUMNS = tuple(column.key for column in User.__table__.columns)
_TOKENS = AccessToken.__table__.c  # fastapi-users' mixin types its columns as values
_LOGIN = (
    select(*User.__table__.columns, _TOKENS.created_at)
    .join_from(User.__table__, AccessToken.__table__, _TOKENS.user_id == User.__table__.c.id)
    .where(
        _TOKENS.token == bindparam("token"),
        _TOKENS.created_at >= bindparam("since", type_=_TOKENS.created_at.type),
    )
)
"""A session's user and the session's start, by the token's digest."""
