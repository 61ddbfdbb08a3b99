from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from zoo.core.entity import Entity
from zoo.core.fields import NAME_MAX_LENGTH, TEXT_MAX_LENGTH

if TYPE_CHECKING:
    from zoo.exhibits.models import Exhibit


class StaffMember(Entity):
    __tablename__ = "staff"
    __table_args__ = (
        Index(None, "name", "id"),
        # Name searches ignoring case, on PostgreSQL (migration 7a3e1c9b2d40).
        Index(
            "ix_staff_name_trgm",
            func.lower(text("name")).label("lower_name"),
            postgresql_using="gin",
            postgresql_ops={"lower_name": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
        Index(None, "created_at", "id"),
        Index(None, "exhibit_id", "id"),
        Index(None, "job_title"),
    )

    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))
    job_title: Mapped[str | None] = mapped_column(String(TEXT_MAX_LENGTH))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(TEXT_MAX_LENGTH))
    notes: Mapped[str | None] = mapped_column(String(TEXT_MAX_LENGTH))
    exhibit_id: Mapped[int | None] = mapped_column(ForeignKey("exhibits.id"))

    exhibit: Mapped[Exhibit | None] = relationship(lazy="raise", back_populates="staff")
