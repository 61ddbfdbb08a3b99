from __future__ import annotations

import uuid
from enum import StrEnum

from pydantic import Field

from zoo.core.fields import Schema
from zoo.core.where import Moment
from zoo.events.broker import ChangeKind


class ChangeEntity(StrEnum):
    """The kinds of row the change log keeps (values: the log's entity names)."""

    EXHIBIT = "Exhibit"
    ANIMAL = "Animal"
    STAFF_MEMBER = "StaffMember"


class ChangeWhere(Schema):
    """Which changes an audit list shows. Every field given applies."""

    entity: ChangeEntity | None = Field(None, description="Changes to this kind of row.")
    kind: ChangeKind | None = Field(None, description="Changes of this kind.")
    actor_id: uuid.UUID | None = Field(None, description="Changes this user made.")
    after: Moment | None = Field(None, description="Changes made after this time.")
    before: Moment | None = Field(None, description="Changes made before this time.")
