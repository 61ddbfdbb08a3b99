from __future__ import annotations

import strawberry

from zoo.auth.schemas import UserRead
from zoo.graphql.inputs import orm_backed


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
