"""The domain services of one app, built once around its database."""

from __future__ import annotations

from dataclasses import dataclass

from zoo.animals.service import AnimalService
from zoo.db import Database
from zoo.exhibits.service import ExhibitService
from zoo.staff.service import StaffService


@dataclass(frozen=True, slots=True)
class Services:
    database: Database
    exhibits: ExhibitService
    animals: AnimalService
    staff: StaffService

    @classmethod
    def build(cls, database: Database) -> Services:
        return cls(
            database=database,
            exhibits=ExhibitService(database),
            animals=AnimalService(database),
            staff=StaffService(database),
        )
