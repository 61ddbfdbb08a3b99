"""Account routes that work by e-mail: sign-up, password reset, verification, invitations.

fastapi-users' own reset and verification routers answer an unknown address at once
and a known one after hashing and signing: the difference in time tells who has an
account. Here each route asking for a mail does the same work either way (the
manager's ``*_of`` methods) and answers ``202 {"detail": "CHECK_YOUR_EMAIL"}``; the
error codes are fastapi-users' (``RESET_PASSWORD_BAD_TOKEN``...), plus the
invitations' own.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import JSONResponse
from fastapi_users import exceptions
from fastapi_users.router.common import ErrorCode

from zoo.auth.invitations import REGISTRATION_CLOSED, InvitationRefused, accept
from zoo.auth.manager import UserManager
from zoo.auth.rate_limit import LoginGuard, refuse_if_waiting
from zoo.auth.schemas import EmailRequest, NewPassword, TokenRequest, UserCreate, UserRead
from zoo.auth.users import Auth
from zoo.server.client_address import client_address

CHECK_YOUR_EMAIL = {"detail": "CHECK_YOUR_EMAIL"}
"""The answer to every request for a mail, whoever the address belongs to."""


def _accepted() -> JSONResponse:
    return JSONResponse(CHECK_YOUR_EMAIL, status_code=status.HTTP_202_ACCEPTED)


def _bad_request(code: str, reason: str | None = None) -> HTTPException:
    detail: Any = code if reason is None else {"code": code, "reason": reason}
    return HTTPException(status.HTTP_400_BAD_REQUEST, detail=detail)


def account_router(auth: Auth, guard: LoginGuard) -> APIRouter:
    router = APIRouter(prefix="/auth", tags=["auth"])
    user_manager = auth.users.get_user_manager

    async def mail_limit(request: Request, email: str) -> None:
        wait = await guard.mail_wait(email, client_address(request.scope))
        refuse_if_waiting(wait, "mails requested")

    @router.post(
        "/register",
        status_code=202,
        responses={202: {"content": {"application/json": {"example": CHECK_YOUR_EMAIL}}}},
    )
    async def register(
        request: Request, body: UserCreate, manager: UserManager = Depends(user_manager)
    ) -> JSONResponse:
        """Sign up (``ZOO_REGISTRATION=open``): a new address gets an unverified VISITOR
        account and a verification link; a known one, a note to its owner. The answer
        is the same."""
        if not auth.settings.registration_open:
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail=REGISTRATION_CLOSED)
        await mail_limit(request, body.email)
        try:
            await manager.register(body)
        except exceptions.InvalidPasswordException as exc:
            raise _bad_request(ErrorCode.REGISTER_INVALID_PASSWORD, str(exc.reason)) from None
        return _accepted()

    @router.post("/forgot-password", status_code=202)
    async def forgot_password(
        request: Request, body: EmailRequest, manager: UserManager = Depends(user_manager)
    ) -> JSONResponse:
        """A password-reset link to the address, if an active account has it."""
        await mail_limit(request, body.email)
        await manager.forgot_password_of(body.email, request)
        return _accepted()

    @router.post("/reset-password", status_code=200)
    async def reset_password(
        request: Request, body: NewPassword, manager: UserManager = Depends(user_manager)
    ) -> None:
        """A new password from a reset link: every session of the account ends."""
        try:
            await manager.reset_password(body.token, body.password, request)
        except (exceptions.InvalidResetPasswordToken, exceptions.UserInactive):
            raise _bad_request(ErrorCode.RESET_PASSWORD_BAD_TOKEN) from None
        except exceptions.InvalidPasswordException as exc:
            raise _bad_request(ErrorCode.RESET_PASSWORD_INVALID_PASSWORD, str(exc.reason)) from None

    @router.post("/request-verify-token", status_code=202)
    async def request_verify_token(
        request: Request, body: EmailRequest, manager: UserManager = Depends(user_manager)
    ) -> JSONResponse:
        """A verification link to the address, if an unverified account has it."""
        await mail_limit(request, body.email)
        await manager.request_verify_of(body.email, request)
        return _accepted()

    @router.post("/verify", response_model=UserRead)
    async def verify(
        request: Request, body: TokenRequest, manager: UserManager = Depends(user_manager)
    ) -> Any:
        """Confirm an address with the token of its verification link."""
        try:
            return await manager.verify(body.token, request)
        except (exceptions.InvalidVerifyToken, exceptions.UserNotExists):
            raise _bad_request(ErrorCode.VERIFY_USER_BAD_TOKEN) from None
        except exceptions.UserAlreadyVerified:
            raise _bad_request(ErrorCode.VERIFY_USER_ALREADY_VERIFIED) from None

    @router.post("/accept-invitation", status_code=201, response_model=UserRead)
    async def accept_invitation(
        body: NewPassword, manager: UserManager = Depends(user_manager)
    ) -> Any:
        """Open the account an invitation offers: active, verified, with its role."""
        try:
            return await accept(manager, body.token, body.password)
        except InvitationRefused as exc:
            raise _bad_request(exc.code, exc.reason) from None

    return router
