"""``/users/invitations``: an ADMIN invites, lists the open invitations and revokes one."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, HTTPException, Response, status

from zoo.auth.invitations import (
    REGISTRATION_CLOSED,
    InvitationRefused,
    invite,
    open_invitations,
    revoke,
)
from zoo.auth.manager import UserManager
from zoo.auth.models import User
from zoo.auth.schemas import InvitationCreate, InvitationRead
from zoo.auth.users import Auth


def invitations_router(auth: Auth) -> APIRouter:
    router = APIRouter(prefix="/users/invitations", tags=["users"])
    admin = auth.users.current_user(active=True, superuser=True)
    user_manager = auth.users.get_user_manager

    @router.post("", status_code=201, response_model=InvitationRead)
    async def create_invitation(
        body: InvitationCreate,
        user: User = Depends(admin),
        manager: UserManager = Depends(user_manager),
    ) -> InvitationRead:
        """Invite someone by e-mail, with a role (and a staff member): they get a link."""
        assert auth.mail is not None
        try:
            invitation = await invite(
                manager, auth.mail, user.id, body.email, body.role, body.staff_member_id
            )
        except InvitationRefused as exc:
            closed = exc.code == REGISTRATION_CLOSED
            code = status.HTTP_403_FORBIDDEN if closed else status.HTTP_400_BAD_REQUEST
            raise HTTPException(code, detail=exc.code) from None
        return InvitationRead.model_validate(invitation)

    @router.get("", response_model=list[InvitationRead], dependencies=[Depends(admin)])
    async def list_invitations(
        manager: UserManager = Depends(user_manager),
    ) -> list[InvitationRead]:
        """The invitations not yet accepted, revoked or expired, newest first."""
        invitations = await open_invitations(manager.session)
        return [InvitationRead.model_validate(invitation) for invitation in invitations]

    @router.delete("/{id}", status_code=204, dependencies=[Depends(admin)])
    async def revoke_invitation(
        id: uuid.UUID, manager: UserManager = Depends(user_manager)
    ) -> Response:
        """Revoke an open invitation: its link stops working."""
        if not await revoke(manager.session, id):
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Not Found")
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    return router
