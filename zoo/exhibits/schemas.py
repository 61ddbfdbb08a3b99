from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from zoo.animals.schemas import AnimalWhere
from zoo.core.fields import FilterText, Name, NameUpdate, ReadSchema, Schema, Text, UpdateSchema
from zoo.core.where import DateTimeCondition, IntCondition, StringCondition, ToManyWhere, Where
from zoo.staff.schemas import StaffMemberWhere

NAME = "The exhibit's name, 1 to 200 characters."
DESCRIPTION = "What visitors see there."
LOCATION = "Where in the zoo (or the world) the exhibit is."


class ExhibitOrderField(StrEnum):
    ID = "id"
    NAME = "name"
    CREATED_AT = "created_at"


class ExhibitCreate(Schema):
    name: Name = Field(description=NAME)
    description: Text | None = Field(None, description=DESCRIPTION)
    location: Text | None = Field(None, description=LOCATION)


class ExhibitUpdate(UpdateSchema):
    name: NameUpdate = Field(None, description=NAME)
    description: Text | None = Field(None, description=DESCRIPTION)
    location: Text | None = Field(None, description=LOCATION)


class ExhibitRead(ReadSchema):
    name: str = Field(description=NAME)
    description: str | None = Field(None, description=DESCRIPTION)
    location: str | None = Field(None, description=LOCATION)


class ExhibitFilter(Schema):
    name_contains: FilterText | None = Field(
        None, description="Only exhibits whose name contains this, ignoring case."
    )
    location: FilterText | None = Field(None, description="Only exhibits at exactly this location.")


class ExhibitAnimalsWhere(ToManyWhere):
    some: AnimalWhere | None = Field(None, description="At least one live animal here matches.")
    none: AnimalWhere | None = Field(None, description="No live animal here matches.")


class ExhibitStaffWhere(ToManyWhere):
    some: StaffMemberWhere | None = Field(None, description="At least one of its staff matches.")
    none: StaffMemberWhere | None = Field(None, description="None of its staff matches.")


class ExhibitWhere(Where):
    """Which exhibits a list holds (see :mod:`zoo.core.where`)."""

    id: IntCondition | None = None
    name: StringCondition | None = None
    description: StringCondition | None = None
    location: StringCondition | None = None
    created_at: DateTimeCondition | None = None
    updated_at: DateTimeCondition | None = None
    animals: ExhibitAnimalsWhere | None = None
    staff: ExhibitStaffWhere | None = None


# The animal's and staff member's wheres refer to the exhibit's, defined only now.
AnimalWhere.model_rebuild(_types_namespace={"ExhibitWhere": ExhibitWhere})
StaffMemberWhere.model_rebuild(_types_namespace={"ExhibitWhere": ExhibitWhere})
