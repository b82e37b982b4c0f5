"""Plain domain objects returned by storage and the API: trials and their observations."""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from adaptive._expressions import check_name
from adaptive.errors import ValidationError

TARGET_SOURCE = "online"


class TrialStatus(str, enum.Enum):
    """Lifecycle: RUNNING -> COMPLETED | FAILED | ABANDONED. Only RUNNING trials change."""

    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    ABANDONED = "ABANDONED"


@dataclass(frozen=True)
class Observation:
    """One metric's observed ``mean`` and standard error ``sem`` (``None``: noise unknown), in the metric's units."""

    mean: float
    sem: float | None = None


@dataclass(frozen=True)
class Trial:
    """One evaluated (or pending) configuration.

    ``id`` is the trial's index within its experiment: dense, starting at 0.
    """

    id: int
    experiment: str
    status: TrialStatus
    source: str
    params: dict[str, Any]
    generator: str
    created_at: datetime
    completed_at: datetime | None = None
    failure_reason: str | None = None
    observations: dict[str, Observation] = field(default_factory=dict)

    @property
    def index(self) -> int:
        return self.id

    def means(self) -> dict[str, float]:
        return {m: o.mean for m, o in self.observations.items()}


def check_source(source: object) -> str:
    """Sources are identifiers: ``"online"`` (the target) or an offline name such as ``"simulator"``."""
    return check_name("source", source)


def parse_observations(metrics: object) -> dict[str, Observation]:
    """Validate ``{metric: mean | (mean, sem)}``; NaN/inf means and negative or non-finite sems are rejected."""
    if not isinstance(metrics, Mapping) or not metrics:
        raise ValidationError("metrics", metrics, "must be a non-empty dict of metric -> mean or (mean, sem)")
    out: dict[str, Observation] = {}
    for name, value in metrics.items():
        check_name("metrics", name)
        if isinstance(value, Observation):
            mean, sem = value.mean, value.sem
        elif isinstance(value, (tuple, list)):
            if len(value) != 2:
                raise ValidationError(f"metrics.{name}", value, "expected (mean, sem)")
            mean, sem = value
        elif isinstance(value, Mapping) and "mean" in value:
            mean, sem = value["mean"], value.get("sem")
        else:
            mean, sem = value, None
        mean = _number(f"metrics.{name}.mean", mean)
        if sem is not None:
            sem = _number(f"metrics.{name}.sem", sem)
            if sem < 0:
                raise ValidationError(f"metrics.{name}.sem", sem, "a standard error cannot be negative")
        out[name] = Observation(mean, sem)
    return out


def _number(field_name: str, value: Any) -> float:
    try:
        if isinstance(value, (bool, str)):
            raise TypeError
        v = float(value)
    except (TypeError, ValueError):
        raise ValidationError(field_name, value, "must be a number") from None
    except OverflowError:
        raise ValidationError(field_name, value, "is too large for a float") from None
    if not math.isfinite(v):
        raise ValidationError(field_name, value, "must be finite (not NaN or inf)")
    return v
