"""Demo data for ``zoo seed``: the original zoo API's rows, plus enough animals to page through.

Idempotent: rows are matched by name and only missing ones are created, through
the same services (and so the same rules) as the API.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import func, select

from zoo.animals.models import Animal
from zoo.animals.schemas import AnimalCreate
from zoo.auth.service import create_user
from zoo.core.errors import Conflict
from zoo.core.roles import Role
from zoo.domains import Services
from zoo.exhibits.models import Exhibit
from zoo.exhibits.schemas import ExhibitCreate
from zoo.staff.models import StaffMember
from zoo.staff.schemas import StaffMemberCreate

LOCATION = "North America"

EXHIBITS = [
    ("Big Cat Exhibit", "A big cat exhibit"),
    ("Bird Exhibit", "A bird exhibit"),
    ("Reptile Exhibit", "A reptile exhibit"),
    ("Aquatic Exhibit", "An aquatic exhibit"),
]

STAFF = [
    ("John Doe", "Zookeeper", "Big Cat Exhibit", "great zookeeper, loves cats"),
    ("Jane Doe", "Zookeeper", "Reptile Exhibit", "highly skilled bird keeper"),
]

ANIMALS = [
    ("Lion", "Panthera leo", "Ferocious kitty with mane", "Big Cat Exhibit"),
    ("Tiger", "Panthera tigris", "Ferocious kitty with stripes", "Big Cat Exhibit"),
    ("Cheetah", "Acinonyx jubatus", "Ferocious fast kitty", "Big Cat Exhibit"),
    ("Leopard", "Panthera pardus", "Ferocious spotted kitty", "Big Cat Exhibit"),
    ("Cougar", "Puma concolor", "Ferocious mountain kitty", "Big Cat Exhibit"),
]

# More residents, so that every list of animals has more than one page.
EXTRA_ANIMALS = [
    ("Bald Eagle", "Haliaeetus leucocephalus", "Bird Exhibit"),
    ("Snowy Owl", "Bubo scandiacus", "Bird Exhibit"),
    ("Scarlet Macaw", "Ara macao", "Bird Exhibit"),
    ("Flamingo", "Phoenicopterus ruber", "Bird Exhibit"),
    ("Toucan", "Ramphastos toco", "Bird Exhibit"),
    ("Peregrine Falcon", "Falco peregrinus", "Bird Exhibit"),
    ("Emperor Penguin", "Aptenodytes forsteri", "Bird Exhibit"),
    ("Kookaburra", "Dacelo novaeguineae", "Bird Exhibit"),
    ("Hornbill", "Buceros bicornis", "Bird Exhibit"),
    ("Cockatoo", "Cacatua galerita", "Bird Exhibit"),
    ("Komodo Dragon", "Varanus komodoensis", "Reptile Exhibit"),
    ("Green Iguana", "Iguana iguana", "Reptile Exhibit"),
    ("Ball Python", "Python regius", "Reptile Exhibit"),
    ("Gila Monster", "Heloderma suspectum", "Reptile Exhibit"),
    ("Alligator", "Alligator mississippiensis", "Reptile Exhibit"),
    ("Chameleon", "Chamaeleo calyptratus", "Reptile Exhibit"),
    ("Galapagos Tortoise", "Chelonoidis niger", "Reptile Exhibit"),
    ("King Cobra", "Ophiophagus hannah", "Reptile Exhibit"),
    ("Gecko", "Eublepharis macularius", "Reptile Exhibit"),
    ("Bearded Dragon", "Pogona vitticeps", "Reptile Exhibit"),
    ("Sea Otter", "Enhydra lutris", "Aquatic Exhibit"),
    ("Harbor Seal", "Phoca vitulina", "Aquatic Exhibit"),
    ("Bottlenose Dolphin", "Tursiops truncatus", "Aquatic Exhibit"),
    ("Clownfish", "Amphiprion ocellaris", "Aquatic Exhibit"),
    ("Moon Jellyfish", "Aurelia aurita", "Aquatic Exhibit"),
    ("Giant Pacific Octopus", "Enteroctopus dofleini", "Aquatic Exhibit"),
    ("Green Sea Turtle", "Chelonia mydas", "Aquatic Exhibit"),
    ("Manatee", "Trichechus manatus", "Aquatic Exhibit"),
    ("Leafy Seadragon", "Phycodurus eques", "Aquatic Exhibit"),
    ("Stingray", "Dasyatis americana", "Aquatic Exhibit"),
    ("Jaguar", "Panthera onca", "Big Cat Exhibit"),
    ("Snow Leopard", "Panthera uncia", "Big Cat Exhibit"),
    ("Lynx", "Lynx canadensis", "Big Cat Exhibit"),
    ("Ocelot", "Leopardus pardalis", "Big Cat Exhibit"),
    ("Serval", "Leptailurus serval", "Big Cat Exhibit"),
]


@dataclass(frozen=True, slots=True)
class SeedReport:
    exhibits: int
    staff: int
    animals: int


async def is_empty(services: Services) -> bool:
    async with services.database.read_session() as session:
        return not await session.scalar(select(func.count()).select_from(Exhibit))


async def _live_names(services: Services, model: type[Exhibit | Animal | StaffMember]) -> set[str]:
    async with services.database.read_session() as session:
        rows = await session.scalars(select(model.name).where(model.deleted_at.is_(None)))
        return set(rows)


async def seed(services: Services) -> SeedReport:
    """Create whatever demo rows are missing; report how many were created."""
    known = await _live_names(services, Exhibit)
    created_exhibits = 0
    for name, description in EXHIBITS:
        if name not in known:
            await services.exhibits.create(
                ExhibitCreate(name=name, description=description, location=LOCATION)
            )
            created_exhibits += 1
    async with services.database.read_session() as session:
        exhibit_ids = {
            name: id_
            for name, id_ in await session.execute(
                select(Exhibit.name, Exhibit.id).where(Exhibit.deleted_at.is_(None))
            )
        }

    known = await _live_names(services, StaffMember)
    created_staff = 0
    for name, job_title, exhibit, notes in STAFF:
        if name not in known:
            email = name.lower().replace(" ", ".") + "@example.com"
            await services.staff.create(
                StaffMemberCreate(
                    name=name,
                    job_title=job_title,
                    email=email,
                    phone="+1-555-0100",
                    notes=notes,
                    exhibit_id=exhibit_ids[exhibit],
                )
            )
            created_staff += 1

    known = await _live_names(services, Animal)
    created_animals = 0
    animals: list[tuple[str, str, str | None, str]] = [*ANIMALS] + [
        (name, species, None, exhibit) for name, species, exhibit in EXTRA_ANIMALS
    ]
    for name, species, about, exhibit in animals:
        if name not in known:
            await services.animals.create(
                AnimalCreate(
                    name=name,
                    species=species,
                    description=about,
                    exhibit_id=exhibit_ids[exhibit],
                )
            )
            created_animals += 1
    return SeedReport(created_exhibits, created_staff, created_animals)


DEMO_KEEPER_OF = "John Doe"
"""The staff member the demo keeper works as (the Big Cat Exhibit's zookeeper)."""


async def seed_demo_users(services: Services) -> list[tuple[str, Role, str | None]]:
    """One account per role (``<role>@example.com``; the keeper linked to John Doe), each
    with a fresh random password: (email, role, password), None for one that existed."""
    async with services.database.read_session() as session:
        keeper_of = await session.scalar(
            select(StaffMember.id).where(
                StaffMember.name == DEMO_KEEPER_OF, StaffMember.deleted_at.is_(None)
            )
        )
    made: list[tuple[str, Role, str | None]] = []
    for role in Role:
        email = f"{role.value.lower()}@example.com"
        password = secrets.token_urlsafe(12)
        try:
            await create_user(
                services.database,
                email,
                password,
                role=role,
                staff_member_id=keeper_of if role is Role.KEEPER else None,
            )
        except Conflict:
            made.append((email, role, None))
        else:
            made.append((email, role, password))
    return made
