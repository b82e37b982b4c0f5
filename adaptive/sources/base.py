"""The metric-source contract, row validation, and the time limit around a fetch."""

from __future__ import annotations

import importlib
import math
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from adaptive._expressions import check_name
from adaptive.errors import ValidationError
from adaptive.storage.database import mask
from adaptive.trial import Observation, Trial, TrialStatus

DEFAULT_TIMEOUT = timedelta(seconds=60)


class MetricSource:
    """Base: ``fetch`` returns rows ``(trial, metric, mean, sem)`` (tuples or dicts) for running trials."""

    timeout: timedelta = DEFAULT_TIMEOUT

    def fetch(self, experiment: str, trials: Sequence[Trial]) -> Iterable[Any]:  # pragma: no cover - interface
        raise NotImplementedError


class PythonSource(MetricSource):
    def __init__(self, function: str, timeout: timedelta = DEFAULT_TIMEOUT) -> None:
        module, _, attr = function.partition(":")
        if not module or not attr:
            raise ValidationError("metrics.function", function, "expected 'package.module:function'")
        self.function, self.timeout = function, timeout

    def fetch(self, experiment: str, trials: Sequence[Trial]) -> Iterable[Any]:
        module, _, attr = self.function.partition(":")
        fn = getattr(importlib.import_module(module), attr)
        return fn(experiment, list(trials))


def check_no_password(field_name: str, url: str) -> None:
    """Refuse a URL holding a password: it would be stored, in plain text, in the experiment's spec."""
    if mask(url) != url:
        raise ValidationError(
            field_name, mask(url),
            "holds a password, which would be stored in the database; leave it out and let the driver "
            "find it (PGPASSWORD, ~/.pgpass), or, for [metrics] kind = 'sql', put the whole URL in an "
            "environment variable and give its name: url_env = 'METRICS_DATABASE_URL'",
        )


class SQLSource(MetricSource):
    """Rows from a SQL query. The URL is given directly (no password) or read at fetch time
    from the environment variable ``url_env``, so that no secret is ever stored."""

    def __init__(
        self, url: str | None, query: str, timeout: timedelta = DEFAULT_TIMEOUT, *, url_env: str | None = None
    ) -> None:
        if not query or not isinstance(query, str):
            raise ValidationError("metrics.query", query, "a SELECT returning trial, metric, mean, sem")
        if (url is None) == (url_env is None):
            raise ValidationError("metrics.url", url, "give url (without a password) or url_env, not both")
        if url is not None:
            check_no_password("metrics.url", url)
        self.url, self.url_env, self.query, self.timeout = url, url_env, query, timeout

    def _url(self) -> str:
        if self.url is not None:
            return self.url
        value = os.environ.get(self.url_env or "")
        if not value:
            raise RuntimeError(f"environment variable {self.url_env} (metrics.url_env) is not set")
        return value

    def fetch(self, experiment: str, trials: Sequence[Trial]) -> Iterable[Any]:
        engine = sa.create_engine(self._url())
        try:
            with engine.connect() as conn:
                statement = sa.text(self.query)
                params = {"experiment": experiment} if ":experiment" in self.query else {}
                return [dict(r._mapping) for r in conn.execute(statement, params)]
        finally:
            engine.dispose()


class FileSource(MetricSource):
    def __init__(self, path: str, timeout: timedelta = DEFAULT_TIMEOUT) -> None:
        self.path, self.timeout = path, timeout

    def fetch(self, experiment: str, trials: Sequence[Trial]) -> Iterable[Any]:
        p = Path(self.path)
        import pandas as pd

        if p.suffix in (".parquet", ".pq"):
            try:
                import pyarrow  # noqa: F401 - pandas reads Parquet through it
            except ImportError:
                raise ValidationError(
                    "metrics.path", self.path, "reading Parquet needs pyarrow: pip install 'adaptive-experiments[events]'"
                ) from None
            frame = pd.read_parquet(p)
        else:
            frame = pd.read_csv(p)
        records = frame.to_dict("records")
        for row in records:  # an empty cell is NULL: sem unknown (the model infers the noise)
            if isinstance(row.get("sem"), float) and math.isnan(row["sem"]):
                row["sem"] = None
        return records


@dataclass
class FetchResult:
    """Observations per running trial id, and every problem met (row by row)."""

    observations: dict[int, dict[str, Observation]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    rejected_trials: set[int] = field(default_factory=set)
    ignored: int = 0  # rows for trials that already finished


def _row(raw: Any) -> tuple[Any, Any, Any, Any]:
    if isinstance(raw, Mapping):
        return raw.get("trial", raw.get("trial_id")), raw.get("metric"), raw.get("mean"), raw.get("sem")
    values = tuple(raw)
    if len(values) == 3:
        return (*values, None)
    if len(values) != 4:
        raise ValueError("expected (trial, metric, mean, sem)")
    return values


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, (bool, str)):
        raise ValueError(f"{value!r} is not a number")
    try:
        return float(value)
    except OverflowError:
        raise ValueError(f"{str(value)[:20]}... is too large for a float") from None


def collect(source: MetricSource, experiment: str, trials: Sequence[Trial]) -> FetchResult:
    """Run ``source.fetch`` within its time limit and validate every row.

    ``trials`` may be all of the experiment's trials; the source is asked about the
    RUNNING ones. A raising or hanging source yields no observations and one error; a
    bad row (malformed, unknown trial, bad metric name, NaN/inf mean, negative or
    non-finite sem) is reported and its trial is left out this round. A row for a trial
    that already finished is counted in ``ignored``, not reported: append-only logs
    keep the rows of trials completed in earlier rounds.
    """
    result = FetchResult()
    known = {t.id for t in trials}
    running = {t.id: t for t in trials if t.status == TrialStatus.RUNNING}
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["rows"] = list(source.fetch(experiment, list(running.values())))
        except BaseException as exc:  # noqa: BLE001 - reported on the round
            box["error"] = exc

    worker = threading.Thread(target=target, name="adaptive-metric-source", daemon=True)
    worker.start()
    worker.join(source.timeout.total_seconds())
    if worker.is_alive():
        result.errors.append(f"metric source did not answer within {source.timeout.total_seconds():g}s")
        return result
    if "error" in box:
        exc = box["error"]
        result.errors.append(f"metric source raised {type(exc).__name__}: {exc}")
        return result
    for i, raw in enumerate(box.get("rows", [])):
        try:
            trial, metric, mean, sem = _row(raw)
            trial_id = int(trial)
            if float(trial) != trial_id:
                raise ValueError(f"trial {trial!r} is not an integer id")
        except (TypeError, ValueError) as exc:
            result.errors.append(f"row {i}: malformed ({exc}): {raw!r}")
            continue
        if trial_id not in running:
            if trial_id in known:
                result.ignored += 1
            else:
                result.errors.append(f"row {i}: trial {trial_id} is not a trial of {experiment!r}")
            continue
        try:
            check_name("metric", metric)
            m = _number(mean)
            s = _number(sem)  # None (SQL NULL, an empty file cell) is an unknown sem; NaN is an error
            if m is None or not math.isfinite(m):
                raise ValueError(f"mean {mean!r} is not finite")
            if s is not None and (not math.isfinite(s) or s < 0):
                raise ValueError(f"sem {sem!r} must be finite and >= 0")
        except (TypeError, ValueError) as exc:
            result.errors.append(f"row {i}: trial {trial_id}: {exc}")
            result.rejected_trials.add(trial_id)
            continue
        result.observations.setdefault(trial_id, {})[metric] = Observation(m, s)
    for trial_id in result.rejected_trials:
        result.observations.pop(trial_id, None)
    return result
