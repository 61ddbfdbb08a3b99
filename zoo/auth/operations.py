from __future__ import annotations

import strawberry

from zoo.auth.types import UserType
from zoo.graphql.context import Info


@strawberry.type
class UserQuery:
    @strawberry.field(description="The logged-in user, or null.")
    def me(self, info: Info) -> UserType | None:
        return info.context.user  # type: ignore[return-value]
