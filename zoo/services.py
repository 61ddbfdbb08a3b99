"""The domain services of one app, built once around its database."""

from __future__ import annotations

from dataclasses import dataclass

from zoo.animals.service import AnimalService
from zoo.core.events import Broker
from zoo.db import Database
from zoo.exhibits.service import ExhibitService
from zoo.staff.service import StaffService


@dataclass(frozen=True, slots=True)
class Services:
    database: Database
    events: Broker
    exhibits: ExhibitService
    animals: AnimalService
    staff: StaffService

    @classmethod
    def build(cls, database: Database, events: Broker | None = None) -> Services:
        events = events or Broker()
        return cls(
            database=database,
            events=events,
            exhibits=ExhibitService(database, events),
            animals=AnimalService(database, events),
            staff=StaffService(database, events),
        )
