"""The ASGI app as uvicorn imports it (``zoo.main:app``), configured from the environment."""

import logging

from zoo.app import create_app
from zoo.config import Settings

settings = Settings()
logging.basicConfig(level=settings.log_level, format="%(levelname)s %(name)s: %(message)s")
app = create_app(settings)
