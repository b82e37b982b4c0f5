"""Objectives (what to optimize) and outcome constraints (what must not break).

An objective names a metric and a direction, with an optional ``threshold``: the
worst value still worth having. Thresholds form the reference point for
hypervolume and bound the Pareto frontier. An outcome constraint is a bound on
a (noisy) metric, written as text: ``"reliability >= -0.01"``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from adaptive._checks import is_number
from adaptive._expressions import LinearInequality, check_name, parse_linear_inequality
from adaptive.errors import DuplicateNameError, ValidationError


@dataclass(frozen=True)
class Objective:
    """A metric to maximize (``minimize=False``) or minimize, with an optional threshold."""

    metric: str
    minimize: bool = False
    threshold: float | None = None

    def __post_init__(self) -> None:
        check_name("objectives.metric", self.metric)
        if self.threshold is not None:
            if not is_number(self.threshold):
                raise ValidationError(f"objectives.{self.metric}.threshold", self.threshold, "must be a number")
            try:
                threshold = float(self.threshold)
            except OverflowError:
                threshold = math.inf
            if not math.isfinite(threshold):
                raise ValidationError(f"objectives.{self.metric}.threshold", self.threshold, "must be finite")
            object.__setattr__(self, "threshold", threshold)

    @property
    def sign(self) -> float:
        """+1 to maximize, -1 to minimize: ``sign * value`` is always 'larger is better'."""
        return -1.0 if self.minimize else 1.0

    def beats_threshold(self, value: float) -> bool:
        return self.threshold is None or self.sign * value >= self.sign * self.threshold

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "minimize": self.minimize, "threshold": self.threshold}


def Maximize(metric: str, threshold: float | None = None) -> Objective:  # noqa: N802 - reads like a type
    """Objective: make ``metric`` as large as possible; ``threshold`` is the least acceptable value."""
    return Objective(metric, minimize=False, threshold=threshold)


def Minimize(metric: str, threshold: float | None = None) -> Objective:  # noqa: N802
    """Objective: make ``metric`` as small as possible; ``threshold`` is the largest acceptable value."""
    return Objective(metric, minimize=True, threshold=threshold)


@dataclass(frozen=True)
class OutcomeConstraint:
    """``metric <= bound`` (``upper=True``) or ``metric >= bound``, from text like ``"cpu_ms <= 120"``."""

    metric: str
    bound: float
    upper: bool

    @classmethod
    def parse(cls, text: str) -> OutcomeConstraint:
        ineq: LinearInequality = parse_linear_inequality(text, field="outcome_constraints")
        if len(ineq.coefficients) != 1:
            raise ValidationError("outcome_constraints", text, "must bound exactly one metric, e.g. 'cpu_ms <= 120'")
        ((metric, coef),) = ineq.coefficients.items()
        try:
            check_name("outcome_constraints", metric)
        except ValidationError as exc:
            raise ValidationError("outcome_constraints", text, exc.problem) from None
        bound = ineq.bound / coef
        if not math.isfinite(bound):
            raise ValidationError("outcome_constraints", text, f"the bound {ineq.bound!r} / {coef!r} is not a finite number")
        parsed = cls(metric=metric, bound=bound, upper=coef > 0)
        # what is stored is `parsed.text`; refuse now what could not be read back later
        again = parse_linear_inequality(parsed.text, field="outcome_constraints")
        if again.coefficients != {metric: 1.0 if parsed.upper else -1.0} or abs(again.bound) != abs(bound):
            raise ValidationError("outcome_constraints", text, f"does not survive storage as {parsed.text!r}")
        return parsed

    @property
    def text(self) -> str:
        return f"{self.metric} {'<=' if self.upper else '>='} {self.bound!r}"

    def satisfied_by(self, value: float) -> bool:
        return value <= self.bound if self.upper else value >= self.bound


@dataclass(frozen=True)
class OptimizationConfig:
    """Objectives and outcome constraints, validated against each other and the parameter names."""

    objectives: tuple[Objective, ...]
    outcome_constraints: tuple[OutcomeConstraint, ...] = ()
    metric_units: tuple[tuple[str, str], ...] = ()  # (metric, unit) pairs; see ``units``

    @classmethod
    def build(
        cls,
        objectives: Objective | Sequence[Objective],
        outcome_constraints: Iterable[str | OutcomeConstraint] = (),
        *,
        parameter_names: Iterable[str] = (),
        units: Mapping[str, str] | None = None,
    ) -> OptimizationConfig:
        objs = (objectives,) if isinstance(objectives, Objective) else tuple(objectives)
        if not objs:
            raise ValidationError("objectives", list(objs), "at least one objective is needed")
        for o in objs:
            if not isinstance(o, Objective):
                raise ValidationError("objectives", o, "use adaptive.Maximize(...) or adaptive.Minimize(...)")
        if isinstance(outcome_constraints, str):
            raise ValidationError("outcome_constraints", outcome_constraints, "must be a list of strings")
        cons = tuple(c if isinstance(c, OutcomeConstraint) else OutcomeConstraint.parse(c) for c in outcome_constraints)
        seen: set[str] = set()
        for o in objs:
            if o.metric in seen:
                raise DuplicateNameError("objectives.metric", o.metric, "is an objective twice")
            seen.add(o.metric)
        directions: set[tuple[str, bool]] = set()
        for c in cons:
            if c.metric in seen:
                raise DuplicateNameError(
                    "outcome_constraints", c.text, f"{c.metric!r} is an objective; give the objective a threshold instead"
                )
            if (c.metric, c.upper) in directions:
                raise DuplicateNameError("outcome_constraints", c.text, f"{c.metric!r} is already bounded on this side")
            directions.add((c.metric, c.upper))
        for c in cons:
            if not any(d for d in directions if d[0] == c.metric and d[1] != c.upper):
                continue
            lo = next(x.bound for x in cons if x.metric == c.metric and not x.upper)
            hi = next(x.bound for x in cons if x.metric == c.metric and x.upper)
            if lo > hi:
                raise ValidationError("outcome_constraints", c.text, f"{c.metric!r} cannot be >= {lo:g} and <= {hi:g}")
        params = set(parameter_names)
        for metric in seen | {c.metric for c in cons}:
            if metric in params:
                raise DuplicateNameError("metric", metric, "is also a parameter name; metrics and parameters need distinct names")
        return cls(objs, cons, _units(units, seen | {c.metric for c in cons}))

    @property
    def units(self) -> dict[str, str]:
        """Metric -> unit (e.g. ``{"cpu_ms": "ms"}``), shown on axes and in reports; presentation only."""
        return dict(self.metric_units)

    @property
    def metrics(self) -> list[str]:
        """Objective metrics first, then constrained ones, each once."""
        names = [o.metric for o in self.objectives]
        return names + [m for m in dict.fromkeys(c.metric for c in self.outcome_constraints) if m not in names]

    def is_feasible(self, values: Mapping[str, float]) -> bool:
        """Whether observed ``values`` satisfy every outcome constraint (a missing metric fails)."""
        return all(c.metric in values and c.satisfied_by(values[c.metric]) for c in self.outcome_constraints)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "objectives": [o.to_dict() for o in self.objectives],
            "outcome_constraints": [c.text for c in self.outcome_constraints],
        }
        if self.metric_units:  # absent when none, so definitions stored before units compare equal
            out["units"] = self.units
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, parameter_names: Iterable[str] = ()) -> OptimizationConfig:
        objs = [Objective(o["metric"], minimize=o["minimize"], threshold=o.get("threshold")) for o in data["objectives"]]
        return cls.build(
            objs, data.get("outcome_constraints", []), parameter_names=parameter_names, units=data.get("units"),
        )


MAX_UNIT_LENGTH = 32


def _units(units: Mapping[str, str] | None, metrics: set[str]) -> tuple[tuple[str, str], ...]:
    if units is None:
        return ()
    if not isinstance(units, Mapping):
        raise ValidationError("units", units, "must map metric names to unit strings, e.g. {'cpu_ms': 'ms'}")
    out = []
    for metric, unit in units.items():
        if metric not in metrics:
            raise ValidationError(f"units.{metric}", unit, f"not an objective or constrained metric; those are {sorted(metrics)}")
        if not isinstance(unit, str) or not unit.strip() or len(unit) > MAX_UNIT_LENGTH or not unit.isprintable():
            raise ValidationError(f"units.{metric}", unit, f"must be printable text of 1 to {MAX_UNIT_LENGTH} characters")
        out.append((metric, unit.strip()))
    return tuple(sorted(out))
