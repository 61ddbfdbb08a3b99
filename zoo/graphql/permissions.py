"""Who may call what, declared on each field; checked nowhere else.

Writes need a role (``RoleAtLeast``): anonymous callers are ``UNAUTHENTICATED``, a
logged-in user without the role ``FORBIDDEN``. Gated reads (``Reads``) are
``FORBIDDEN`` to anyone below the role, anonymous included: logging in would not be
enough by itself. The row rules a role carries (a keeper's exhibit) live in the
services, which get the caller as an ``Actor``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, ClassVar

from strawberry.permission import BasePermission

from zoo.core.errors import ErrorCode, Forbidden, Unauthenticated
from zoo.core.roles import Actor, Role
from zoo.graphql.context import Info


def _active_user_or_raise(info: Info) -> Any:
    user = info.context.user
    if user is None:
        raise Unauthenticated("Log in to do this: send a bearer token or the zoo-auth cookie")
    if not user.is_active:
        raise Forbidden("This account is inactive")
    return user


def role_of(user: Any) -> Role:
    """The role of a logged-in user; VISITOR for anonymous and inactive callers."""
    if user is None or not user.is_active:
        return Role.VISITOR
    return Role(user.role)


def actor_of(info: Info) -> Actor:
    """The caller as the services' row rules see them (a permission class ran first)."""
    user = info.context.user
    return Actor(role_of(user), getattr(user, "staff_member_id", None), getattr(user, "id", None))


class RoleAtLeast(BasePermission):
    """A write for ``minimum`` and the roles above it."""

    minimum: ClassVar[Role]
    scope: ClassVar[str] = "yes"
    """What ``minimum`` itself may do (a row rule narrows it); the roles above: yes."""
    message = "Your role does not allow this"
    error_extensions = {"code": ErrorCode.FORBIDDEN.value}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        user = _active_user_or_raise(info)
        if not Role(user.role).includes(self.minimum):
            raise Forbidden(f"Only a {self.minimum.value} or above may do this")
        return True


class IsKeeper(RoleAtLeast):
    """A keeper writes only within their own exhibit (the service's row rule)."""

    minimum = Role.KEEPER
    scope = "own exhibit"


class IsCurator(RoleAtLeast):
    minimum = Role.CURATOR


class IsAdmin(RoleAtLeast):
    minimum = Role.ADMIN


class Reads(BasePermission):
    """A field readable by ``minimum`` and above: below, it is null with a ``FORBIDDEN``
    error at its path, and the rest of the answer is delivered."""

    minimum: ClassVar[Role]
    message = "Your role may not read this field"
    error_extensions = {"code": ErrorCode.FORBIDDEN.value}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return role_of(info.context.user).includes(self.minimum)


class KeepersRead(Reads):
    minimum = Role.KEEPER


class AdminsRead(Reads):
    minimum = Role.ADMIN


@lru_cache(maxsize=32)
def read_gates(of: type) -> dict[str, Role]:
    """The fields of a GraphQL object type gated by a :class:`Reads` permission (by
    Python name), with the role each needs."""
    return {
        field.python_name: permission.minimum
        for field in of.__strawberry_definition__.fields  # type: ignore[attr-defined]
        for permission in field.permission_classes
        if issubclass(permission, Reads)
    }
