"""The REST routes, and those fastapi-users lacks: ending every session of an account.

A stolen token or cookie otherwise stays good until it expires, whatever its
owner does; here the owner (or a superuser) ends all of them at once, and
every open socket and stream of theirs closes with them (``auth.sessions``).
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse

from zoo.auth.account_routes import account_router
from zoo.auth.invitation_routes import invitations_router
from zoo.auth.manager import StaffLinkRefused, UserManager
from zoo.auth.models import User
from zoo.auth.openapi_responses import CROSS_ORIGIN, TOO_MANY_REQUESTS
from zoo.auth.rate_limit import LoginGuard, LoginRateLimit
from zoo.auth.schemas import UserRead, UserUpdate
from zoo.auth.sessions import COOKIE_NAME, announce_login_change, revoke_sessions
from zoo.auth.users import Auth, refuse_cross_origin, refuse_cross_origin_cookie


async def end_sessions(auth: Auth, manager: UserManager, user_id: uuid.UUID) -> None:
    # The request's own session: it already holds SQLite's write turn (``Auth``).
    session = manager.user_db.session  # type: ignore[attr-defined]
    await revoke_sessions(session, user_id, keep=None)
    announce_login_change(auth.events, session, user_id)
    await session.commit()


def sessions_router(auth: Auth) -> APIRouter:
    router = APIRouter()
    current_user = auth.users.current_user(active=True)
    superuser = auth.users.current_user(active=True, superuser=True)
    user_manager = auth.users.get_user_manager

    @router.post("/auth/logout-all", status_code=204, tags=["auth"])
    async def logout_everywhere(
        user: User = Depends(current_user), manager: UserManager = Depends(user_manager)
    ) -> Response:
        """End every session of the logged-in user: tokens, cookies, sockets, streams."""
        await end_sessions(auth, manager, user.id)
        response = Response(status_code=status.HTTP_204_NO_CONTENT)
        response.delete_cookie(COOKIE_NAME, secure=auth.settings.secure_cookies, httponly=True)
        return response

    @router.post(
        "/users/{id}/logout-all",
        status_code=204,
        tags=["users"],
        dependencies=[Depends(superuser)],
    )
    async def end_a_users_sessions(
        id: uuid.UUID, manager: UserManager = Depends(user_manager)
    ) -> Response:
        """A superuser ends every session of a user (a stolen account, a leaver)."""
        if await manager.user_db.get(id) is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Not Found")
        await end_sessions(auth, manager, id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    return router


async def staff_link_refused(request: Request, exc: Exception) -> JSONResponse:
    """An ADMIN's link to an unknown, deleted or already linked staff member: a 400, in
    the shape of every REST error (``zoo.server.rest_errors``)."""
    code = exc.code if isinstance(exc, StaffLinkRefused) else "BAD_REQUEST"
    return JSONResponse({"code": code, "detail": code}, status_code=status.HTTP_400_BAD_REQUEST)


def add_auth_routes(app: FastAPI, auth: Auth, login_guard: LoginGuard) -> None:
    """The REST routes of the contract: logins (bearer and cookie), the account routes
    that work by e-mail, sessions, invitations and users. A request carrying the cookie
    must come from this origin; logins, sign-ups and mail requests are rate-limited per
    address and per account."""
    users = auth.users
    limited = [Depends(LoginRateLimit(login_guard))]
    same_origin_cookie = Depends(refuse_cross_origin_cookie)
    verified = auth.settings.require_verified
    refusals = {**TOO_MANY_REQUESTS, **CROSS_ORIGIN}
    app.include_router(
        users.get_auth_router(auth.bearer, requires_verification=verified),
        prefix="/auth/jwt",
        tags=["auth"],
        dependencies=[same_origin_cookie, *limited],
        responses=refusals,
    )
    app.include_router(
        users.get_auth_router(auth.cookie, requires_verification=verified),
        prefix="/auth/cookie",
        tags=["auth"],
        dependencies=[Depends(refuse_cross_origin), same_origin_cookie, *limited],
        responses=refusals,
    )
    app.include_router(
        account_router(auth, login_guard),
        dependencies=[same_origin_cookie, *limited],
        responses=refusals,
    )
    app.include_router(
        sessions_router(auth), dependencies=[same_origin_cookie], responses=CROSS_ORIGIN
    )
    # Before the users router, whose /users/{id} would take "invitations" for an id.
    app.include_router(
        invitations_router(auth), dependencies=[same_origin_cookie], responses=CROSS_ORIGIN
    )
    app.include_router(
        users.get_users_router(UserRead, UserUpdate),
        prefix="/users",
        tags=["users"],
        dependencies=[same_origin_cookie],
        responses=CROSS_ORIGIN,
    )
    app.add_exception_handler(StaffLinkRefused, staff_link_refused)
