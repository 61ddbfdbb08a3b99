"""The ASGI app as uvicorn imports it (``zoo.main:app``), configured from the environment."""

import logging

from zoo.app import create_app
from zoo.config import Settings
from zoo.http import RequestIdFilter

settings = Settings()
logging.basicConfig(
    level=settings.log_level, format="%(levelname)s [%(request_id)s] %(name)s: %(message)s"
)
for handler in logging.getLogger().handlers:
    handler.addFilter(RequestIdFilter())
app = create_app(settings)
