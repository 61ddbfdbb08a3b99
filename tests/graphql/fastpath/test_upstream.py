"""The fence around upstream internals: checked at import, and naming whatever moved."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from graphql.execution.executor import Executor
from strawberry.asgi import GraphQL

from tests.support.databases import ROOT
from zoo.graphql.fastpath import upstream


def test_every_internal_is_where_the_fence_expects_it() -> None:
    upstream.check()


def test_a_missing_internal_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(Executor, "collect_subfields")
    with pytest.raises(upstream.UpstreamMoved) as moved:
        upstream.check()
    assert "StrawberryGraphQLCoreExecutionContext.collect_subfields is gone" in str(moved.value)
    assert "graphql-core 3." in str(moved.value)


def test_changed_parameters_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    def renamed(self: GraphQL, request_headers: dict[str, str]) -> None:
        return None

    monkeypatch.setattr(GraphQL, "_get_stream_transport_from_headers", renamed)
    with pytest.raises(upstream.UpstreamMoved) as moved:
        upstream.check()
    message = str(moved.value)
    assert "strawberry.asgi.GraphQL._get_stream_transport_from_headers takes" in message
    assert "('self', 'request_headers'), expected ('self', 'headers')" in message


def test_an_attribute_no_longer_set_is_named() -> None:
    def quiet(self: object) -> None:
        self.current = None  # type: ignore[attr-defined]

    expected = upstream.Expected(quiet, "cycle", set_in_source=True)
    with pytest.raises(upstream.UpstreamMoved, match=r"quiet\.cycle is no longer set"):
        upstream.check([expected])


def test_the_app_refuses_to_import_when_an_internal_moved() -> None:
    """As an upgrade would show it: the import fails at once, naming the internal."""
    script = textwrap.dedent(
        """
        from graphql.execution.executor import Executor
        del Executor.get_stream_usage
        import zoo.app
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert result.returncode == 1
    assert "UpstreamMoved" in result.stderr
    assert "get_stream_usage is gone" in result.stderr
