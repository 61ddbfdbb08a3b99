"""Generated queries and mutations, valid and not: never a 5xx, a traceback or an internal error.

Bounded and derandomised, so CI is fast and repeatable; ``make fuzz`` runs many more
examples (ZOO_FUZZ_EXAMPLES).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.clients import Http
from zoo.config import Settings
from zoo.graphql.fastpath.upstream import core_schema
from zoo.graphql.schema import schema as zoo_schema

pytestmark = [pytest.mark.fuzz, pytest.mark.slow]

EXAMPLES = int(os.environ.get("ZOO_FUZZ_EXAMPLES", "120"))
SCHEMA = core_schema(zoo_schema)
TEXT = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x2FF), max_size=12)


def value(type_: GraphQLInputType, depth: int = 0) -> st.SearchStrategy[str]:
    """A GraphQL literal for ``type_``, sometimes deliberately wrong."""
    wrong = st.sampled_from(["null", '"oops"', "-1", "3.5", "true", "[1]", "{a: 1}", "NOPE"])
    if isinstance(type_, GraphQLNonNull):
        return st.one_of(value(type_.of_type, depth), wrong)
    if isinstance(type_, GraphQLList):
        return st.lists(value(type_.of_type, depth + 1), max_size=3).map(
            lambda items: "[" + ", ".join(items) + "]"
        )
    if isinstance(type_, GraphQLEnumType):
        return st.one_of(st.sampled_from(sorted(type_.values)), wrong)
    if isinstance(type_, GraphQLInputObjectType):
        if depth > 2:
            return st.just("{}")
        fields = sorted(type_.fields.items())
        return st.lists(
            st.sampled_from(fields), max_size=len(fields), unique_by=lambda f: f[0]
        ).flatmap(
            lambda chosen: st.tuples(*(value(f.type, depth + 1) for _, f in chosen)).map(
                lambda values, chosen=chosen: (
                    "{"
                    + ", ".join(f"{name}: {v}" for (name, _), v in zip(chosen, values, strict=True))
                    + "}"
                )
            )
        )
    assert isinstance(type_, GraphQLScalarType)
    by_name = {
        "Int": st.one_of(st.integers(-3, 120).map(str), st.sampled_from(["2147483648", "0"])),
        "String": TEXT.map(json.dumps),
        "Boolean": st.sampled_from(["true", "false"]),
        "ID": TEXT.map(json.dumps),
        "Float": st.floats(allow_nan=False, allow_infinity=False).map(repr),
    }
    return st.one_of(by_name.get(type_.name, TEXT.map(json.dumps)), wrong)


def selection(type_: GraphQLObjectType, depth: int) -> st.SearchStrategy[str]:
    names = sorted(type_.fields)
    return st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True).flatmap(
        lambda chosen: st.tuples(*(field(type_, name, depth) for name in chosen)).map(" ".join)
    )


def field(parent: GraphQLObjectType, name: str, depth: int) -> st.SearchStrategy[str]:
    definition = parent.fields[name]
    args = sorted(definition.args.items())
    arguments: st.SearchStrategy[str] = st.just("")
    if args:
        arguments = st.lists(
            st.sampled_from(args), max_size=len(args), unique_by=lambda a: a[0]
        ).flatmap(
            lambda chosen: st.tuples(*(value(a.type) for _, a in chosen)).map(
                lambda values, chosen=chosen: (
                    (
                        "("
                        + ", ".join(f"{n}: {v}" for (n, _), v in zip(chosen, values, strict=True))
                        + ")"
                    )
                    if chosen
                    else ""
                )
            )
        )
    inner = definition.type
    while isinstance(inner, (GraphQLNonNull, GraphQLList)):
        inner = inner.of_type
    if not isinstance(inner, GraphQLObjectType):
        return arguments.map(lambda a: f"{name}{a}")
    if depth >= 3:
        return arguments.map(lambda a: f"{name}{a} {{ __typename }}")
    return st.tuples(arguments, selection(inner, depth + 1)).map(
        lambda parts: f"{name}{parts[0]} {{ {parts[1]} }}"
    )


def operations() -> st.SearchStrategy[str]:
    assert SCHEMA.query_type is not None
    assert SCHEMA.mutation_type is not None
    query = selection(SCHEMA.query_type, 0).map(lambda s: f"query {{ {s} }}")
    mutation = selection(SCHEMA.mutation_type, 0).map(lambda s: f"mutation {{ {s} }}")
    garbage = st.text(max_size=40)
    return st.one_of(query, query, mutation, mutation, garbage)


def check(response: Any) -> None:
    assert response.status_code < 500, response.text
    assert "Traceback" not in response.text
    body = response.json()
    assert set(body) <= {"data", "errors", "extensions"}, body
    assert "data" in body or "errors" in body
    if response.status_code != 200:
        assert body["errors"], body
    for error in body.get("errors", []):
        assert isinstance(error["message"], str)
        assert isinstance(error["extensions"]["code"], str), error
        assert error["extensions"]["code"] != "INTERNAL_SERVER_ERROR", error


@pytest.fixture
def http(settings: Settings) -> Iterator[Http]:
    driver = Http(settings)
    yield driver
    driver.close()


@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(document=operations(), anonymous=st.booleans())
def test_generated_operations(http: Http, document: str, anonymous: bool) -> None:
    headers = {} if anonymous else {"Authorization": f"Bearer {http.token}"}
    check(http.post(json={"query": document}, headers=headers))


@settings(
    max_examples=EXAMPLES // 2,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=st.one_of(
        st.binary(max_size=60),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=10),
            lambda children: (
                st.lists(children, max_size=3)
                | st.dictionaries(
                    st.sampled_from(["query", "variables", "operationName", "x"]),
                    children,
                    max_size=3,
                )
            ),
            max_leaves=8,
        ).map(lambda v: json.dumps(v).encode()),
    ),
    content_type=st.sampled_from(
        ["application/json", "text/plain", "application/graphql-response+json", ""]
    ),
)
def test_malformed_bodies(http: Http, body: bytes, content_type: str) -> None:
    check(http.post(content=body, headers={"Content-Type": content_type}))
