from __future__ import annotations

import uuid

import strawberry
from pydantic import ValidationError

from zoo.auth.schemas import UserUpdate
from zoo.auth.service import count_users, update_user, users_page
from zoo.auth.types import RoleEnum, UserType
from zoo.core.errors import InvalidInput
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


@strawberry.type
class UserMutation:
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
