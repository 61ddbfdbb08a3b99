"""The "who may do what" table, read from the permissions declared on the schema.

``zoo permissions`` prints it; the README carries a copy that a test compares, so the
documentation cannot drift from what the code enforces.
"""

from __future__ import annotations

from collections.abc import Iterator

from strawberry import Schema
from strawberry.types.base import StrawberryObjectDefinition

from zoo.core.roles import Role
from zoo.graphql.permissions import Reads, RoleAtLeast

ALWAYS = (
    "read exhibits, animals, staff (all but contact fields), counts, subscriptions",
    ("yes",) * (len(Role) + 1),
)
ROOTS = ("Query", "Mutation")
ACCOUNTS = (
    "`PATCH /users/{id}` (role, staff member, activation), `GET /users/{id}`, "
    "`/users/invitations` (invite, list, revoke)",
    ("no",) * len(Role) + ("yes",),
)


def _cells(minimum: Role, scope: str, anonymous: str = "no") -> tuple[str, ...]:
    return (
        anonymous,
        *(scope if role is minimum else "yes" if role.includes(minimum) else "no" for role in Role),
    )


def rows(schema: Schema) -> Iterator[tuple[str, tuple[str, ...]]]:
    """(what, cells) for every gated read and every mutation, in schema order."""
    yield ALWAYS
    for type_ in schema.schema_converter.type_map.values():
        definition = type_.definition
        if not isinstance(definition, StrawberryObjectDefinition):
            continue
        for field in definition.fields:
            for permission in field.permission_classes:
                name = schema.config.name_converter.get_graphql_name(field)
                if definition.name in ROOTS and issubclass(permission, RoleAtLeast):
                    yield f"`{name}`", _cells(permission.minimum, permission.scope)
                elif issubclass(permission, Reads):
                    yield f"read `{definition.name}.{name}`", _cells(permission.minimum, "yes")
    yield ACCOUNTS


def permission_table(schema: Schema) -> str:
    """The table in Markdown, as the README shows it."""
    header = ("what", "anonymous", *(role.value for role in Role))
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join((what, *cells)) + " |" for what, cells in rows(schema)]
    return "\n".join(lines) + "\n"
