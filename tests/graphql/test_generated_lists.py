"""Generated ``where`` trees, sorts and page walks, each answer checked against the same
rows filtered and sorted in Python.

The Python side is the specification (``zoo.core.where``): a comparison is false on a
null, ``isNull`` matches one, ``not`` is plain negation, ``and: []`` is true and ``or: []``
false, and relations see live rows only. The rows mix case, accents, LIKE's wildcards,
nulls, soft-deleted rows and rows that name a deleted exhibit, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from functools import cmp_to_key
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from tests.support import factories
from tests.support.clients import Http
from zoo.animals.models import Animal
from zoo.config import Settings
from zoo.core.entity import utcnow
from zoo.domains import Services
from zoo.exhibits.models import Exhibit
from zoo.staff.models import StaffMember

pytestmark = [pytest.mark.fuzz, pytest.mark.slow]

EXAMPLES = int(os.environ.get("ZOO_FUZZ_EXAMPLES", "120")) // 2

NAMES = ["Lion", "lion", "LIONESS", "Élan", "élan", "straße", "50% off", "a_b", "Zebra", "zebu"]
SPECIES = ["Panthera leo", "panthera LEO", "Équus", None, "Zebra"]
PLACES = ["North", "north", "Süd", None]
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
MOMENTS = [EPOCH + timedelta(days=d, microseconds=m) for d, m in [(0, 0), (3, 1), (3, 2), (40, 0)]]

COLUMNS = {
    "Animal": {
        "id": "int",
        "name": "str",
        "description": "str",
        "species": "str",
        "exhibitId": "int",
        "createdAt": "time",
        "updatedAt": "time",
    },
    "Exhibit": {
        "id": "int",
        "name": "str",
        "description": "str",
        "location": "str",
        "createdAt": "time",
        "updatedAt": "time",
    },
    "StaffMember": {
        "id": "int",
        "name": "str",
        "jobTitle": "str",
        "email": "str",
        "phone": "str",
        "notes": "str",
        "exhibitId": "int",
        "createdAt": "time",
        "updatedAt": "time",
    },
}
RELATIONS: dict[str, dict[str, tuple[str, bool]]] = {
    "Animal": {"exhibit": ("Exhibit", False)},
    "StaffMember": {"exhibit": ("Exhibit", False)},
    "Exhibit": {"animals": ("Animal", True), "staff": ("StaffMember", True)},
}
LISTS = {"Animal": "animals", "Exhibit": "exhibits", "StaffMember": "staff"}
SNAKE = {"exhibitId": "exhibit_id", "createdAt": "created_at", "updatedAt": "updated_at"}
SNAKE |= {"jobTitle": "job_title"}

Row = dict[str, Any]


async def make_zoo(services: Services) -> None:
    exhibits = [
        await factories.exhibit(
            services, name=NAMES[i * 2], location=PLACES[i % 4], description=SPECIES[i % 5]
        )
        for i in range(5)
    ]
    ids = [e.id for e in exhibits]
    for index in range(26):
        await factories.animal(
            services,
            name=NAMES[index % len(NAMES)] + ("" if index < 10 else f" {index}"),
            species=SPECIES[index % len(SPECIES)],
            description=PLACES[index % 4],
            exhibit_id=[*ids, None][index % 6],
        )
    for index in range(9):
        await factories.staff_member(
            services,
            name=NAMES[(index * 3) % len(NAMES)],
            job_title=SPECIES[index % 5],
            email=None if index % 4 == 0 else f"person{index}@example.com",
            phone=None if index % 3 == 0 else f"+1-555-010{index}",
            notes=NAMES[index % len(NAMES)] if index % 2 else None,
            exhibit_id=[*ids, None][index % 6],
        )
    async with services.database.transaction() as session:
        for model in (Animal, Exhibit, StaffMember):
            rows = (await session.scalars(select(model.id).order_by(model.id))).all()
            for index, id_ in enumerate(rows):
                moment = MOMENTS[index % len(MOMENTS)]
                later = MOMENTS[(index + 1) % len(MOMENTS)]
                deleted = utcnow() if index % 7 == 6 else None
                values = {"created_at": moment, "updated_at": later, "deleted_at": deleted}
                await session.execute(update(model).where(model.id == id_).values(**values))


async def read_rows(services: Services) -> dict[str, list[Row]]:
    """Every row, deleted ones too, with the GraphQL names of its columns."""
    rows: dict[str, list[Row]] = {}
    async with services.database.read_session() as session:
        for model in (Animal, Exhibit, StaffMember):
            found = []
            for row in (await session.scalars(select(model).order_by(model.id))).all():
                columns = {
                    name: getattr(row, SNAKE.get(name, name)) for name in COLUMNS[model.__name__]
                }
                columns["deleted"] = row.deleted_at is not None
                found.append(columns)
            rows[model.__name__] = found
    return rows


@pytest.fixture
def zoo(settings: Settings) -> Iterator[tuple[Http, dict[str, list[Row]]]]:
    driver = Http(settings)
    services = driver.app.state.services
    driver.run(make_zoo(services))
    yield driver, driver.run(read_rows(services))
    driver.close()


# The specification, in Python -----------------------------------------------------------


def _compare(op: str, value: Any, operand: Any) -> bool:
    if op == "isNull":
        return (value is None) == operand
    if value is None:
        return False
    tests: dict[str, Callable[[], bool]] = {
        "equalTo": lambda: value == operand,
        "notEqualTo": lambda: value != operand,
        "in": lambda: value in operand,
        "notIn": lambda: value not in operand,
        "lessThan": lambda: value < operand,
        "lessThanOrEqualTo": lambda: value <= operand,
        "greaterThan": lambda: value > operand,
        "greaterThanOrEqualTo": lambda: value >= operand,
        "includesInsensitive": lambda: operand.lower() in value.lower(),
        "startsWithInsensitive": lambda: value.lower().startswith(operand.lower()),
    }
    return tests[op]()


def _parsed(kind: str, operand: Any) -> Any:
    if kind != "time" or isinstance(operand, bool):
        return operand
    if isinstance(operand, list):
        return [datetime.fromisoformat(o) for o in operand]
    return datetime.fromisoformat(operand)


def matches(rows: dict[str, list[Row]], entity: str, row: Row, where: dict[str, Any]) -> bool:
    for key, value in where.items():
        if key == "and":
            ok = all(matches(rows, entity, row, w) for w in value)
        elif key == "or":
            ok = any(matches(rows, entity, row, w) for w in value)
        elif key == "not":
            ok = not matches(rows, entity, row, value)
        elif key in RELATIONS[entity]:
            target, many = RELATIONS[entity][key]
            live = [r for r in rows[target] if not r["deleted"]]
            if many:
                mine = [r for r in live if r["exhibitId"] == row["id"]]
                ok = True
                if "some" in value:
                    ok = any(matches(rows, target, r, value["some"]) for r in mine)
                if "none" in value:
                    ok = ok and not any(matches(rows, target, r, value["none"]) for r in mine)
            else:
                linked = [r for r in live if r["id"] == row["exhibitId"]]
                ok = any(matches(rows, target, r, value) for r in linked)
        else:
            kind = COLUMNS[entity][key]
            ok = all(_compare(op, row[key], _parsed(kind, x)) for op, x in value.items())
        if not ok:
            return False
    return True


# Generated trees ---------------------------------------------------------------------


def operands(kind: str, values: list[Any]) -> st.SearchStrategy[Any]:
    present = [v for v in values if v is not None]
    if kind == "int":
        return st.sampled_from(present) | st.integers(-1, 60)
    if kind == "time":
        offsets = st.sampled_from([timedelta(0), timedelta(hours=2), timedelta(hours=-5)])
        moments = st.sampled_from(MOMENTS) | st.just(MOMENTS[1] - timedelta(microseconds=1))
        return st.tuples(moments, offsets).map(
            lambda p: p[0].astimezone(timezone(p[1])).isoformat()
        )
    pieces = st.sampled_from(present).flatmap(
        lambda v: st.sampled_from(
            [v, v.upper(), v.lower(), v[:2], v[1:4], v[-3:], "%", "_", "É", ""]
        )
    )
    return pieces | st.text(alphabet="abÉé%_ z", max_size=3)


def condition(kind: str, values: list[Any]) -> st.SearchStrategy[dict[str, Any]]:
    ops = ["equalTo", "notEqualTo", "in", "notIn", "isNull", "lessThan", "lessThanOrEqualTo"]
    ops += ["greaterThan", "greaterThanOrEqualTo"]
    if kind == "str":
        ops += ["includesInsensitive", "startsWithInsensitive"] * 2

    def operand(op: str) -> st.SearchStrategy[Any]:
        if op == "isNull":
            return st.booleans()
        if op in ("in", "notIn"):
            return st.lists(operands(kind, values), max_size=4)
        return operands(kind, values)

    return st.lists(st.sampled_from(ops), min_size=1, max_size=2, unique=True).flatmap(
        lambda chosen: st.fixed_dictionaries({op: operand(op) for op in chosen})
    )


def wheres(rows: dict[str, list[Row]], entity: str, depth: int = 0) -> st.SearchStrategy[Any]:
    columns = COLUMNS[entity]
    parts: dict[str, st.SearchStrategy[Any]] = {
        name: condition(kind, [r[name] for r in rows[entity]]) for name, kind in columns.items()
    }
    if depth < 2:
        inner = st.deferred(lambda: wheres(rows, entity, depth + 1))
        parts["and"] = st.lists(inner, max_size=2)
        parts["or"] = st.lists(inner, max_size=2)
        parts["not"] = inner
        for name, (target, many) in RELATIONS[entity].items():
            other = st.deferred(lambda t=target: wheres(rows, t, depth + 1))
            if many:
                parts[name] = st.fixed_dictionaries({}, optional={"some": other, "none": other})
            else:
                parts[name] = other
    return st.lists(st.sampled_from(sorted(parts)), max_size=3, unique=True).flatmap(
        lambda chosen: st.fixed_dictionaries({name: parts[name] for name in chosen})
    )


def listed(http: Http, entity: str, where: Any) -> tuple[list[int], int]:
    query = (
        f"query($w: {entity}Where) {{ {LISTS[entity]}(first: 100, where: $w)"
        " { totalCount edges { node { id } } } }"
    )
    headers = {"Authorization": f"Bearer {http.token}"}
    body = http.post(json={"query": query, "variables": {"w": where}}, headers=headers).json()
    assert "errors" not in body, (where, body)
    page = body["data"][LISTS[entity]]
    return [edge["node"]["id"] for edge in page["edges"]], page["totalCount"]


@pytest.mark.parametrize("entity", sorted(COLUMNS))
def test_every_where_lists_what_python_filters(
    zoo: tuple[Http, dict[str, list[Row]]], entity: str
) -> None:
    http, rows = zoo

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(where=wheres(rows, entity))
    def check(where: dict[str, Any]) -> None:
        expected = [
            r["id"] for r in rows[entity] if not r["deleted"] and matches(rows, entity, r, where)
        ]
        ids, total = listed(http, entity, where)
        assert ids == expected, where
        assert total == len(expected), where

    check()


# Sorts and page walks ----------------------------------------------------------------

SORTABLE = {
    "Animal": {"ID": "id", "NAME": "name", "SPECIES": "species", "CREATED_AT": "createdAt"},
    "Exhibit": {"ID": "id", "NAME": "name", "CREATED_AT": "createdAt"},
    "StaffMember": {"ID": "id", "NAME": "name", "CREATED_AT": "createdAt"},
}


def sorted_rows(rows: list[Row], entity: str, sort: list[dict[str, str]]) -> list[Row]:
    """The specification: each key in its direction, NULL larger than any value; then
    the id, in the direction given for it, else the last key's."""
    keys: list[tuple[str, bool]] = []
    for key in sort:
        keys.append((SORTABLE[entity][key["field"]], key["direction"] == "DESC"))
        if key["field"] == "ID":
            break
    if not keys or keys[-1][0] != "id":
        keys.append(("id", keys[-1][1] if keys else False))

    def compare(a: Row, b: Row) -> int:
        for column, desc in keys:
            x, y = a[column], b[column]
            if x == y:
                continue
            order = 1 if x is None else -1 if y is None else (x > y) - (x < y)
            return -order if desc else order
        return 0

    return sorted(rows, key=cmp_to_key(compare))


def sorts(entity: str) -> st.SearchStrategy[list[dict[str, str]]]:
    key = st.fixed_dictionaries(
        {
            "field": st.sampled_from(sorted(SORTABLE[entity])),
            "direction": st.sampled_from(["ASC", "DESC"]),
        }
    )
    return st.lists(key, min_size=1, max_size=3, unique_by=lambda k: k["field"])


def walk(http: Http, entity: str, sort: Any, where: Any, size: int, backward: bool) -> list[int]:
    """Every page from one end to the other, checking each page's flags on the way."""
    size_argument, bound, end = (
        ("last", "before", "startCursor")
        if backward
        else (
            "first",
            "after",
            "endCursor",
        )
    )
    query = (
        f"query($w: {entity}Where, $s: [{entity}Sort!], $c: String) {{ {LISTS[entity]}"
        f"({size_argument}: {size}, {bound}: $c, where: $w, sort: $s)"
        " { edges { node { id } }"
        " pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"
    )
    headers = {"Authorization": f"Bearer {http.token}"}
    seen: list[int] = []
    cursor = None
    for _ in range(100):
        variables = {"w": where, "s": sort, "c": cursor}
        body = http.post(json={"query": query, "variables": variables}, headers=headers).json()
        assert "errors" not in body, (sort, body)
        page = body["data"][LISTS[entity]]
        ids = [edge["node"]["id"] for edge in page["edges"]]
        info = page["pageInfo"]
        ahead, behind = (
            (info["hasPreviousPage"], info["hasNextPage"])
            if backward
            else (info["hasNextPage"], info["hasPreviousPage"])
        )
        assert behind == (cursor is not None and bool(seen)), (sort, info)
        seen = ids + seen if backward else seen + ids
        if not ahead:
            return seen
        assert ids, info
        cursor = info[end]
    raise AssertionError("the walk did not end")


@pytest.mark.parametrize("entity", sorted(COLUMNS))
def test_every_page_walk_meets_every_row_once_in_order(
    zoo: tuple[Http, dict[str, list[Row]]], entity: str
) -> None:
    http, rows = zoo

    @settings(
        max_examples=max(EXAMPLES // 3, 10),
        derandomize=True,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(
        sort=sorts(entity),
        where=st.one_of(st.none(), wheres(rows, entity, depth=1)),
        size=st.integers(1, 7),
    )
    def check(sort: list[dict[str, str]], where: Any, size: int) -> None:
        live = [
            r for r in rows[entity] if not r["deleted"] and matches(rows, entity, r, where or {})
        ]
        expected = [r["id"] for r in sorted_rows(live, entity, sort)]
        assert walk(http, entity, sort, where, size, backward=False) == expected, sort
        assert walk(http, entity, sort, where, size, backward=True) == expected, sort

    check()


@pytest.mark.parametrize(
    "sort",
    [
        [{"field": "SPECIES", "direction": "DESC"}, {"field": "NAME", "direction": "ASC"}],
        [{"field": "SPECIES", "direction": "ASC"}, {"field": "CREATED_AT", "direction": "DESC"}],
        [{"field": "CREATED_AT", "direction": "ASC"}, {"field": "SPECIES", "direction": "DESC"}],
        [{"field": "SPECIES", "direction": "DESC"}, {"field": "ID", "direction": "ASC"}],
    ],
)
def test_a_walk_one_row_at_a_time_resumes_from_null_keys(
    zoo: tuple[Http, dict[str, list[Row]]], sort: list[dict[str, str]]
) -> None:
    """Each row a cursor in turn, the NULL species among them, both ways."""
    http, rows = zoo
    live = [r for r in rows["Animal"] if not r["deleted"]]
    expected = [r["id"] for r in sorted_rows(live, "Animal", sort)]
    assert walk(http, "Animal", sort, None, 1, backward=False) == expected
    assert walk(http, "Animal", sort, None, 1, backward=True) == expected


# Summaries -----------------------------------------------------------------------------

SUMMARIES = {
    "Animal": ("animalsSummary", {"bySpecies": "species", "byExhibit": "exhibitId"}),
    "StaffMember": ("staffSummary", {"byJobTitle": "jobTitle", "byExhibit": "exhibitId"}),
    "Exhibit": ("exhibitsSummary", {"byLocation": "location"}),
}


def groups_of(rows: list[Row], column: str, first: int) -> list[tuple[Any, int]]:
    """The specification: by count, largest first, then by key with null after."""
    counts: dict[Any, int] = {}
    for row in rows:
        counts[row[column]] = counts.get(row[column], 0) + 1
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0] is None, kv[0] or ""))
    return ordered[:first]


def summary_query(entity: str, first: int) -> str:
    field, lists = SUMMARIES[entity]
    parts = ["count"]
    for name in lists:
        key = "exhibit { id }" if name == "byExhibit" else name[2].lower() + name[3:]
        parts.append(f"{name}(first: {first}) {{ {key} count }}")
    if entity == "Animal":
        parts.append(f"createdPerMonth(first: {first}) {{ month count }}")
    return f"query($w: {entity}Where) {{ {field}(where: $w) {{ {' '.join(parts)} }} }}"


def answered_groups(entity: str, name: str, groups: list[dict[str, Any]]) -> list[Any]:
    if name == "byExhibit":
        return [(g["exhibit"]["id"] if g["exhibit"] else None, g["count"]) for g in groups]
    key = name[2].lower() + name[3:]
    return [(g[key], g["count"]) for g in groups]


@pytest.mark.parametrize("entity", sorted(SUMMARIES))
def test_every_summary_counts_what_python_counts(
    zoo: tuple[Http, dict[str, list[Row]]], entity: str
) -> None:
    """Deleted rows never count; a null key is a group of its own."""
    http, rows = zoo

    @settings(
        max_examples=max(EXAMPLES // 3, 10),
        derandomize=True,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(where=st.one_of(st.none(), wheres(rows, entity, depth=1)), first=st.integers(1, 30))
    def check(where: Any, first: int) -> None:
        live = [
            r for r in rows[entity] if not r["deleted"] and matches(rows, entity, r, where or {})
        ]
        field, lists = SUMMARIES[entity]
        headers = {"Authorization": f"Bearer {http.token}"}
        body = http.post(
            json={"query": summary_query(entity, first), "variables": {"w": where}},
            headers=headers,
        ).json()
        assert "errors" not in body, body
        summary = body["data"][field]
        assert summary["count"] == len(live)
        for name, column in lists.items():
            if name == "byExhibit":
                # Rows naming a deleted exhibit form its group; its exhibit reads as null.
                live_exhibits = {r["id"] for r in rows["Exhibit"] if not r["deleted"]}
                expected = [
                    (key if key in live_exhibits else None, n)
                    for key, n in groups_of(live, column, first)
                ]
            else:
                expected = groups_of(live, column, first)
            assert answered_groups(entity, name, summary[name]) == expected, (name, where)
        if entity == "Animal":
            months: dict[str, int] = {}
            for row in live:
                month = row["createdAt"].astimezone(UTC).strftime("%Y-%m")
                months[month] = months.get(month, 0) + 1
            expected_months = sorted(months.items(), reverse=True)[:first]
            answered = [(m["month"], m["count"]) for m in summary["createdPerMonth"]]
            assert answered == expected_months

    check()


# Nested lists ---------------------------------------------------------------------------


@pytest.mark.parametrize(("field", "entity"), [("animals", "Animal"), ("staff", "StaffMember")])
def test_a_nested_list_where_keeps_what_python_keeps(
    zoo: tuple[Http, dict[str, list[Row]]], field: str, entity: str
) -> None:
    """``Exhibit.animals(where:)``, two wheres at once under aliases, beside the list
    without one: each exhibit's live rows that match, by id."""
    http, rows = zoo

    @settings(
        max_examples=max(EXAMPLES // 3, 10),
        derandomize=True,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(one=wheres(rows, entity, depth=1), two=wheres(rows, entity, depth=1))
    def check(one: Any, two: Any) -> None:
        query = (
            f"query($one: {entity}Where, $two: {entity}Where) {{ exhibits(first: 100) {{ edges"
            f" {{ node {{ id one: {field}(where: $one) {{ id }} two: {field}(where: $two)"
            f" {{ id }} all: {field} {{ id }} }} }} }} }}"
        )
        headers = {"Authorization": f"Bearer {http.token}"}
        body = http.post(
            json={"query": query, "variables": {"one": one, "two": two}}, headers=headers
        ).json()
        assert "errors" not in body, body
        live = [r for r in rows[entity] if not r["deleted"]]
        for edge in body["data"]["exhibits"]["edges"]:
            node = edge["node"]
            mine = [r for r in live if r["exhibitId"] == node["id"]]
            for alias, where in (("one", one), ("two", two), ("all", {})):
                expected = [r["id"] for r in mine if matches(rows, entity, r, where)]
                assert [x["id"] for x in node[alias]] == expected, (alias, where)

    check()
