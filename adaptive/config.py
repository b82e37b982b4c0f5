"""Experiment configs in TOML: search space, goals, generation, round policy, metric source, export.

``load_config(path)`` validates a file into an :class:`ExperimentConfig`;
``apply_config(config)`` creates the experiment, leaves it alone when nothing
changed, or updates it in place when the change keeps every existing trial valid.
See ``docs/configs.md`` and the examples in ``configs/``.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from adaptive.errors import ValidationError
from adaptive.generation import GenerationSettings
from adaptive.objectives import Objective, OptimizationConfig
from adaptive.space import Choice, Fixed, Float, Int, SearchSpace, parameter_from_dict
from adaptive.trial import TARGET_SOURCE, check_source

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(field_name: str, value: Any) -> timedelta:
    """``"90s"``, ``"15m"``, ``"72h"``, ``"7d"`` or a number of seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0:
        return timedelta(seconds=float(value))
    match = _DURATION.match(value) if isinstance(value, str) else None
    if not match or float(match.group(1)) <= 0:
        raise ValidationError(field_name, value, "expected a positive duration such as '90s', '15m', '72h' or '7d'")
    return timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})


@dataclass(frozen=True)
class RoundPolicy:
    """``max_parallel``: running trials kept per source; ``max_trial_age``: older running trials are failed."""

    max_parallel: dict[str, int] = field(default_factory=lambda: {TARGET_SOURCE: 1})
    max_trial_age: timedelta | None = None

    def to_dict(self) -> dict[str, Any]:
        age = None if self.max_trial_age is None else self.max_trial_age.total_seconds()
        return {"max_parallel": dict(self.max_parallel), "max_trial_age_seconds": age}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> RoundPolicy:
        data = data or {}
        age = data.get("max_trial_age_seconds")
        return cls(dict(data.get("max_parallel", {TARGET_SOURCE: 1})), None if age is None else timedelta(seconds=age))


@dataclass(frozen=True)
class ExperimentConfig:
    """A validated config file. ``metrics`` and ``export`` stay as dicts for their own modules."""

    name: str
    search_space: SearchSpace
    optimization: OptimizationConfig
    target_source: str = TARGET_SOURCE
    seed: int = 0
    generation: GenerationSettings = field(default_factory=GenerationSettings)
    rounds: RoundPolicy = field(default_factory=RoundPolicy)
    metrics: dict[str, Any] = field(default_factory=dict)
    export: dict[str, Any] = field(default_factory=dict)
    path: str | None = None


def _table(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise ValidationError(key, value, "must be a table")
    return dict(value)


def _objectives(items: Any) -> list[Objective]:
    if not isinstance(items, list) or not items:
        raise ValidationError("objectives", items, "give at least one [[objectives]] table with metric and direction")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping) or "metric" not in item:
            raise ValidationError(f"objectives[{i}]", item, "needs metric = '...'")
        direction = item.get("direction", "maximize")
        if direction not in ("maximize", "minimize"):
            raise ValidationError(f"objectives[{i}].direction", direction, "expected 'maximize' or 'minimize'")
        unknown = set(item) - {"metric", "direction", "threshold"}
        if unknown:
            raise ValidationError(f"objectives[{i}]", sorted(unknown), "unknown keys")
        out.append(Objective(item["metric"], minimize=direction == "minimize", threshold=item.get("threshold")))
    return out


def _rounds(data: Mapping[str, Any], target: str) -> RoundPolicy:
    known = {"max_parallel", "max_trial_age"}
    if set(data) - known:
        raise ValidationError("rounds", sorted(set(data) - known), f"unknown keys; known: {sorted(known)}")
    parallel = data.get("max_parallel", {target: 1})
    if isinstance(parallel, int) and not isinstance(parallel, bool):
        parallel = {target: parallel}
    if not isinstance(parallel, Mapping):
        raise ValidationError("rounds.max_parallel", parallel, "an integer, or a table of source = integer")
    for source, n in parallel.items():
        check_source(source)
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValidationError(f"rounds.max_parallel.{source}", n, "must be an integer >= 0")
    age = data.get("max_trial_age")
    return RoundPolicy(dict(parallel), None if age is None else parse_duration("rounds.max_trial_age", age))


def _parameter(name: str, data: Any) -> Any:
    if not isinstance(data, Mapping):
        raise ValidationError(f"parameters.{name}", data, "must be a table with type = 'float' | 'int' | 'choice' | 'fixed'")
    try:
        return parameter_from_dict(data)
    except ValidationError as exc:
        raise ValidationError(f"parameters.{name}.{exc.field}", exc.value, exc.problem) from None
    except KeyError as exc:
        raise ValidationError(f"parameters.{name}", dict(data), f"missing key {exc.args[0]!r}") from None


def parse_config(data: Mapping[str, Any], *, path: str | None = None) -> ExperimentConfig:
    """Validate a parsed TOML document."""
    known = {"name", "seed", "target_source", "parameters", "parameter_constraints", "objectives",
             "outcome_constraints", "generation", "rounds", "metrics", "export"}
    unknown = set(data) - known
    if unknown:
        raise ValidationError("config", sorted(unknown), f"unknown top-level keys; known: {sorted(known)}")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValidationError("name", name, "every config needs name = '...'")
    target = check_source(data.get("target_source", TARGET_SOURCE))
    parameters = {n: _parameter(n, p) for n, p in _table(data, "parameters").items()}
    space = SearchSpace(parameters, list(data.get("parameter_constraints", [])))
    optimization = OptimizationConfig.build(
        _objectives(data.get("objectives")), list(data.get("outcome_constraints", [])), parameter_names=space.parameters
    )
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**31:
        raise ValidationError("seed", seed, "must be an integer in [0, 2**31)")
    generation = GenerationSettings.from_dict(_table(data, "generation"))
    metrics = _table(data, "metrics")
    if metrics and metrics.get("kind") not in ("python", "sql", "file", "events"):
        raise ValidationError("metrics.kind", metrics.get("kind"), "expected 'python', 'sql', 'file' or 'events'")
    if metrics.get("kind") == "events":
        from adaptive.sources.events import parse_events_spec  # the sources package imports this module

        parse_events_spec(metrics)
    return ExperimentConfig(
        name=name, search_space=space, optimization=optimization, target_source=target, seed=seed,
        generation=generation, rounds=_rounds(_table(data, "rounds"), target), metrics=metrics,
        export=_table(data, "export"), path=path,
    )


def load_config(path: str | Path) -> ExperimentConfig:
    """Read and validate a TOML config file."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text())
    except FileNotFoundError:
        raise ValidationError("config", str(p), "no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError("config", str(p), f"not valid TOML: {exc}") from None
    return parse_config(data, path=str(p))


def spec_of(config: ExperimentConfig, spec_version: int) -> dict[str, Any]:
    """The experiment spec stored in the database for this config."""
    return {
        "version": spec_version,
        "search_space": config.search_space.to_dict(),
        "optimization": config.optimization.to_dict(),
        "generation": config.generation.to_dict(),
        "rounds": config.rounds.to_dict(),
        "metrics": config.metrics,
        "export": config.export,
    }


def incompatibilities(old: SearchSpace, new: SearchSpace, trials_params: list[dict[str, Any]]) -> list[str]:
    """Why ``new`` would invalidate trials made under ``old`` (empty when it would not)."""
    problems = []
    for name in old.parameters:
        if name not in new.parameters:
            problems.append(f"parameter {name!r} would be removed; {len(trials_params)} trials set it")
    for name in new.parameters:
        if name not in old.parameters and trials_params:
            problems.append(f"parameter {name!r} would be added; existing trials have no value for it")
    for name, p in new.parameters.items():
        q = old.parameters.get(name)
        if q is None:
            continue
        if type(p) is not type(q):
            problems.append(f"parameter {name!r} would change type from {type(q).__name__} to {type(p).__name__}")
            continue
        outside = []
        for params in trials_params:
            try:
                p.check(name, params[name])
            except ValidationError:
                outside.append(params[name])
        if outside:
            what = {Float: "bounds", Int: "bounds", Choice: "values", Fixed: "value"}[type(p)]
            problems.append(f"parameter {name!r}: new {what} exclude values trials used, e.g. {outside[0]!r}")
    return problems
