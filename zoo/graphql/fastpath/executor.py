"""A fast path for lists of objects whose selected fields are all plain attributes.

graphql-core completes every field of every list item through several calls
(execute, resolve, complete, serialise): about 5 µs a field, most of the time
of a large nested list. When every field selected on a list's items is a leaf
that strawberry would read with a bare ``getattr`` (no resolver, permission,
extension, argument or directive), the whole list is built by one generated
loop instead, with the same serialisation rules. Anything else, and any value
the loop would not treat exactly as the stock path does (a null where the
schema says non-null, a value of an unexpected type, an awaitable), hands the
list back to the stock path, so results and errors stay identical.

The loop also builds objects nested in each item, where their own fields are
as plain: a connection's ``edges { cursor node { ... } }``, and a relation
that can give its value without waiting (``node { exhibit { name } }`` once
the page's exhibits were loaded ahead: see ``graphql.fastpath.preloads``), which opts in
with ``metadata=at_once(...)``. A relation whose value is not ready yet sends
the list down the stock path, which awaits it.

Every list completed, on either path, counts its items against the context's
``max_items`` (``graphql.limits.response_size``, which holds without this path too).

When the result goes straight to orjson (an HTTP response: the context's
``json_fragments``), a finished list is encoded at once and kept as an
``orjson.Fragment``: its thousands of dicts and strings are freed then,
rather than all held until the whole response is written. Its timestamps
are then left to orjson, which writes a UTC ``datetime`` exactly as
``isoformat()`` does (the serialiser strawberry uses) at a tenth of the cost:
``isoformat()`` had taken a fifth of the nested list's time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, NamedTuple

import orjson
from graphql import (
    GraphQLBoolean,
    GraphQLError,
    GraphQLInt,
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLString,
    SourceLocation,
    Undefined,
    is_leaf_type,
)
from strawberry.permission import PermissionExtension
from strawberry.schema.types.base_scalars import isoformat as strawberry_isoformat

from zoo.core.roles import Role
from zoo.graphql.fastpath.by_field_nodes import ByFieldNodes
from zoo.graphql.fastpath.selection import strawberry_field
from zoo.graphql.fastpath.upstream import NOT_COMPLETED, is_default_resolver
from zoo.graphql.field_metadata import AT_ONCE, AtOnce
from zoo.graphql.limits.response_size import ItemLimitedExecutor
from zoo.graphql.permissions import Reads, role_of

FALLBACK = object()
"""Returned by a builder that met something only the stock path may handle."""

Builder = Callable[[Sequence[Any], Any, "Denied"], Any]
"""Builds a list's items from the items and the request's context (or returns FALLBACK),
noting the gated fields it left null for the caller."""


class PlainField(NamedTuple):
    key: str
    """Response key (the alias, or the field name)."""
    attribute: str | None
    """Python attribute to read; None for ``__typename`` and relations."""
    kind: str
    """How to serialise: int, str, bool, datetime, typename, generic; or object (an
    attribute holding an object) and relation (an ``at_once`` accessor), built by ``sub``."""
    non_null: bool
    sub: ListPlan | None = None
    accessor: AtOnce | None = None
    gate: Role | None = None
    """The role a field gated by ``permissions.Reads`` needs: the caller's role is read
    once per list, and compared with it for each nested object; below it, the field is
    null with a ``FORBIDDEN`` error for each item, as the stock path answers."""
    denial: Denial | None = None
    """The error a denied gated field gets: its message and its place in the document."""


class Denial(NamedTuple):
    message: str
    extensions: tuple[tuple[str, Any], ...]
    line: int
    column: int


Denied = list[tuple[tuple[str | int, ...], Denial]]
"""Gated fields left null in a completed list: their path below the list, and why."""


class ListPlan(NamedTuple):
    non_null_items: bool
    fields: tuple[PlainField, ...]
    serializers: tuple[Callable[[Any], Any], ...]
    """The leaf types' own serialisers, used for the ``generic`` kind."""
    typename: str


SHARED_PLANS = 4096
"""Plans kept across requests (see ``FastListExecutor._plan``): a few per list field of
each distinct document, and front ends send few distinct documents."""

_shared_plans: ByFieldNodes[ListPlan | None] = ByFieldNodes(SHARED_PLANS)


class FastListExecutor(ItemLimitedExecutor):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Without variables, a list's plan depends only on its field nodes (directives
        # and fragments included), which belong to a document the document cache hands
        # out again: plans are then shared by every request that sends that document.
        # With variables (``@include(if: $x)``...), plans last for one request.
        self._list_plans = (
            _shared_plans
            if not self.operation.variable_definitions
            else ByFieldNodes[ListPlan | None](SHARED_PLANS)
        )
        self._fragments = bool(getattr(self.context_value, "json_fragments", False))

    def complete_list(
        self, item_type: GraphQLOutputType, details: Any, path: Any, items: Iterable[Any]
    ) -> Any:
        counted = super().complete_list(item_type, details, path, items)
        if counted is not NOT_COMPLETED or not isinstance(items, (list, tuple)):
            return counted
        plan = self._plan(item_type, details, path)
        if plan is not None:
            denied: Denied = []
            completed = build_list(plan, self._fragments)(items, self.context_value, denied)
            if completed is not FALLBACK:
                for below, denial in denied:
                    self._deny(path, below, denial)
                return encoded(completed) if self._fragments else completed
        return NOT_COMPLETED

    def _deny(self, path: Any, below: tuple[str | int, ...], denial: Denial) -> None:
        """The error the stock path gives a gated field it may not read, at its place."""
        for key in below:
            path = path.add_key(key, None)
        extensions = dict(denial.extensions)
        error = GraphQLError(denial.message, path=path.as_list(), extensions=extensions)
        error.locations = [SourceLocation(denial.line, denial.column)]
        self.report(error, path)

    def _plan(self, item_type: GraphQLOutputType, details: Any, path: Any) -> ListPlan | None:
        return self._list_plans.get(
            [d.node for d in details],
            (id(item_type), isinstance(path.key, int)),
            lambda: self._make_plan(item_type, details, path),
        )

    def _make_plan(self, item_type: GraphQLOutputType, details: Any, path: Any) -> ListPlan | None:
        non_null_items = isinstance(item_type, GraphQLNonNull)
        object_type = item_type.of_type if non_null_items else item_type  # type: ignore[union-attr]
        if not isinstance(object_type, GraphQLObjectType) or object_type.is_type_of:
            return None
        grouped = self.subfields(object_type, details, path)
        if grouped is None:
            return None
        fields, serializers = [], []
        for key, field_details in grouped.items():
            planned = _plain_field(object_type, key, field_details)
            if planned is not None and planned[0].kind in {"object", "relation"}:
                field_type = object_type.fields[field_details[0].node.name.value].type
                sub = self._make_plan(field_type, field_details, path)
                planned = None if sub is None else (planned[0]._replace(sub=sub), planned[1])
            if planned is None:
                return None
            fields.append(planned[0])
            serializers.append(planned[1])
        return ListPlan(non_null_items, tuple(fields), tuple(serializers), object_type.name)


def encoded(items: list[dict[str, Any]]) -> orjson.Fragment:
    """The list as JSON, in a buffer of its own size.

    orjson returns its working buffer, up to twice the length of the text;
    a fragment lives until the response is written, so it keeps a copy.
    """
    return orjson.Fragment(bytes(memoryview(orjson.dumps(items))))


_COLLECTION_DIRECTIVES = frozenset({"skip", "include"})


def _identity(value: Any) -> Any:
    return value


def _plain_field(
    object_type: GraphQLObjectType, key: str, details: Sequence[Any]
) -> tuple[PlainField, Callable[[Any], Any]] | None:
    nodes = [detail.node for detail in details]
    if any(node.arguments for node in nodes):
        return None
    # @skip and @include were applied when the fields were collected; any other
    # directive may change the value, so it takes the stock path.
    if any(d.name.value not in _COLLECTION_DIRECTIVES for n in nodes for d in n.directives or ()):
        return None
    name = nodes[0].name.value
    if name == "__typename":
        return PlainField(key, None, "typename", True), _identity
    field = object_type.fields.get(name)
    if field is None:
        return None
    non_null = isinstance(field.type, GraphQLNonNull)
    leaf = field.type.of_type if non_null else field.type
    definition = strawberry_field(field)
    if definition is None:
        return None
    if isinstance(leaf, GraphQLObjectType):
        accessor = definition.metadata.get(AT_ONCE)
        if accessor is not None and not definition.permission_classes and not definition.extensions:
            return PlainField(key, None, "relation", non_null, accessor=accessor), _identity
        if not _reads_attribute(field, definition):
            return None
        return PlainField(key, definition.python_name, "object", non_null), _identity
    gate = _read_gate(definition)
    if not is_leaf_type(leaf) or not (
        _reads_attribute(field, definition) if gate is None else _reads_behind_gate(definition)
    ):
        return None
    assert isinstance(leaf, GraphQLLeafType)
    if leaf is GraphQLInt:
        kind = "int"
    elif leaf is GraphQLString:
        kind = "str"
    elif leaf is GraphQLBoolean:
        kind = "bool"
    elif leaf.serialize is strawberry_isoformat:
        kind = "datetime"
    else:
        kind = "generic"
    denial = None if gate is None else _denial(definition, nodes[0])
    planned = PlainField(key, definition.python_name, kind, non_null, gate=gate, denial=denial)
    return planned, leaf.serialize


def _read_gate(definition: Any) -> Role | None:
    """The role a field needs when its only extensions check ``Reads`` permissions."""
    if not definition.extensions:
        return None
    minimums = []
    for extension in definition.extensions:
        if not isinstance(extension, PermissionExtension):
            return None
        for permission in extension.permissions:
            if not isinstance(permission, Reads):
                return None
            minimums.append(permission.minimum)
    return max(minimums, key=lambda role: role.rank) if minimums else None


def _denial(definition: Any, node: Any) -> Denial:
    """What the stock path answers for a denied gated field: its permission's message and
    extensions, at the field's place in the document (worked out once per plan)."""
    permission = next(p for e in definition.extensions for p in e.permissions)
    location = node.loc.source.get_location(node.loc.start)
    extensions = tuple((getattr(permission, "error_extensions", None) or {}).items())
    return Denial(permission.message, extensions, location.line, location.column)


def _reads_behind_gate(definition: Any) -> bool:
    """A gated field that, once allowed, is a bare ``getattr`` of the parent."""
    return (
        definition.base_resolver is None
        and definition.default_resolver is getattr
        and definition.python_name.isidentifier()
        and not definition.arguments
    )


def caller_rank(context: Any) -> int:
    """The rank of the caller's role, read once per list and handed to its nested
    objects: each gated field of each item is then one comparison of two numbers."""
    return role_of(getattr(context, "user", None)).rank


def _reads_attribute(field: Any, definition: Any) -> bool:
    """Strawberry resolves this field with a bare ``getattr`` of the parent."""
    return (
        is_default_resolver(field.resolve)
        and definition.is_basic_field
        and definition.default_resolver is getattr
        and definition.python_name.isidentifier()
    )


# What each kind accepts unchanged, exactly where graphql-core's serialiser would return
# the value itself; any other value goes back to the stock path.
_ACCEPT = {
    "int": "{v}.__class__ is int and -2147483648 <= {v} <= 2147483647",
    "str": "{v}.__class__ is str",
    "bool": "{v}.__class__ is bool",
}


@lru_cache(maxsize=256)
def gated(plan: ListPlan) -> bool:
    """Whether the plan, or an object nested in it, has a gated field: only then does it
    track where its items are (a denied field's error needs its path)."""
    return any(field.gate is not None or (field.sub and gated(field.sub)) for field in plan.fields)


def _gates(plan: ListPlan, namespace: dict[str, Any]) -> list[str]:
    """Lines run once per list (or nested object) before any item: whether the caller
    (of ``rank``, see :func:`caller_rank`) may read each gated field. A non-null one they
    may not sends the list to the stock path."""
    lines = []
    for index, field in enumerate(plan.fields):
        if field.gate is not None:
            namespace[f"denial{index}"] = field.denial
            lines.append(f"open{index} = rank >= {field.gate.rank}")
            if field.non_null:
                lines.append(f"if not open{index}: return FALLBACK")
    return lines


def _reads(
    plan: ListPlan, namespace: dict[str, Any], to_orjson: bool, at: str
) -> tuple[list[str], str]:
    """Lines that read ``item``'s fields into locals (returning FALLBACK at anything the
    stock path must handle), and the dict display that gathers them. ``to_orjson``: the
    dicts go straight to orjson, which writes UTC datetimes itself. ``at``: the
    expression of the item's path below the list, where a denied field is noted."""
    lines: list[str] = []
    entries = []
    for index, field in enumerate(plan.fields):
        v = f"v{index}"
        if field.kind == "typename":
            entries.append(f"{field.key!r}: {plan.typename!r}")
            continue
        if field.sub is not None:
            namespace[f"row{index}"] = build_row(field.sub, to_orjson)
            if field.kind == "relation":
                namespace[f"accessor{index}"] = field.accessor
                lines += [
                    f"{v} = accessor{index}(item, context)",
                    f"if {v} is FALLBACK: return FALLBACK",
                ]
            else:
                lines.append(f"{v} = item.{field.attribute}")
            lines += [
                f"if {v} is None:",
                "    return FALLBACK" if field.non_null else "    pass",
                "else:",
                f"    {v} = row{index}({v}, context, denied, {at} + ({field.key!r},), rank)"
                if gated(field.sub)
                else f"    {v} = row{index}({v}, context, None, None, None)",
                f"    if {v} is FALLBACK: return FALLBACK",
            ]
            entries.append(f"{field.key!r}: {v}")
            continue
        if field.gate is not None and not field.non_null:
            lines += [
                f"if not open{index}:",
                f"    denied.append(({at} + ({field.key!r},), denial{index}))",
                f"    {v} = None",
                "else:",
                f"    {v} = item.{field.attribute}",
            ]
        else:
            lines.append(f"{v} = item.{field.attribute}")
        if field.kind in _ACCEPT:
            check = f"not ({_ACCEPT[field.kind].format(v=v)})"
            convert = ""
        elif field.kind == "datetime":
            check = f"{v}.__class__ is not datetime"
            convert = f"{v} = {v}.isoformat()"
            if to_orjson:
                convert = f"if {v}.tzinfo is not UTC: {convert}"
        else:
            check = ""
            convert = (
                f"{v} = serializers[{index}]({v})\n"
                f"if {v} is None or {v} is Undefined: return FALLBACK"
            )
        body = [f"if {check}: return FALLBACK"] if check else []
        body += convert.splitlines() if convert else []
        if field.non_null:
            lines.append(f"if {v} is None: return FALLBACK")
            lines += body
        elif body:
            lines.append(f"if {v} is not None:")
            lines += [f"    {line}" for line in body]
        entries.append(f"{field.key!r}: {v}")
    return lines, "{" + ", ".join(entries) + "}"


def _compiled(plan: ListPlan, lines: list[str], namespace: dict[str, Any], kind: str) -> Any:
    namespace.update(
        FALLBACK=FALLBACK,
        caller_rank=caller_rank,
        UTC=UTC,
        datetime=datetime,
        Undefined=Undefined,
        serializers=plan.serializers,
    )
    source = "\n".join(lines)
    exec(compile(source, f"<fast {kind} {plan.typename}>", "exec"), namespace)  # noqa: S102
    return namespace["build"]


@lru_cache(maxsize=256)
def build_row(plan: ListPlan, to_orjson: bool = False) -> Callable[[Any, Any], Any]:
    """Generate the function that builds one nested object's dict (or returns FALLBACK)."""
    namespace: dict[str, Any] = {}
    reads, display = _reads(plan, namespace, to_orjson, "at")
    lines = [
        "def build(item, context, denied, at, rank):",
        *(f"    {line}" for line in _gates(plan, namespace)),
        "    if hasattr(item, '__await__'):",
        "        return FALLBACK",
        *(f"    {line}" for line in reads),
        f"    return {display}",
    ]
    row: Callable[[Any, Any], Any] = _compiled(plan, lines, namespace, "object")
    return row


@lru_cache(maxsize=256)
def build_list(plan: ListPlan, to_orjson: bool = False) -> Builder:
    """Generate (once per distinct selection and destination) the loop that builds a
    list's items; ``to_orjson``: they go straight to orjson (see the module's notes)."""
    namespace: dict[str, Any] = {}
    reads, display = _reads(plan, namespace, to_orjson, "(position,)")
    lines = [
        "def build(items, context, denied):",
        *(["    rank = caller_rank(context)"] if gated(plan) else []),
        *(f"    {line}" for line in _gates(plan, namespace)),
        "    out = []",
        "    append = out.append",
        "    try:",
        "        for position, item in enumerate(items):"
        if gated(plan)
        else "        for item in items:",
        "            if item is None:",
        "                "
        + ("return FALLBACK" if plan.non_null_items else "append(None); continue"),
        "            if hasattr(item, '__await__'):",
        "                return FALLBACK",
        *(f"            {line}" for line in reads),
        f"            append({display})",
        "    except Exception:",
        "        return FALLBACK",
        "    return out",
    ]
    builder: Builder = _compiled(plan, lines, namespace, "list")
    return builder
