"""The layering the package promises (docs/architecture.md), checked on the source itself.

Dependencies point one way: domains -> graphql helpers -> core. Upstream internals are
reached only from ``zoo/graphql/fastpath/upstream.py``. Each rule names what breaks it.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ZOO = Path(__file__).resolve().parent.parent / "zoo"
DOMAINS = ("animals", "exhibits", "staff", "history", "auth")
ZOO_DOMAINS = ("animals", "exhibits", "staff", "history")
"""The zoo's own data. ``auth`` is a domain too, but also what every layer above the
database asks "who is this?" of (users, sessions, login limits), as core is."""
DOMAIN_FILES = {"models", "schemas", "service", "loaders", "types", "operations"}
"""The files every domain has by convention: the one name used in several folders."""
MAX_ROOT_MODULES = 6

UPSTREAM_PRIVATE = [
    r"\._raw_info\b",
    r"\._schema\b",
    r"_provided_operation_name",
    r"_create_execution_context",
    r"_get_stream_transport_from_headers",
    r"_stream_transport_map",
    r"\b_is_default\b",
    r"\bDEFINITION_BACKREF\b",
    r"\bis_type_of\s*=[^=]",
    r"\bHttpToolsProtocol\b",
    r"\bSTATUS_LINE\b",
    r"\bself\.cycle\b",
    r"\bcomplete_iterable_value\b",
    r"\bbuild_response\b",
    r"\bcollect_subfields\b",
    r"\bget_stream_usage\b",
    r"\brun_async_work_finished_hook\b",
    r"\bposition_context\b",
    r"uvicorn\.protocols\.",
]
FENCE = ZOO / "graphql" / "fastpath" / "upstream.py"


def modules() -> Iterator[Path]:
    yield from sorted(p for p in ZOO.rglob("*.py") if "static" not in p.parts)


def dotted(path: Path) -> str:
    parts = path.relative_to(ZOO.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(path: Path, *, runtime_only: bool = False) -> set[str]:
    """Every module ``path`` imports (in functions too); ``runtime_only``: not those under
    ``if TYPE_CHECKING:``, which exist for the type checker alone."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if runtime_only and isinstance(node, ast.If) and _type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(), filename=str(path)))
    return found


def in_package(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_a_handful_of_modules_at_the_root() -> None:
    root = sorted(p.name for p in ZOO.glob("*.py") if p.name != "__init__.py")
    assert len(root) <= MAX_ROOT_MODULES, f"modules at zoo/: {root}"


def test_core_imports_no_domain_and_no_graphql() -> None:
    offending = {
        f"{dotted(path)} imports {module}"
        for path in (ZOO / "core").rglob("*.py")
        for module in imports(path)
        if in_package(module, "zoo.graphql")
        or any(in_package(module, f"zoo.{domain}") for domain in DOMAINS)
    }
    assert not offending, sorted(offending)


@pytest.mark.parametrize("domain", DOMAINS)
def test_domains_stay_out_of_transport_and_limits(domain: str) -> None:
    offending = {
        f"{dotted(path)} imports {module}"
        for path in (ZOO / domain).rglob("*.py")
        for module in imports(path)
        if in_package(module, "zoo.graphql.transport") or in_package(module, "zoo.graphql.limits")
    }
    assert not offending, sorted(offending)


def test_only_the_root_schema_of_graphql_imports_the_domains() -> None:
    """The GraphQL helpers serve every domain and know none; ``graphql/schema.py`` assembles
    the root types from the domains' operations (saleor's ``api.py``)."""
    offending = {
        f"{dotted(path)} imports {module}"
        for path in (ZOO / "graphql").rglob("*.py")
        if path.name != "schema.py" or path.parent != ZOO / "graphql"
        for module in imports(path, runtime_only=True)
        if any(in_package(module, f"zoo.{domain}") for domain in ZOO_DOMAINS)
        or in_package(module, "zoo.domains")
    }
    assert not offending, sorted(offending)


@pytest.mark.parametrize("pattern", UPSTREAM_PRIVATE)
def test_upstream_internals_are_reached_only_through_the_fence(pattern: str) -> None:
    found = re.compile(pattern)
    offending = [
        f"{path.relative_to(ZOO.parent)}:{number}: {line.strip()}"
        for path in modules()
        if path != FENCE
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if found.search(line)
    ]
    assert not offending, offending


def test_a_file_name_says_one_thing() -> None:
    """A module name is used once across the packages, but for each domain's own files."""
    seen: dict[str, list[str]] = {}
    for path in modules():
        name = path.stem
        if name == "__init__" or (name in DOMAIN_FILES and path.parent.name in DOMAINS):
            continue
        seen.setdefault(name, []).append(str(path.relative_to(ZOO.parent)))
    repeated = {name: paths for name, paths in seen.items() if len(paths) > 1}
    assert not repeated, repeated
