"""The size of a query document, measured with each fragment walked once.

A fragment that spreads the next one twice, n times over, expands to 2^n
selections in a document of a few hundred bytes. Checks that expand fragments
where they are spread (strawberry's depth and alias limiters do) take 2^n steps
to refuse it. Here every fragment is measured once, in dependency order, and a
spread adds its fragment's figures: the work is linear in the document, and
the figures are those of the expanded document.

Graphql-core's rule that fields of one response key can be merged compares
every pair of fields that end up under one response path, and every pair of
fragments spread into one selection set: quadratic, and 0.5 s for some
documents of 2,000 tokens. :func:`field_pairs` counts those pairs (on a
document already known to be small once expanded) so that they can be
bounded before that rule runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

SATURATED = 10**15
"""Figures stop growing here: an expansion of 2^80 need not be counted exactly."""


def _add(a: int, b: int) -> int:
    return min(a + b, SATURATED)


@dataclass(slots=True)
class Figures:
    depth: int = 0
    """Fields with a selection set on the longest path (introspection fields not counted)."""
    aliases: int = 0
    fields: int = 0
    """Field selections once every fragment is expanded."""
    spreads: int = 0
    """Fragment spreads once every fragment is expanded."""

    def absorb(self, other: Figures, *, level: bool) -> None:
        """Add ``other``'s counts; ``level``: it sits at this level (a fragment spread),
        so its depth is this level's."""
        if level:
            self.depth = max(self.depth, other.depth)
        self.aliases = _add(self.aliases, other.aliases)
        self.fields = _add(self.fields, other.fields)
        self.spreads = _add(self.spreads, other.spreads)


@dataclass(frozen=True, slots=True)
class Shape:
    depth: int
    aliases: int
    fields: int
    spreads: int
    fragments: int
    """Fragment definitions."""
    visited: int
    """Selections the measurement looked at: each node of the document once."""


class _Measure:
    def __init__(self, document: DocumentNode) -> None:
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.done: dict[str, Figures] = {}
        self.visited = 0

    def fragment_order(self) -> Iterator[str]:
        """Fragments after the fragments they spread (a cycle, refused by validation, is cut)."""
        state: dict[str, bool] = {}  # False: being visited; True: done
        for root in self.fragments:
            if root in state:
                continue
            stack = [(root, iter(self._spread_names(self.fragments[root].selection_set)))]
            state[root] = False
            while stack:
                name, children = stack[-1]
                child = next(children, None)
                if child is None:
                    stack.pop()
                    state[name] = True
                    yield name
                elif child in self.fragments and child not in state:
                    state[child] = False
                    stack.append(
                        (child, iter(self._spread_names(self.fragments[child].selection_set)))
                    )

    def _spread_names(self, selection_set: SelectionSetNode) -> Iterator[str]:
        for node in selection_set.selections:
            if isinstance(node, FragmentSpreadNode):
                yield node.name.value
            elif isinstance(node, (FieldNode, InlineFragmentNode)) and node.selection_set:
                yield from self._spread_names(node.selection_set)

    def selection_set(self, selection_set: SelectionSetNode) -> Figures:
        figures = Figures()
        self._level(selection_set, figures)
        return figures

    def _level(self, selection_set: SelectionSetNode, figures: Figures) -> None:
        """The selections of one level: fields, and what inline fragments add to it."""
        for node in selection_set.selections:
            self.visited += 1
            if isinstance(node, FieldNode):
                figures.fields = _add(figures.fields, 1)
                if node.alias is not None:
                    figures.aliases = _add(figures.aliases, 1)
                if node.selection_set is not None:
                    child = self.selection_set(node.selection_set)
                    figures.absorb(child, level=False)
                    # As strawberry's limiter: introspection fields do not count, nor below.
                    if not node.name.value.startswith("__"):
                        figures.depth = max(figures.depth, 1 + child.depth)
            elif isinstance(node, InlineFragmentNode):
                self._level(node.selection_set, figures)
            elif isinstance(node, FragmentSpreadNode):
                figures.spreads = _add(figures.spreads, 1)
                spread = self.done.get(node.name.value)
                if spread is not None:
                    figures.absorb(spread, level=True)

    def run(self, operations: Iterable[OperationDefinitionNode]) -> Shape:
        for name in self.fragment_order():
            self.done[name] = self.selection_set(self.fragments[name].selection_set)
        totals = Figures()
        for operation in operations:
            figures = self.selection_set(operation.selection_set)
            totals.absorb(figures, level=False)
            totals.depth = max(totals.depth, figures.depth)
        return Shape(
            depth=totals.depth,
            aliases=totals.aliases,
            fields=totals.fields,
            spreads=totals.spreads,
            fragments=len(self.fragments),
            visited=self.visited,
        )


def measure(document: DocumentNode) -> Shape:
    """The figures of every operation in ``document`` together (as strawberry's limiters
    count them: depth per operation, aliases summed over operations)."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return _Measure(document).run(operations)


class _Group:
    """Fields merged under one response path, as execution merges them."""

    __slots__ = ("children", "count")

    def __init__(self) -> None:
        self.count = 0
        self.children: dict[str, _Group] = {}


def field_pairs(document: DocumentNode) -> int:
    """About how many pairs of fields the overlap rule compares: the sum, over every
    response path, of the square of the number of fields merged there.

    The walk expands fragments, so it is meant for a document whose expanded
    size :func:`measure` has already bounded.
    """
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    root = _Group()

    def collect(selection_set: SelectionSetNode, group: _Group, active: frozenset[str]) -> None:
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                child = group.children.setdefault((node.alias or node.name).value, _Group())
                child.count += 1
                if node.selection_set is not None:
                    collect(node.selection_set, child, active)
            elif isinstance(node, InlineFragmentNode):
                collect(node.selection_set, group, active)
            elif isinstance(node, FragmentSpreadNode):
                name = node.name.value
                if name in fragments and name not in active:
                    collect(fragments[name].selection_set, group, active | {name})

    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            collect(definition.selection_set, root, frozenset())
    pairs, pending = 0, [root]
    while pending:
        group = pending.pop()
        pairs += group.count * group.count
        pending.extend(group.children.values())
    return pairs
