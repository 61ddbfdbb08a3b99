"""The root schema: each domain contributes its Query and Mutation parts."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.types import ExecutionContext

from zoo.animals.schema import AnimalMutation, AnimalQuery
from zoo.auth.schema import UserQuery
from zoo.exhibits.schema import ExhibitMutation, ExhibitQuery
from zoo.graphql.errors import ErrorCodes
from zoo.staff.schema import StaffMutation, StaffQuery


@strawberry.type
class Query(ExhibitQuery, AnimalQuery, StaffQuery, UserQuery):
    pass


@strawberry.type
class Mutation(ExhibitMutation, AnimalMutation, StaffMutation):
    pass


class ZooSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Errors are logged by :class:`ErrorCodes`, once each and only when unexpected."""


def build_schema(*, show_error_details: bool = False, **options: Any) -> strawberry.Schema:
    error_codes = type("ErrorCodes", (ErrorCodes,), {"show_details": show_error_details})
    return ZooSchema(query=Query, mutation=Mutation, extensions=[error_codes], **options)


schema = build_schema()
"""The schema as exported to ``schema.graphql``."""
