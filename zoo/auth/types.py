from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from zoo.auth.schemas import InvitationRead, UserRead
from zoo.core.roles import Role
from zoo.graphql.context import Info, deferred
from zoo.graphql.inputs import orm_backed

if TYPE_CHECKING:
    from zoo.staff.types import StaffMemberType

RoleEnum = strawberry.enum(
    Role,
    name="Role",
    description="What a user may read and change: VISITOR < KEEPER < CURATOR < ADMIN; "
    "each role has every power of the ones below it.",
)


def linked_staff_member(info: Info, staff_member_id: int | None) -> Any:
    """The live staff member a user (or an invitation) names, through the request's loader."""
    if staff_member_id is None:
        return None
    return deferred(info.context.loaders.staff_member_by_id.load(staff_member_id))


@orm_backed
@strawberry.experimental.pydantic.type(
    model=UserRead, name="User", description="Someone who can log in."
)
class UserType:
    email: strawberry.auto
    is_active: strawberry.auto
    is_superuser: strawberry.auto
    is_verified: strawberry.auto

    @strawberry.field(description="Opaque user identifier.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.id))

    @strawberry.field(description="What the user may read and change.")
    def role(self) -> RoleEnum:  # type: ignore[valid-type]
        return Role(self.role)

    @strawberry.field(
        description="The live staff member the user works as (a keeper's exhibit), or null."
    )
    def staff_member(
        self, info: Info
    ) -> Annotated[StaffMemberType, strawberry.lazy("zoo.staff.types")] | None:
        return linked_staff_member(info, self.staff_member_id)  # type: ignore[attr-defined, no-any-return]


@orm_backed
@strawberry.experimental.pydantic.type(
    model=InvitationRead,
    name="Invitation",
    description="An ADMIN's open invitation to open an account (its link is mailed).",
)
class InvitationType:
    email: strawberry.auto
    created_at: strawberry.auto
    expires_at: strawberry.auto

    @strawberry.field(description="Opaque invitation identifier.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.id))

    @strawberry.field(description="The role the account will have.")
    def role(self) -> RoleEnum:  # type: ignore[valid-type]
        return Role(self.role)

    @strawberry.field(description="The staff member the account will work as, or null.")
    def staff_member(
        self, info: Info
    ) -> Annotated[StaffMemberType, strawberry.lazy("zoo.staff.types")] | None:
        return linked_staff_member(info, self.staff_member_id)  # type: ignore[attr-defined, no-any-return]
