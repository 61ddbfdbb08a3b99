from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import Field

from zoo.core.fields import FilterText, Name, NameUpdate, ReadSchema, Schema, Text, UpdateSchema
from zoo.core.where import DateTimeCondition, IntCondition, StringCondition, Where

if TYPE_CHECKING:
    from zoo.exhibits.schemas import ExhibitWhere

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


class AnimalWhere(Where):
    """Which animals a list holds (see :mod:`zoo.core.where`); completed by
    ``zoo.exhibits.schemas``, which defines the exhibit's where it refers to."""

    id: IntCondition | None = None
    name: StringCondition | None = None
    description: StringCondition | None = None
    species: StringCondition | None = None
    exhibit_id: IntCondition | None = None
    created_at: DateTimeCondition | None = None
    updated_at: DateTimeCondition | None = None
    exhibit: ExhibitWhere | None = Field(None, description="The live exhibit housing it matches.")
