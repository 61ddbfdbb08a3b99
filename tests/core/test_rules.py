"""The referential rules, which live in the services."""

from __future__ import annotations

import pytest

from tests.support import factories
from zoo.animals.schemas import AnimalCreate, AnimalUpdate
from zoo.core.errors import InvalidInput
from zoo.core.keyset import PageRequest
from zoo.domains import Services
from zoo.staff.schemas import StaffMemberCreate, StaffMemberUpdate


async def test_animal_needs_a_live_exhibit(services: Services) -> None:
    exhibit = await factories.exhibit(services)
    await services.exhibits.delete(exhibit.id)
    for exhibit_id in (exhibit.id, 424242):
        with pytest.raises(InvalidInput) as refused:
            await services.animals.create(AnimalCreate(name="Lost", exhibit_id=exhibit_id))
        assert set(refused.value.fields) == {"exhibit_id"}
    assert await services.animals.count(None) == 0


async def test_staff_needs_a_live_exhibit(services: Services) -> None:
    member = await factories.staff_member(services)
    with pytest.raises(InvalidInput) as refused:
        await services.staff.update(member.id, StaffMemberUpdate(exhibit_id=424242))
    assert set(refused.value.fields) == {"exhibit_id"}
    with pytest.raises(InvalidInput):
        await services.staff.create(StaffMemberCreate(name="Lost", exhibit_id=424242))
    stored = await services.staff.get(member.id)
    assert stored is not None
    assert stored.exhibit_id is None


async def test_moving_an_animal_between_exhibits(services: Services) -> None:
    first = await factories.exhibit(services)
    second = await factories.exhibit(services)
    animal = await factories.animal(services, exhibit_id=first.id)
    moved = await services.animals.update(animal.id, AnimalUpdate(exhibit_id=second.id))
    assert moved.exhibit_id == second.id
    unhoused = await services.animals.update(
        animal.id, AnimalUpdate.model_validate({"exhibit_id": None})
    )
    assert unhoused.exhibit_id is None


@pytest.mark.parametrize("dependant", ["animal", "staff"])
async def test_exhibit_with_live_dependants_cannot_be_deleted(
    services: Services, dependant: str
) -> None:
    exhibit = await factories.exhibit(services)
    make = factories.animal if dependant == "animal" else factories.staff_member
    row = await make(services, exhibit_id=exhibit.id)
    with pytest.raises(InvalidInput):
        await services.exhibits.delete(exhibit.id)
    stored = await services.exhibits.get(exhibit.id)
    assert stored is not None
    assert stored.deleted_at is None
    # Once the dependant is gone, the exhibit can go too.
    service = services.animals if dependant == "animal" else services.staff
    await service.delete(row.id)
    await services.exhibits.delete(exhibit.id)
    assert (await services.exhibits.list(None, PageRequest())).items == []
