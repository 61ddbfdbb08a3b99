"""Debian's Chromium, as the browser tests drive it (through Playwright, its own build unused)."""

from __future__ import annotations

import os
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
REQUIRED = os.environ.get("ZOO_TEST_REQUIRE_CLIENTS", "") == "1"
"""Set by ``.ci/run``: there a missing browser or client fails instead of skipping."""

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
"""Headless, and quiet: this machine reaches no network but its own."""

MISSING = not CHROMIUM.exists() and not REQUIRED
"""Tests marked ``browser`` skip then (conftest), and pytest's header says so."""
