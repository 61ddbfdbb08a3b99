"""Alembic's migrations, shipped in the package as ``zoo.migrations`` (see pyproject.toml)."""
