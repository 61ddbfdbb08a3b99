from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

from pydantic import BeforeValidator, EmailStr, Field

from zoo.core.fields import FilterText, Name, NameUpdate, ReadSchema, Schema, Text, UpdateSchema
from zoo.core.where import DateTimeCondition, IntCondition, StringCondition, Where

if TYPE_CHECKING:
    from zoo.exhibits.schemas import ExhibitWhere

NAME = "The staff member's full name, 1 to 200 characters."
JOB_TITLE = "What they do here."
EMAIL = "A valid work email address."
PHONE = "A phone number, as they write it."
NOTES = "Anything else worth knowing."
EXHIBIT_ID = "The live exhibit they are assigned to, if any."


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


Email = Annotated[EmailStr, BeforeValidator(_strip)]


class StaffMemberOrderField(StrEnum):
    ID = "id"
    NAME = "name"
    CREATED_AT = "created_at"


class StaffMemberCreate(Schema):
    name: Name = Field(description=NAME)
    job_title: Text | None = Field(None, description=JOB_TITLE)
    email: Email | None = Field(None, description=EMAIL)
    phone: Text | None = Field(None, description=PHONE)
    notes: Text | None = Field(None, description=NOTES)
    exhibit_id: int | None = Field(None, description=EXHIBIT_ID)


class StaffMemberUpdate(UpdateSchema):
    name: NameUpdate = Field(None, description=NAME)
    job_title: Text | None = Field(None, description=JOB_TITLE)
    email: Email | None = Field(None, description=EMAIL)
    phone: Text | None = Field(None, description=PHONE)
    notes: Text | None = Field(None, description=NOTES)
    exhibit_id: int | None = Field(None, description=EXHIBIT_ID)


CONTACT_READERS = " Readable by KEEPER, CURATOR and ADMIN; null and FORBIDDEN below."


class StaffMemberRead(ReadSchema):
    name: str = Field(description=NAME)
    job_title: str | None = Field(None, description=JOB_TITLE)
    email: str | None = Field(None, description=EMAIL + CONTACT_READERS)
    phone: str | None = Field(None, description=PHONE + CONTACT_READERS)
    notes: str | None = Field(None, description=NOTES + CONTACT_READERS)
    exhibit_id: int | None = Field(None, description=EXHIBIT_ID)


class StaffMemberFilter(Schema):
    name_contains: FilterText | None = Field(
        None, description="Only staff whose name contains this, ignoring case."
    )
    job_title: FilterText | None = Field(
        None, description="Only staff with exactly this job title."
    )
    exhibit_id: int | None = Field(None, description="Only staff assigned to this exhibit.")


class StaffMemberWhere(Where):
    """Which staff a list holds (see :mod:`zoo.core.where`); completed by
    ``zoo.exhibits.schemas``, which defines the exhibit's where it refers to."""

    id: IntCondition | None = None
    name: StringCondition | None = None
    job_title: StringCondition | None = None
    email: StringCondition | None = None
    phone: StringCondition | None = None
    notes: StringCondition | None = None
    exhibit_id: IntCondition | None = None
    created_at: DateTimeCondition | None = None
    updated_at: DateTimeCondition | None = None
    exhibit: ExhibitWhere | None = Field(None, description="The live exhibit they work in matches.")
