"""Concurrent writers wait their turn instead of failing, and nothing acknowledged is lost."""

from __future__ import annotations

import asyncio

from tests.support import factories
from tests.support.accounts import Account
from tests.support.clients import GraphQL
from zoo.animals.schemas import AnimalUpdate
from zoo.domains import Services

CREATE = "mutation($name: String!) { createAnimal(input: {name: $name}) { id name } }"


async def test_fifty_concurrent_creates_all_land(gql: GraphQL, user: Account) -> None:
    names = [f"Concurrent {index}" for index in range(50)]
    results = await asyncio.gather(
        *(gql.data(CREATE, {"name": name}, token=user.token) for name in names)
    )
    created = {r["createAnimal"]["name"]: r["createAnimal"]["id"] for r in results}
    assert sorted(created) == sorted(names)
    assert len(set(created.values())) == 50
    listed = await gql.data("{ animals(first: 100) { totalCount edges { node { name } } } }")
    assert listed["animals"]["totalCount"] == 50
    assert sorted(e["node"]["name"] for e in listed["animals"]["edges"]) == sorted(names)


async def test_concurrent_updates_of_different_fields_both_survive(services: Services) -> None:
    """Last writer wins per field: an update only writes the fields it was sent."""
    animal = await factories.animal(services, name="Original", species="Old")
    for round_ in range(5):
        await asyncio.gather(
            services.animals.update(animal.id, AnimalUpdate(name=f"Name {round_}")),
            services.animals.update(animal.id, AnimalUpdate(species=f"Species {round_}")),
            services.animals.update(animal.id, AnimalUpdate(description=f"About {round_}")),
        )
        stored = await services.animals.get(animal.id)
        assert stored is not None
        assert (stored.name, stored.species, stored.description) == (
            f"Name {round_}",
            f"Species {round_}",
            f"About {round_}",
        )
