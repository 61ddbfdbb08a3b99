from __future__ import annotations

import uuid

import strawberry
from pydantic import ValidationError

from zoo.auth.schemas import InvitationCreate, UserUpdate
from zoo.auth.service import count_users, invite_user, list_invitations, update_user, users_page
from zoo.auth.types import InvitationType, RoleEnum, UserType
from zoo.core.errors import Forbidden, InvalidInput
from zoo.core.fields import invalid_input
from zoo.core.keyset import DEFAULT_PAGE_SIZE, PageRequest
from zoo.core.roles import Role
from zoo.graphql.connections import Connection
from zoo.graphql.context import Info
from zoo.graphql.inputs import unwrap
from zoo.graphql.permissions import IsAdmin


@strawberry.input(name="UserFilter", description="emailContains matches case-insensitively.")
class UserFilterInput:
    email_contains: str | None = None
    role: RoleEnum | None = None  # type: ignore[valid-type]


@strawberry.input(
    name="UpdateUserInput",
    description="A field left out is unchanged; staffMemberId null unlinks.",
)
class UpdateUserInput:
    role: strawberry.Maybe[RoleEnum]  # type: ignore[valid-type]
    staff_member_id: strawberry.Maybe[int | None]
    is_active: strawberry.Maybe[bool]


@strawberry.input(
    name="InviteUserInput",
    description="Who to invite, as what: VISITOR, KEEPER or CURATOR (never ADMIN: promote "
    "an existing user instead), and the staff member they work as.",
)
class InviteUserInput:
    email: str
    role: RoleEnum = Role.VISITOR  # type: ignore[valid-type]
    staff_member_id: int | None = None


@strawberry.type
class UserQuery:
    @strawberry.field(description="The logged-in user, or null.")
    def me(self, info: Info) -> UserType | None:
        return info.context.user  # type: ignore[return-value]

    @strawberry.field(permission_classes=[IsAdmin], description="Needs ADMIN. Users by email.")
    async def users(
        self,
        info: Info,
        first: int | None = DEFAULT_PAGE_SIZE,
        after: strawberry.Maybe[str | None] = None,
        filter: strawberry.Maybe[UserFilterInput | None] = None,
    ) -> Connection[UserType]:
        given = unwrap(filter)
        contains = given.email_contains if given else None
        role = Role(given.role) if given and given.role else None
        request = PageRequest(
            first=DEFAULT_PAGE_SIZE if first is None else first, after=unwrap(after)
        )
        database = info.context.services.database
        page = await users_page(database, request, contains, role)
        return await Connection.of_page(
            info,
            page,  # type: ignore[arg-type]
            lambda: count_users(database, contains, role),
        )

    @strawberry.field(
        permission_classes=[IsAdmin],
        description="Needs ADMIN. Invitations not yet accepted, revoked or expired, newest first.",
    )
    async def invitations(self, info: Info) -> list[InvitationType]:
        return await list_invitations(info.context.services.database)  # type: ignore[return-value]


@strawberry.type
class UserMutation:
    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Needs ADMIN. Invite someone by e-mail: they are mailed a link to open "
        "their account, with the role and staff member given. A new invitation to an "
        "address replaces its open ones.",
    )
    async def invite_user(self, info: Info, input: InviteUserInput) -> InvitationType:
        services = info.context.services
        if services.account_mail is None:
            raise Forbidden("invitations need mail, which this server has not set up")
        try:
            invitation = InvitationCreate(
                email=input.email, role=Role(input.role), staff_member_id=input.staff_member_id
            )
        except ValidationError as exc:
            raise invalid_input(exc) from None
        user = info.context.user
        made = await invite_user(
            services.database, services.account_mail, user.id if user else None, invitation
        )
        return made  # type: ignore[return-value]

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Needs ADMIN. A user's role, staff member and activation; applied to "
        "their open sockets and subscriptions at once.",
    )
    async def update_user(self, info: Info, id: strawberry.ID, input: UpdateUserInput) -> UserType:
        try:
            user_id = uuid.UUID(str(id))
        except ValueError:
            raise InvalidInput.for_field("id", "is not a user id") from None
        changes = {
            name: value.value
            for name, value in (
                ("role", input.role),
                ("staff_member_id", input.staff_member_id),
                ("is_active", input.is_active),
            )
            if value is not None
        }
        try:
            update = UserUpdate(**changes)
        except ValidationError as exc:
            raise invalid_input(exc) from None
        services = info.context.services
        user = await update_user(services.database, services.events, user_id, update)
        return user  # type: ignore[return-value]
