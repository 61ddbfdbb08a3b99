from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from zoo.core.fields import FilterText, Name, NameUpdate, ReadSchema, Schema, Text, UpdateSchema

NAME = "The animal's name, 1 to 200 characters."
DESCRIPTION = "A few words about the animal."
SPECIES = "Scientific or common species name."
EXHIBIT_ID = "The live exhibit housing the animal, if any."


class AnimalOrderField(StrEnum):
    ID = "id"
    NAME = "name"
    SPECIES = "species"
    CREATED_AT = "created_at"


class AnimalCreate(Schema):
    name: Name = Field(description=NAME)
    description: Text | None = Field(None, description=DESCRIPTION)
    species: Text | None = Field(None, description=SPECIES)
    exhibit_id: int | None = Field(None, description=EXHIBIT_ID)


class AnimalUpdate(UpdateSchema):
    name: NameUpdate = Field(None, description=NAME)
    description: Text | None = Field(None, description=DESCRIPTION)
    species: Text | None = Field(None, description=SPECIES)
    exhibit_id: int | None = Field(None, description=EXHIBIT_ID)


class AnimalRead(ReadSchema):
    name: str = Field(description=NAME)
    description: str | None = Field(None, description=DESCRIPTION)
    species: str | None = Field(None, description=SPECIES)
    exhibit_id: int | None = Field(None, description=EXHIBIT_ID)


class AnimalFilter(Schema):
    name_contains: FilterText | None = Field(
        None, description="Only animals whose name contains this, ignoring case."
    )
    species: FilterText | None = Field(None, description="Only animals of exactly this species.")
    exhibit_id: int | None = Field(None, description="Only animals housed in this exhibit.")
