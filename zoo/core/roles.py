"""Who a caller is to the zoo: a role, ranked, and the staff member they may act as.

``VISITOR`` < ``KEEPER`` < ``CURATOR`` < ``ADMIN``. A role includes every power of
the roles below it. ``ADMIN`` is fastapi-users' ``is_superuser``, kept in step.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    VISITOR = "VISITOR"
    KEEPER = "KEEPER"
    CURATOR = "CURATOR"
    ADMIN = "ADMIN"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def includes(self, other: Role) -> bool:
        """Whether this role has every power of ``other``."""
        return self.rank >= other.rank


_RANKS = {role: rank for rank, role in enumerate(Role)}

SELF_REGISTERED = Role.VISITOR
"""The role of an account its owner made (``POST /auth/register``)."""


@dataclass(frozen=True, slots=True)
class Actor:
    """The logged-in user a service acts for: what the row rules need of them."""

    role: Role
    staff_member_id: int | None = None
    user_id: uuid.UUID | None = None
    """Who the change log names as the change's author."""
