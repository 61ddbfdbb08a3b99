"""Invitations: an ADMIN asks someone in by e-mail, with a role and a staff member.

The invitee's link carries a random token; the table keeps its digest (as it keeps
sessions'). Accepting claims the invitation and creates the account in one
transaction, so a token works once, however many tabs submit it at once. An
invitation never grants ADMIN: a link sitting in a mailbox for a week is a poor
place for the keys to everything (an ADMIN promotes an existing user instead).
A new invitation to an address replaces the open ones to it.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi_users import exceptions
from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from zoo.auth.account_mail import AccountMail
from zoo.auth.manager import StaffLinkRefused, UserManager, check_staff_link
from zoo.auth.models import Invitation, User
from zoo.auth.schemas import UserCreate, plain_spelling
from zoo.auth.tokens import new_token, stored_form
from zoo.core.entity import utcnow
from zoo.core.roles import Role

INVITATION_BAD_TOKEN = "INVITATION_BAD_TOKEN"  # noqa: S105
INVITATION_INVALID_PASSWORD = "INVITATION_INVALID_PASSWORD"  # noqa: S105
INVITATION_USER_ALREADY_EXISTS = "INVITATION_USER_ALREADY_EXISTS"
INVITATION_ROLE_NOT_GRANTABLE = "INVITATION_ROLE_NOT_GRANTABLE"
REGISTRATION_CLOSED = "REGISTRATION_CLOSED"

GRANTABLE = (Role.VISITOR, Role.KEEPER, Role.CURATOR)


class InvitationRefused(Exception):
    """An invitation cannot be made or accepted: ``code`` says why, ``reason`` in words."""

    def __init__(self, code: str, reason: str | None = None) -> None:
        super().__init__(reason or code)
        self.code = code
        self.reason = reason


def _open() -> ColumnElement[bool]:
    invitations = Invitation.__table__.c
    return and_(
        invitations.accepted_at.is_(None),
        invitations.revoked_at.is_(None),
        invitations.expires_at > utcnow(),
    )


async def invite(
    manager: UserManager,
    mail: AccountMail,
    invited_by: uuid.UUID | None,
    email: str,
    role: Role,
    staff_member_id: int | None = None,
) -> Invitation:
    """Invite ``email`` as ``role``: the invitation and its mail commit together."""
    settings = mail.settings
    if not settings.invitations_open:
        raise InvitationRefused(REGISTRATION_CLOSED)
    if role not in GRANTABLE:
        raise InvitationRefused(
            INVITATION_ROLE_NOT_GRANTABLE, "An invitation grants VISITOR, KEEPER or CURATOR"
        )
    email = plain_spelling(email)
    session = manager.session
    if await manager.user_or_none(email) is not None:
        raise InvitationRefused(INVITATION_USER_ALREADY_EXISTS)
    await check_staff_link(session, staff_member_id, None)
    invitations = Invitation.__table__.c
    now = utcnow()
    await session.execute(
        update(Invitation)
        .where(invitations.email == email, _open())
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    token = new_token()
    invitation = Invitation(
        email=email,
        role=role.value,
        staff_member_id=staff_member_id,
        token=stored_form(token),
        invited_by=invited_by,
        created_at=now,
        expires_at=now + timedelta(seconds=settings.invitation_lifetime_seconds),
    )
    session.add(invitation)
    mail.invitation(session, email, token, role.value, invitation.expires_at)
    await session.commit()
    return invitation


async def open_invitations(session: AsyncSession) -> list[Invitation]:
    """Invitations not yet accepted, revoked or expired, newest first."""
    invitations = Invitation.__table__.c
    statement = select(Invitation).where(_open()).order_by(invitations.created_at.desc())
    return list(await session.scalars(statement))


async def revoke(session: AsyncSession, invitation_id: uuid.UUID) -> bool:
    """Revoke an open invitation; False if there is none by that id."""
    invitations = Invitation.__table__.c
    revoked = await session.scalar(
        update(Invitation)
        .where(invitations.id == invitation_id, _open())
        .values(revoked_at=utcnow())
        .returning(invitations.id)
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    return revoked is not None


async def accept(manager: UserManager, token: str, password: str) -> User:
    """The account an invitation's token opens: active, verified, with the role and staff
    member it names. The claim and the account commit together or not at all."""
    invitations = Invitation.__table__.c
    session = manager.session
    invitation = await session.scalar(
        update(Invitation)
        .where(invitations.token == stored_form(token), _open())
        .values(accepted_at=utcnow())
        .returning(Invitation)
        .execution_options(synchronize_session=False)
    )
    if invitation is None:
        raise InvitationRefused(INVITATION_BAD_TOKEN)
    try:
        account = UserCreate(
            email=invitation.email,
            password=password,
            role=Role(invitation.role),
            staff_member_id=invitation.staff_member_id,
            is_verified=True,
        )
        return await manager.create(account, safe=False)
    except exceptions.InvalidPasswordException as exc:
        await session.rollback()
        raise InvitationRefused(INVITATION_INVALID_PASSWORD, str(exc.reason)) from None
    except exceptions.UserAlreadyExists:
        await session.rollback()
        raise InvitationRefused(INVITATION_USER_ALREADY_EXISTS) from None
    except StaffLinkRefused:
        await session.rollback()
        raise
