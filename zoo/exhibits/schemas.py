from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from zoo.core.fields import FilterText, Name, NameUpdate, ReadSchema, Schema, Text, UpdateSchema

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
