"""The domain services of one app, built once around its database."""

from __future__ import annotations

from dataclasses import dataclass

from zoo.animals.models import Animal
from zoo.animals.service import AnimalService
from zoo.core.group_sizes import GroupSizes
from zoo.events.broker import Broker
from zoo.exhibits.service import ExhibitService
from zoo.staff.models import StaffMember
from zoo.staff.service import StaffService
from zoo.storage.database import Database


@dataclass(frozen=True, slots=True)
class Services:
    database: Database
    events: Broker
    exhibits: ExhibitService
    animals: AnimalService
    staff: StaffService
    group_sizes: GroupSizes

    @classmethod
    def build(
        cls, database: Database, events: Broker | None = None, group_sizes_max_age: float = 60.0
    ) -> Services:
        events = events or Broker()
        # The lists a query can nest without `first` (exhibit.animals, exhibit.staff).
        group_sizes = GroupSizes(
            database,
            group_sizes_max_age,
            {
                AnimalService.entity_name: Animal.exhibit_id,
                StaffService.entity_name: StaffMember.exhibit_id,
            },
        )
        events.listeners.append(group_sizes.note)
        events.gap_listeners.append(group_sizes.forget)
        return cls(
            database=database,
            events=events,
            group_sizes=group_sizes,
            exhibits=ExhibitService(database, events),
            animals=AnimalService(database, events),
            staff=StaffService(database, events),
        )
