"""The exported schema.graphql matches the code, and covers the public contract."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
)

from zoo.graphql.schema import schema

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT.parent / "shared" / "contract.graphql"


def test_schema_graphql_is_up_to_date() -> None:
    exported = (ROOT / "schema.graphql").read_text(encoding="utf-8")
    assert exported == schema.as_str() + "\n", (
        "schema.graphql is stale: run `zoo schema export` (make schema) and commit it"
    )


def _contract() -> GraphQLSchema:
    if not CONTRACT.exists():
        pytest.skip(f"no contract at {CONTRACT}")
    return build_schema(CONTRACT.read_text(encoding="utf-8"))


def _check_type(expected: GraphQLNamedType, actual: GraphQLNamedType | None) -> list[str]:
    name = expected.name
    if actual is None:
        return [f"missing type {name}"]
    if type(actual) is not type(expected):
        return [f"{name} is a {type(actual).__name__}, contract says {type(expected).__name__}"]
    problems = []
    if isinstance(expected, GraphQLEnumType):
        assert isinstance(actual, GraphQLEnumType)
        problems += [f"{name}.{v} missing" for v in expected.values if v not in actual.values]
    if isinstance(expected, (GraphQLObjectType, GraphQLInputObjectType)):
        assert isinstance(actual, (GraphQLObjectType, GraphQLInputObjectType))
        for field_name, field in expected.fields.items():
            ours = actual.fields.get(field_name)
            if ours is None:
                problems.append(f"{name}.{field_name} missing")
                continue
            if str(ours.type) != str(field.type):
                problems.append(f"{name}.{field_name}: {ours.type}, contract {field.type}")
            if getattr(field, "default_value", None) != getattr(ours, "default_value", None):
                problems.append(f"{name}.{field_name} default differs from the contract's")
            for arg_name, arg in getattr(field, "args", {}).items():
                our_arg = ours.args.get(arg_name)  # type: ignore[union-attr]
                if our_arg is None:
                    problems.append(f"{name}.{field_name}({arg_name}) missing")
                elif str(our_arg.type) != str(arg.type):
                    problems.append(f"{name}.{field_name}({arg_name}): {our_arg.type}")
                elif arg.default_value != our_arg.default_value:
                    problems.append(f"{name}.{field_name}({arg_name}) default differs")
    return problems


def test_every_contract_type_field_argument_and_value_is_served() -> None:
    contract = _contract()
    ours = build_schema((ROOT / "schema.graphql").read_text(encoding="utf-8"))
    problems: list[str] = []
    for name, expected in contract.type_map.items():
        if not name.startswith("__"):
            problems += _check_type(expected, ours.type_map.get(name))
    assert problems == []


def test_the_checker_notices_a_missing_field() -> None:
    """Guard the guard: a schema lacking a contract field is reported."""
    contract = build_schema("type Query { a: Int! b: String }")
    ours = build_schema("type Query { a: Int! }")
    assert _check_type(contract.type_map["Query"], ours.type_map["Query"]) == ["Query.b missing"]
