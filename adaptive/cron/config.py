"""Experiment configs in TOML: search space, goals, generation, round policy, metric source, export.

``load_config(path)`` validates a file into an :class:`ExperimentConfig`;
``apply_config(config)`` creates the experiment, leaves it alone when nothing
changed, or updates it in place when the change keeps every existing trial valid.
See ``docs/configs.md`` and the examples in ``configs/``.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from adaptive._checks import is_integer, is_number
from adaptive._durations import parse_duration
from adaptive._expressions import check_experiment_name
from adaptive.errors import ValidationError
from adaptive.generation import GenerationSettings
from adaptive.objectives import Objective, OptimizationConfig
from adaptive.space import Choice, Fixed, Float, Int, SearchSpace, parameter_from_dict
from adaptive.spec import check_export_options
from adaptive.trial import TARGET_SOURCE, check_source


@dataclass(frozen=True)
class RoundPolicy:
    """``max_parallel``: running trials kept per source; ``max_trial_age``: older running
    trials are failed. ``None`` (not set) means the default, :func:`default_trial_age`;
    ``"never"`` turns failing stale trials off. ``every``: how often ``adaptive round --all``
    runs the experiment's round (``None``: at every ``--all``)."""

    max_parallel: dict[str, int] = field(default_factory=lambda: {TARGET_SOURCE: 1})
    max_trial_age: timedelta | str | None = None
    every: timedelta | None = None

    def to_dict(self) -> dict[str, Any]:
        age = self.max_trial_age
        stored = age.total_seconds() if isinstance(age, timedelta) else age
        out: dict[str, Any] = {"max_parallel": dict(self.max_parallel), "max_trial_age_seconds": stored}
        if self.every is not None:  # absent when unset, so specs stored before schedules compare equal
            out["every_seconds"] = self.every.total_seconds()
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> RoundPolicy:
        data = data or {}
        age = data.get("max_trial_age_seconds")
        parsed = age if age is None or age == NEVER else timedelta(seconds=age)
        every = data.get("every_seconds")
        return cls(dict(data.get("max_parallel", {TARGET_SOURCE: 1})), parsed,
                   None if every is None else timedelta(seconds=every))


@dataclass(frozen=True)
class Schedule:
    """When an experiment's next round is due: ``every`` (None: at every ``--all``) after
    ``last_start`` (None: never ran, so due now)."""

    experiment: str
    every: timedelta | None
    last_start: datetime | None

    @property
    def next_due(self) -> datetime | None:
        if self.last_start is None or self.every is None:
            return None  # due now
        return self.last_start + self.every

    def is_due(self, now: datetime) -> bool:
        return self.next_due is None or self.next_due <= now

    def is_overdue(self, now: datetime) -> bool:
        """A whole period late: no host ran it when it was due."""
        return self.next_due is not None and self.every is not None and now >= self.next_due + self.every


NEVER = "never"
MIN_DEFAULT_TRIAL_AGE = timedelta(days=7)
NO_HISTORY_TRIAL_AGE = timedelta(days=30)


def default_trial_age(completion_times: list[timedelta]) -> timedelta:
    """How long a trial may run when ``max_trial_age`` is not set.

    Three times the longest a completed trial of the experiment took, at least 7 days;
    30 days before any trial completed. A trial whose process died (an API caller killed
    before it reported) is then failed eventually instead of blocking its slot forever,
    while trials whose metrics need weeks are not cut short.
    """
    if not completion_times:
        return NO_HISTORY_TRIAL_AGE
    return max(MIN_DEFAULT_TRIAL_AGE, 3 * max(completion_times))


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


# options of Experiment.export_distribution a config's [export] table may set
EXPORT_OPTIONS = {"prefer", "constraints", "weights", "top_k", "min_weight", "n_draws", "model_candidates"}
EXPORT_KEYS = EXPORT_OPTIONS | {"every_round", "path"}
METRICS_KEYS = {
    "python": {"kind", "function", "timeout"},
    "sql": {"kind", "url", "url_env", "query", "timeout"},
    "file": {"kind", "path", "timeout"},
}
# Every [metrics] kind: the three above and "events" (its table is checked by adaptive.sources.events).
METRIC_SOURCE_KINDS = (*METRICS_KEYS, "events")


def unknown_kind(kind: object) -> ValidationError:
    """The error for a ``[metrics] kind`` that is not one of ``METRIC_SOURCE_KINDS``."""
    names = [repr(k) for k in METRIC_SOURCE_KINDS]
    return ValidationError("metrics.kind", kind, f"expected {', '.join(names[:-1])} or {names[-1]}")


def _table(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise ValidationError(key, value, "must be a table")
    return dict(value)


def _no_unknown_keys(table: Mapping[str, Any], known: set[str], where: str) -> None:
    for key in table:
        if key not in known:
            raise ValidationError(f"{where}.{key}", table[key], f"unknown key; known: {sorted(known)}")


def _string_list(data: Mapping[str, Any], key: str) -> list[str]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise ValidationError(key, value, "must be a list of strings, e.g. [\"x + y <= 1\"]")
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise ValidationError(f"{key}[{i}]", item, "must be a string")
    return value


def _export(data: Mapping[str, Any]) -> dict[str, Any]:
    """Check ``[export]``: every key known, every value of its type (values in range are checked on export)."""
    _no_unknown_keys(data, EXPORT_KEYS, "export")
    if "every_round" in data and not isinstance(data["every_round"], bool):
        raise ValidationError("export.every_round", data["every_round"], "must be true or false")
    for key in ("path", "prefer"):
        if key in data and (not isinstance(data[key], str) or not data[key]):
            raise ValidationError(f"export.{key}", data[key], "must be a non-empty string")
    check_export_options(data, "export.")
    if "constraints" in data:
        _string_list({"export.constraints": data["constraints"]}, "export.constraints")
    if "weights" in data:
        weights = data["weights"]
        if not isinstance(weights, Mapping):
            raise ValidationError("export.weights", weights, "must be a table of objective = weight")
        for metric, w in weights.items():
            if not is_number(w) or not math.isfinite(w):
                raise ValidationError(f"export.weights.{metric}", w, "must be a finite number")
    return dict(data)


def _metrics(data: Mapping[str, Any]) -> dict[str, Any]:
    if not data:
        return {}
    kind = data.get("kind")
    if kind not in METRIC_SOURCE_KINDS:
        raise unknown_kind(kind)
    if kind == "events":
        from adaptive.sources.events import parse_events_spec  # pandas and the attribution SQL: only for this kind

        parse_events_spec(data)
        return dict(data)
    _no_unknown_keys(data, METRICS_KEYS[kind], "metrics")
    if kind == "sql" and isinstance(data.get("url"), str):
        from adaptive.sources.base import check_no_password  # config parsing stays free of the sources' imports

        check_no_password("metrics.url", data["url"])
    for key in METRICS_KEYS[kind] - {"kind", "timeout"}:
        if key in data and (not isinstance(data[key], str) or not data[key].strip()):
            raise ValidationError(f"metrics.{key}", data[key], "must be a non-empty string")
    if "timeout" in data:
        parse_duration("metrics.timeout", data["timeout"])
    return dict(data)


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
    known = {"max_parallel", "max_trial_age", "every"}
    if set(data) - known:
        raise ValidationError("rounds", sorted(set(data) - known), f"unknown keys; known: {sorted(known)}")
    parallel = data.get("max_parallel", {target: 1})
    if is_integer(parallel):
        parallel = {target: parallel}
    if not isinstance(parallel, Mapping):
        raise ValidationError("rounds.max_parallel", parallel, "an integer, or a table of source = integer")
    for source, n in parallel.items():
        check_source(source)
        if not is_integer(n) or n < 0:
            raise ValidationError(f"rounds.max_parallel.{source}", n, "must be an integer >= 0")
    age = data.get("max_trial_age")
    every = None if data.get("every") is None else parse_duration("rounds.every", data["every"])
    if age is None or age == NEVER:
        return RoundPolicy(dict(parallel), age, every)
    return RoundPolicy(dict(parallel), parse_duration("rounds.max_trial_age", age), every)


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
             "outcome_constraints", "units", "generation", "rounds", "metrics", "export"}
    unknown = set(data) - known
    if unknown:
        raise ValidationError("config", sorted(unknown), f"unknown top-level keys; known: {sorted(known)}")
    name = data.get("name")
    if name is None:
        raise ValidationError("name", name, "every config needs name = '...'")
    check_experiment_name(name)
    target = check_source(data.get("target_source", TARGET_SOURCE))
    parameters = {n: _parameter(n, p) for n, p in _table(data, "parameters").items()}
    space = SearchSpace(parameters, _string_list(data, "parameter_constraints"))
    optimization = OptimizationConfig.build(
        _objectives(data.get("objectives")), _string_list(data, "outcome_constraints"), parameter_names=space.parameters,
        units=_table(data, "units") or None,
    )
    seed = data.get("seed", 0)
    if not is_integer(seed) or not 0 <= seed < 2**31:
        raise ValidationError("seed", seed, "must be an integer in [0, 2**31)")
    generation = GenerationSettings.from_dict(_table(data, "generation"))
    metrics = _metrics(_table(data, "metrics"))
    export = _export(_table(data, "export"))
    if path is not None:
        metrics, export = _resolve_paths(metrics, export, Path(path).parent)
    return ExperimentConfig(
        name=name, search_space=space, optimization=optimization, target_source=target, seed=seed,
        generation=generation, rounds=_rounds(_table(data, "rounds"), target), metrics=metrics,
        export=export, path=path,
    )


def _resolve_paths(
    metrics: dict[str, Any], export: dict[str, Any], folder: Path
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Relative file paths in a config file are relative to its folder (cron starts rounds in $HOME)."""

    def resolved(value: str) -> str:
        p = Path(value).expanduser()
        return os.path.normpath(p if p.is_absolute() else (folder / p).absolute())

    metrics, export = dict(metrics), dict(export)
    if metrics.get("kind") == "file" and isinstance(metrics.get("path"), str):
        metrics["path"] = resolved(metrics["path"])
    if metrics.get("kind") == "events":
        for table in ("intents", "treatments", "activity", "state"):
            if isinstance(metrics.get(table), str) and metrics[table] and "://" not in metrics[table]:
                metrics[table] = resolved(metrics[table])
    if isinstance(export.get("path"), str):
        export["path"] = resolved(export["path"])
    return metrics, export


def load_config(path: str | Path) -> ExperimentConfig:
    """Read and validate a TOML config file."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValidationError("config", str(p), "no such file") from None
    except IsADirectoryError:
        raise ValidationError("config", str(p), "is a directory; give a TOML file") from None
    except UnicodeDecodeError as exc:
        raise ValidationError("config", str(p), f"not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ValidationError("config", str(p), f"cannot be read ({exc.strerror or exc})") from None
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
