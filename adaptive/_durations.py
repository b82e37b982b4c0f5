"""Durations as configs write them: ``"90s"``, ``"15m"``, ``"72h"``, ``"7d"`` or seconds.

Its own module because configs and metric sources both parse durations, and the sources
must not import the config module (which imports them to check a config's ``[metrics]``).
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from typing import Any

from adaptive._checks import is_number
from adaptive.errors import ValidationError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(field_name: str, value: Any) -> timedelta:
    """``"90s"``, ``"15m"``, ``"72h"``, ``"7d"`` or a number of seconds."""
    if is_number(value) and math.isfinite(value) and value > 0:
        return timedelta(seconds=float(value))
    match = _DURATION.match(value) if isinstance(value, str) else None
    if not match or float(match.group(1)) <= 0:
        raise ValidationError(field_name, value, "expected a positive duration such as '90s', '15m', '72h' or '7d'")
    return timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})
