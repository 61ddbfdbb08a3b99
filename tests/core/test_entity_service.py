"""The generic service behaviour, for each of the three entities, on each database."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import BaseModel

from tests.support import factories
from zoo.animals.schemas import AnimalFilter, AnimalUpdate
from zoo.core.errors import InvalidInput, NotFound
from zoo.core.fields import UpdateSchema
from zoo.core.keyset import PageRequest
from zoo.domains import Services
from zoo.exhibits.schemas import ExhibitFilter, ExhibitUpdate
from zoo.staff.schemas import StaffMemberFilter, StaffMemberUpdate


@dataclass
class Entity:
    name: str
    service: Callable[[Services], Any]
    make: Callable[..., Awaitable[Any]]
    update: type[UpdateSchema]
    filter: type[BaseModel]
    text_field: str


ENTITIES = [
    Entity(
        "exhibit", lambda s: s.exhibits, factories.exhibit, ExhibitUpdate, ExhibitFilter, "location"
    ),
    Entity("animal", lambda s: s.animals, factories.animal, AnimalUpdate, AnimalFilter, "species"),
    Entity(
        "staff",
        lambda s: s.staff,
        factories.staff_member,
        StaffMemberUpdate,
        StaffMemberFilter,
        "notes",
    ),
]


@pytest.fixture(params=ENTITIES, ids=[e.name for e in ENTITIES])
def entity(request: pytest.FixtureRequest) -> Entity:
    return request.param  # type: ignore[no-any-return]


async def test_create_trims_and_get_returns_the_row(services: Services, entity: Entity) -> None:
    row = await entity.make(services, name="  Padded Name  ")
    found = await entity.service(services).get(row.id)
    assert found is not None
    assert (found.id, found.name) == (row.id, "Padded Name")
    assert found.created_at.tzinfo is not None
    assert found.deleted_at is None


async def test_get_unknown_is_none(services: Services, entity: Entity) -> None:
    assert await entity.service(services).get(987654) is None


async def test_soft_delete_hides_from_get_list_and_count(
    services: Services, entity: Entity
) -> None:
    service = entity.service(services)
    keep = await entity.make(services)
    gone = await entity.make(services)
    deleted = await service.delete(gone.id)
    assert deleted.deleted_at is not None
    assert await service.get(gone.id) is None
    page = await service.list(None, PageRequest(first=100))
    assert [row.id for row in page.items] == [keep.id]
    assert await service.count(None) == 1


async def test_deleting_twice_is_not_found(services: Services, entity: Entity) -> None:
    service = entity.service(services)
    row = await entity.make(services)
    await service.delete(row.id)
    with pytest.raises(NotFound):
        await service.delete(row.id)


async def test_update_of_deleted_row_is_not_found(services: Services, entity: Entity) -> None:
    service = entity.service(services)
    row = await entity.make(services)
    await service.delete(row.id)
    with pytest.raises(NotFound):
        await service.update(row.id, entity.update(name="New"))


async def test_update_applies_only_sent_fields_and_null_clears(
    services: Services, entity: Entity
) -> None:
    service = entity.service(services)
    row = await entity.make(services, **{entity.text_field: "kept"})
    renamed = await service.update(row.id, entity.update(name="Renamed"))
    assert (renamed.name, getattr(renamed, entity.text_field)) == ("Renamed", "kept")
    assert renamed.updated_at > row.updated_at
    cleared = await service.update(row.id, entity.update.model_validate({entity.text_field: None}))
    assert (cleared.name, getattr(cleared, entity.text_field)) == ("Renamed", None)
    stored = await service.get(row.id)
    assert (stored.name, getattr(stored, entity.text_field)) == ("Renamed", None)


def test_name_cannot_be_cleared_or_blank(entity: Entity) -> None:
    from zoo.core.fields import parse

    with pytest.raises(InvalidInput) as cleared:
        parse(entity.update, {"name": None})
    assert cleared.value.fields == {"name": "cannot be cleared"}
    with pytest.raises(InvalidInput) as blank:
        parse(entity.update, {"name": "   "})
    assert set(blank.value.fields) == {"name"}
    with pytest.raises(InvalidInput) as long:
        parse(entity.update, {"name": "x" * 201, entity.text_field: "y" * 2001})
    assert set(long.value.fields) == {"name", entity.text_field}


async def test_list_filters_by_name_case_insensitively(services: Services, entity: Entity) -> None:
    service = entity.service(services)
    match = await entity.make(services, name="Ölgemälde ZEBRA 100%")
    await entity.make(services, name="Something else")
    where_cls = entity.filter
    for text in ["zebra", "ÖLGEMÄLDE", "100%"]:
        page = await service.list(where_cls(name_contains=text), PageRequest())
        assert [row.id for row in page.items] == [match.id], text
        assert await service.count(where_cls(name_contains=text)) == 1
    page = await service.list(where_cls(name_contains="_"), PageRequest())
    assert page.items == []
