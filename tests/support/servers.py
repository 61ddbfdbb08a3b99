"""Real servers for the tests: uvicorn in the test's process, or ``zoo`` as a subprocess."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
import uvicorn

from bench.http import free_port
from tests.support.databases import ROOT

__all__ = [
    "Live",
    "free_port",
    "python_module",
    "running",
    "wait_until_serving",
    "zoo",
    "zoo_serve",
]

Live = Callable[..., Any]


@asynccontextmanager
async def running(app: Any, port: int | None = None) -> AsyncIterator[str]:
    """``app`` served by uvicorn in the test's own process (its lifespan included), so that
    a test can look inside it (the broker's subscribers, the loop's tasks) as clients use it."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port or free_port(), log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        await task


@contextmanager
def zoo_serve(
    database_url: str, *arguments: str, env: Mapping[str, str] | None = None, **popen: Any
) -> Iterator[tuple[str, subprocess.Popen[Any]]]:
    """A real ``zoo serve`` process on a free port, its environment free of the suite's
    ``ZOO_*`` and ``OTEL_*`` settings but for ``env``; yields its base URL and the process,
    stopped at the end if it still runs."""
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("ZOO_", "OTEL_"))}
    environment.pop("PROMETHEUS_MULTIPROC_DIR", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "zoo", "serve", "--port", str(port), *arguments],
        cwd=ROOT,
        env={**environment, "ZOO_DATABASE_URL": database_url, **(env or {})},
        **popen,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, process)
        yield base, process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=15)


def zoo(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return python_module("zoo", *args, env=env)


def python_module(
    module: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m module args``, its environment free of the suite's ``ZOO_*`` but for ``env``."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ZOO_")}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment,
        timeout=120,
        check=False,
    )


def wait_until_serving(base: str, process: subprocess.Popen[Any], seconds: float = 30) -> None:
    """Until the server at ``base`` answers /health (any status); fails if it exits first."""
    deadline = time.monotonic() + seconds
    while True:
        assert process.poll() is None, "the server exited"
        try:
            httpx.get(f"{base}/health", timeout=1)
            return
        except httpx.TransportError:
            assert time.monotonic() < deadline, "the server did not answer"
            time.sleep(0.2)
