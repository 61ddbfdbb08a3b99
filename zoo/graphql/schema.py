"""The root schema: each domain contributes its Query and Mutation parts."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.types import ExecutionContext

from zoo.animals.schema import AnimalMutation, AnimalQuery
from zoo.auth.schema import UserQuery
from zoo.exhibits.schema import ExhibitMutation, ExhibitQuery
from zoo.graphql.errors import format_errors
from zoo.graphql.execution import FastListExecutor
from zoo.staff.schema import StaffMutation, StaffQuery

DOCUMENT_CACHE_SIZE = 512
"""Distinct query documents whose parse and validation are remembered (front ends send few)."""


@strawberry.type
class Query(ExhibitQuery, AnimalQuery, StaffQuery, UserQuery):
    pass


@strawberry.type
class Mutation(ExhibitMutation, AnimalMutation, StaffMutation):
    pass


class ZooSchema(strawberry.Schema):
    show_error_details = False

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Give every error its code; unexpected ones are logged there, once each."""
        format_errors(errors, show_details=self.show_error_details)


def build_schema(
    *, show_error_details: bool = False, fast_lists: bool = True, **options: Any
) -> strawberry.Schema:
    """The schema; ``fast_lists=False`` keeps graphql-core's stock completion (for comparison)."""
    built = ZooSchema(
        query=Query,
        mutation=Mutation,
        extensions=[
            lambda: ParserCache(maxsize=DOCUMENT_CACHE_SIZE),
            lambda: ValidationCache(maxsize=DOCUMENT_CACHE_SIZE),
        ],
        execution_context_class=FastListExecutor if fast_lists else None,
        **options,
    )
    built.show_error_details = show_error_details
    return built


schema = build_schema()
"""The schema as exported to ``schema.graphql``."""
