"""Test data built through the services, with unique names; never seeded ids."""

from __future__ import annotations

import itertools
from typing import Any

from zoo.animals.models import Animal
from zoo.animals.schemas import AnimalCreate
from zoo.domains import Services
from zoo.exhibits.models import Exhibit
from zoo.exhibits.schemas import ExhibitCreate
from zoo.staff.models import StaffMember
from zoo.staff.schemas import StaffMemberCreate

_sequence = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix} {next(_sequence)}"


async def exhibit(services: Services, **values: Any) -> Exhibit:
    values.setdefault("name", unique("Exhibit"))
    return await services.exhibits.create(ExhibitCreate(**values))


async def animal(services: Services, **values: Any) -> Animal:
    values.setdefault("name", unique("Animal"))
    return await services.animals.create(AnimalCreate(**values))


async def staff_member(services: Services, **values: Any) -> StaffMember:
    values.setdefault("name", unique("Keeper"))
    return await services.staff.create(StaffMemberCreate(**values))
