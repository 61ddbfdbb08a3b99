from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from zoo.core.entity import Entity
from zoo.core.fields import NAME_MAX_LENGTH, TEXT_MAX_LENGTH

if TYPE_CHECKING:
    from zoo.animals.models import Animal
    from zoo.staff.models import StaffMember


class Exhibit(Entity):
    __tablename__ = "exhibits"
    __table_args__ = (
        Index(None, "name", "id"),
        # Name searches ignoring case, on PostgreSQL (migration 7a3e1c9b2d40).
        Index(
            "ix_exhibits_name_trgm",
            func.lower(text("name")).label("lower_name"),
            postgresql_using="gin",
            postgresql_ops={"lower_name": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
        Index(None, "created_at", "id"),
        Index(None, "location"),
    )

    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))
    description: Mapped[str | None] = mapped_column(String(TEXT_MAX_LENGTH))
    location: Mapped[str | None] = mapped_column(String(TEXT_MAX_LENGTH))

    animals: Mapped[list[Animal]] = relationship(lazy="raise", back_populates="exhibit")
    staff: Mapped[list[StaffMember]] = relationship(lazy="raise", back_populates="exhibit")
