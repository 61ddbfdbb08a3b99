"""Filter expressions that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import ColumnElement, func
from sqlalchemy.orm import InstrumentedAttribute


def name_contains(
    column: InstrumentedAttribute[str] | ColumnElement[str], text: str
) -> ColumnElement[bool]:
    """Case-insensitive substring match, with % and _ taken literally.

    ``lower()`` is Unicode-aware on SQLite too: :mod:`zoo.storage.database` replaces the
    built-in, which folds ASCII only.
    """
    return func.lower(column).contains(text.lower(), autoescape=True)
