"""The domains of one app: their services, built once around its database, and the
DataLoaders each request gets afresh. Where every domain is wired in, as
``graphql/schema.py`` is for their GraphQL types."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import Any

from strawberry.dataloader import DataLoader

from zoo.animals.loaders import (
    animal_count_by_exhibit_id,
    animals_by_exhibit_id,
    animals_by_exhibit_id_where,
    animals_by_id,
)
from zoo.animals.models import Animal
from zoo.animals.service import AnimalService
from zoo.auth.account_mail import AccountMail
from zoo.auth.loaders import users_by_id
from zoo.auth.models import User
from zoo.core.batch_queries import Wanted
from zoo.core.group_sizes import GroupSizes
from zoo.core.summaries import SummaryRequest, load_summaries
from zoo.core.where import WhereKey
from zoo.events.broker import Broker
from zoo.events.change_log import LoggedChange
from zoo.events.retention import LogPolicy
from zoo.exhibits.loaders import exhibits_by_id
from zoo.exhibits.models import Exhibit
from zoo.exhibits.service import ExhibitService
from zoo.graphql.context import HandoverLoader
from zoo.history.loaders import history_pages
from zoo.history.service import HistoryKey
from zoo.staff.loaders import staff_by_exhibit_id, staff_by_exhibit_id_where, staff_members_by_id
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
    account_mail: AccountMail | None = None
    """Where invitations made over GraphQL are mailed from; None: no mail (the CLI)."""
    log_policy: LogPolicy = field(default_factory=LogPolicy)
    """How long the change log keeps changes, and how far back a subscription resumes."""

    @classmethod
    def build(
        cls,
        database: Database,
        events: Broker | None = None,
        group_sizes_max_age: float = 60.0,
        account_mail: AccountMail | None = None,
        log_policy: LogPolicy | None = None,
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
            account_mail=account_mail,
            log_policy=log_policy or LogPolicy(),
        )

    def new_loaders(self) -> Loaders:
        """DataLoaders for one request: nothing cached across requests or users."""
        return Loaders(self.database)


class Loaders:
    """Fresh for every request, so nothing is cached across requests or users.

    Each loader is made on first use: most requests read through one or two.
    Lists of related rows are handed over rather than cached: they can be
    large, and a second load of the same key in the same tick still shares
    the batch's one statement.
    """

    def __init__(self, database: Database) -> None:
        self._database = database

    @cached_property
    def history(self) -> DataLoader[HistoryKey, list[LoggedChange]]:
        return DataLoader(partial(history_pages, self._database))

    @cached_property
    def user_by_id(self) -> DataLoader[uuid.UUID, User | None]:
        return DataLoader(partial(users_by_id, self._database))

    @cached_property
    def summaries(self) -> DataLoader[SummaryRequest, Any]:
        return DataLoader(load_summaries)

    @cached_property
    def exhibit_by_id(self) -> DataLoader[int, Exhibit | None]:
        return DataLoader(partial(exhibits_by_id, self._database))

    @cached_property
    def animal_by_id(self) -> DataLoader[int, Animal | None]:
        return DataLoader(partial(animals_by_id, self._database))

    @cached_property
    def staff_member_by_id(self) -> DataLoader[int, StaffMember | None]:
        return DataLoader(partial(staff_members_by_id, self._database))

    @cached_property
    def animals_by_exhibit_id(self) -> HandoverLoader[tuple[int, Wanted], list[Animal]]:
        return HandoverLoader(partial(animals_by_exhibit_id, self._database))

    @cached_property
    def animals_by_exhibit_id_where(
        self,
    ) -> DataLoader[tuple[int, Wanted, WhereKey], list[Animal]]:
        return DataLoader(partial(animals_by_exhibit_id_where, self._database), cache=False)

    @cached_property
    def staff_by_exhibit_id_where(
        self,
    ) -> DataLoader[tuple[int, Wanted, WhereKey], list[StaffMember]]:
        return DataLoader(partial(staff_by_exhibit_id_where, self._database), cache=False)

    @cached_property
    def animal_count_by_exhibit_id(self) -> DataLoader[int, int]:
        return DataLoader(partial(animal_count_by_exhibit_id, self._database))

    @cached_property
    def staff_by_exhibit_id(self) -> HandoverLoader[tuple[int, Wanted], list[StaffMember]]:
        return HandoverLoader(partial(staff_by_exhibit_id, self._database))
