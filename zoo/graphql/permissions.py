"""Who may call what, declared on each field; checked nowhere else."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission

from zoo.core.errors import ErrorCode, Forbidden, Unauthenticated
from zoo.graphql.context import Info


def _active_user_or_raise(info: Info) -> Any:
    user = info.context.user
    if user is None:
        raise Unauthenticated("Log in to do this: send a bearer token or the zoo-auth cookie")
    if not user.is_active:
        raise Forbidden("This account is inactive")
    return user


class IsActiveUser(BasePermission):
    message = "Log in with an active account to do this"
    error_extensions = {"code": ErrorCode.UNAUTHENTICATED.value}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        _active_user_or_raise(info)
        return True


class IsSuperuser(BasePermission):
    message = "Only a superuser may do this"
    error_extensions = {"code": ErrorCode.FORBIDDEN.value}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return bool(_active_user_or_raise(info).is_superuser)
