"""Type checks that mean one thing everywhere.

``bool`` is a subclass of ``int`` in Python, so ``isinstance(True, int)`` holds; a count, a
seed or a weight given as ``True`` is a mistake to refuse, not the number 1.
(``adaptive/serving.py`` keeps its own copy: it imports nothing from the package.)
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, TypeGuard


def is_integer(value: Any) -> TypeGuard[int]:
    """An ``int`` that is not a ``bool``."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> TypeGuard[int | float]:
    """An ``int`` or ``float`` that is not a ``bool`` (finite or not: check that separately)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(value: datetime | None) -> datetime | None:
    """``value`` with a time zone: naive times are UTC (every stored time is; SQLite hands
    them back naive). None stays None."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=timezone.utc)


def at_or_now(at: datetime | None) -> datetime:
    """``at`` as UTC (naive taken as UTC), or now when it is None."""
    return as_utc(at) or utcnow()
