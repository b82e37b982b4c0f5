"""The three raw logs, their columns, and what the metric definitions over them look like.

``intents`` (one row per decision: who was meant to get what):
    decision_id (string, unique per decision), member_id (string), experiment (string),
    arm (string: the trial id for experiments, the action for bandits),
    policy_version (string, may be null), propensity (float in (0, 1]), ts (timestamp, UTC).

``treatments`` (what the device actually showed, possibly several times):
    event_id (string, unique per event), member_id, experiment, arm, ts, device (string, may be null).

``activity`` (what members did afterwards):
    event_id (string, unique per event), member_id, event_type (string), value (float, finite), ts.

Every table may carry ``ingested_at`` (timestamp): when the row reached the log. It is
what the watermark compares against; without it, ``ts`` is used. Rows with the same
id are duplicates (redelivery) and count once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from adaptive._expressions import check_name
from adaptive.errors import ValidationError

TABLES: dict[str, dict[str, bool]] = {
    # column -> required (non-null)
    "intents": {
        "decision_id": True, "member_id": True, "experiment": True, "arm": True, "policy_version": False,
        "propensity": True, "ts": True,
    },
    "treatments": {"event_id": True, "member_id": True, "experiment": True, "arm": True, "ts": True, "device": False},
    "activity": {"event_id": True, "member_id": True, "event_type": True, "value": True, "ts": True},
}
ID_COLUMN = {"intents": "decision_id", "treatments": "event_id", "activity": "event_id"}
OPTIONAL_COLUMNS = {"ingested_at"}
AGGREGATES = ("sum", "count", "any")
TOUCHES = ("first", "last")
VIEWS = ("itt", "treated")


@dataclass(frozen=True)
class EventMetric:
    """A per-member metric from activity events of one type.

    ``aggregate``: ``"sum"`` of the events' values, ``"count"`` of events, or ``"any"``
    (1 if the member had at least one such event, else 0). Members with no attributed
    event count as 0.
    """

    name: str
    event_type: str
    aggregate: str = "sum"

    def __post_init__(self) -> None:
        check_name("metrics.name", self.name)
        if not isinstance(self.event_type, str) or not self.event_type:
            raise ValidationError(f"metrics.{self.name}.event_type", self.event_type, "must be a non-empty string")
        if self.aggregate not in AGGREGATES:
            raise ValidationError(f"metrics.{self.name}.aggregate", self.aggregate, f"expected one of {AGGREGATES}")


@dataclass(frozen=True)
class RatioMetric:
    """Ratio of two event metrics' means over members (e.g. plays per session); its sem
    comes from the delta method."""

    name: str
    numerator: str
    denominator: str

    def __post_init__(self) -> None:
        check_name("metrics.name", self.name)


@dataclass(frozen=True)
class AttributionSettings:
    """How logs are joined.

    Attributes:
        exposure_window: a treatment counts for an intent of the same member, experiment and
            arm made at most this long before it (the latest such intent wins).
        attribution_window: an activity event counts for a decision when it happens within
            this long after the decision's anchor (the intent in the intent-to-treat view, the
            first treatment in the treated view).
        touch: ``"last"`` gives an event to the most recent anchor before it, ``"first"`` to the
            earliest one still within the window (per experiment; each event counts once).
    """

    exposure_window: timedelta = timedelta(hours=1)
    attribution_window: timedelta = timedelta(days=1)
    touch: str = "last"

    def __post_init__(self) -> None:
        for name in ("exposure_window", "attribution_window"):
            value = getattr(self, name)
            if not isinstance(value, timedelta) or value <= timedelta(0):
                raise ValidationError(f"attribution.{name}", value, "must be a positive duration")
        if self.touch not in TOUCHES:
            raise ValidationError("attribution.touch", self.touch, f"expected one of {TOUCHES}")


def check_metrics(metrics: list[EventMetric | RatioMetric]) -> tuple[list[EventMetric], list[RatioMetric]]:
    """Split and check metric definitions: unique names, ratios over defined event metrics."""
    if not metrics:
        raise ValidationError("metrics", [], "define at least one metric")
    names = [m.name for m in metrics]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValidationError("metrics", duplicated, "metric names must be unique")
    events = [m for m in metrics if isinstance(m, EventMetric)]
    ratios = [m for m in metrics if isinstance(m, RatioMetric)]
    known = {m.name for m in events}
    for r in ratios:
        for part in (r.numerator, r.denominator):
            if part not in known:
                raise ValidationError(f"metrics.{r.name}", part, f"is not an event metric (known: {sorted(known)})")
    return events, ratios
