"""The ASGI app as uvicorn imports it (``zoo.main:app``), configured from the environment."""

import sys

from zoo.app import create_app
from zoo.config import Settings
from zoo.observability.logs import configure_logging

settings = Settings()
configure_logging(settings.log_level, settings.log_format)
if settings.is_sqlite:
    # Each SQLite statement is several round trips to aiosqlite's thread, and each
    # needs the GIL back from a loop busy with other requests: Python's default 5 ms
    # switch interval let a flood of cheap refused requests hold every hop that long
    # (normal reads' p99 8.3x under `make attack`; 3.5x at 0.5 ms).
    sys.setswitchinterval(0.0005)
app = create_app(settings)
