"""Raw logs -> per-arm metrics (mean, sem) and per-decision rewards, on DuckDB or Spark."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from adaptive.errors import ValidationError
from adaptive.events import query
from adaptive.events.engines import Engine, LogInput, make_engine
from adaptive.events.schema import TABLES, VIEWS, AttributionSettings, EventMetric, RatioMetric, check_metrics

logger = logging.getLogger(__name__)

METRIC_COLUMNS = ["experiment", "arm", "view", "metric", "n", "mean", "sem"]


@dataclass
class EventMetrics:
    """What one computation produced.

    Attributes:
        metrics: one row per experiment, arm, view (``itt``: every intended member;
            ``treated``: members shown the arm) and metric: ``n`` members, ``mean`` and
            ``sem`` (standard error of the mean; delta method for ratios) in the metric's units.
        rewards: one row per decision: ids, ``propensity``, ``decided_at``, ``exposed_at``
            (NaT if never shown), ``treated``, ``n_shown``, and each event metric's
            intent-to-treat attributed value.
        treatments_without_intent: treatments no intent explains (not used in any metric).
        intents_never_treated: decisions never shown (in the intent-to-treat view only).
        counts: duplicates dropped per table, rows after the watermark (left for the next
            computation), late events (ingested after ``since`` but happened before it),
            activity attributed to no decision, and table sizes.
        watermark: rows ingested up to this instant were used.
        recomputed_days: for an incremental computation (:mod:`adaptive.events.incremental`),
            the UTC days whose decisions were attributed afresh; None for a full one.
    """

    metrics: pd.DataFrame
    rewards: pd.DataFrame
    treatments_without_intent: pd.DataFrame
    intents_never_treated: pd.DataFrame
    counts: dict[str, int]
    watermark: datetime
    engine: str
    seconds: float = 0.0
    event_metrics: list[str] = field(default_factory=list)
    recomputed_days: list[date] | None = None

    def observations(self, experiment: str, *, view: str = "itt") -> list[tuple[int, str, float, float | None]]:
        """``(trial, metric, mean, sem)`` rows for ``experiment``'s arms that are trial ids,
        ready for a round's metric source."""
        if view not in VIEWS:
            raise ValidationError("view", view, f"expected one of {VIEWS}")
        rows = self.metrics[(self.metrics["experiment"] == experiment) & (self.metrics["view"] == view)]
        out = []
        for r in rows.itertuples(index=False):
            if not str(r.arm).isdigit() or not math.isfinite(r.mean):
                continue
            sem = None if r.sem is None or not math.isfinite(r.sem) else float(r.sem)
            out.append((int(r.arm), str(r.metric), float(r.mean), sem))
        return out


def to_micros(at: datetime) -> int:
    """Microseconds since the epoch; a naive datetime is taken as UTC."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    delta = at - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def compute_metrics(
    *,
    intents: LogInput,
    treatments: LogInput,
    activity: LogInput,
    metrics: Sequence[EventMetric | RatioMetric],
    settings: AttributionSettings | None = None,
    watermark: datetime | None = None,
    since: datetime | None = None,
    engine: str | Engine = "duckdb",
    engine_options: dict[str, Any] | None = None,
) -> EventMetrics:
    """Attribute activity to decisions and compute per-arm metrics and per-decision rewards.

    Each log is a DataFrame, a Parquet/CSV file or a folder of Parquet files (columns in
    :mod:`adaptive.events.schema`). Only rows ingested by ``watermark`` (default: now) are
    used; the computation is a pure function of those rows, so rows ingested later are
    picked up by the next computation and nothing is counted twice. ``since`` (the previous
    watermark) only feeds the ``late_events`` count.

    Raises:
        ValidationError: a missing column, a null id, a propensity outside (0, 1], a
            non-finite value, or a bad setting; nothing is computed.
    """
    settings = settings or AttributionSettings()
    events, ratios = check_metrics(list(metrics))
    watermark = watermark or datetime.now(timezone.utc)
    watermark_us = to_micros(watermark)
    since_us = to_micros(since) if since is not None else None
    if since_us is not None and since_us > watermark_us:
        raise ValidationError("since", since, f"is after the watermark {watermark}")
    start = time.perf_counter()
    runner = make_engine(engine, **(engine_options or {}))
    owned = isinstance(engine, str)
    try:
        columns = register_logs(runner, {"intents": intents, "treatments": treatments, "activity": activity})
        for sql in query.staging_views(runner.dialect, columns):
            runner.execute(sql)
        for table in TABLES:
            validate(runner, table)
        attribute(runner, events, settings, watermark_us)
        result = EventMetrics(
            metrics=metric_table(runner, events, ratios),
            rewards=rewards_frame(runner.fetch(query.rewards_query(events)), events),
            treatments_without_intent=with_ts(runner.fetch("SELECT * FROM v_orphans ORDER BY event_id")),
            intents_never_treated=with_ts(runner.fetch(
                "SELECT decision_id, member_id, experiment, arm, policy_version, propensity, ts_us "
                "FROM v_decisions WHERE exposed_us IS NULL ORDER BY decision_id"
            ).astype({"propensity": "float64"})),  # typed when empty too
            counts={k: int(v) for k, v in runner.fetch(query.counts_query(since_us, watermark_us)).iloc[0].items()},
            watermark=watermark, engine=runner.name, event_metrics=[m.name for m in events],
        )
    finally:
        if owned:
            runner.close()
    result.seconds = time.perf_counter() - start
    logger.info(
        "events on %s: %d intents, %d treatments, %d activity events -> %d metric rows in %.2fs "
        "(%d treatments without intent, %d intents never treated, %d late, %d after the watermark)",
        result.engine, result.counts["intents"], result.counts["treatments"], result.counts["activity"],
        len(result.metrics), result.seconds, result.counts["treatments_without_intent"],
        result.counts["intents_never_treated"], result.counts["late_events"], result.counts["after_watermark"],
    )
    return result


def register_logs(runner: Engine, logs: dict[str, LogInput]) -> dict[str, list[str]]:
    """Register each log as ``raw_<table>``; its columns by table. A missing column is refused."""
    columns = {}
    for table, data in logs.items():
        columns[table] = runner.register(table, data)
        missing = [c for c in TABLES[table] if c not in columns[table]]
        if missing:
            raise ValidationError(f"{table}.{missing[0]}", None, f"missing column; {table} has {columns[table]}")
    return columns


def attribute(runner: Engine, events: list[EventMetric], settings: AttributionSettings, watermark_us: int) -> None:
    """Materialize the attribution (``v_`` relations of :mod:`adaptive.events.query`) over ``stg_``."""
    for name, select in query.attribution_views(
        watermark_us=watermark_us, exposure_us=_us(settings.exposure_window),
        attribution_us=_us(settings.attribution_window), touch=settings.touch,
    ) + query.value_views(events):
        runner.materialize(name, select)


def metric_table(runner: Engine, events: list[EventMetric], ratios: list[RatioMetric]) -> pd.DataFrame:
    """Per experiment, arm, view and metric: ``n``, ``mean`` and ``sem`` from ``v_decisions``
    and ``v_values_<view>``."""
    frames = [_stats(runner.fetch(query.stats_query(v, events, ratios)), v, events, ratios) for v in VIEWS]
    return pd.concat(frames, ignore_index=True).sort_values(["experiment", "arm", "view", "metric"], ignore_index=True)


def _us(delta) -> int:
    return delta.days * 86_400_000_000 + delta.seconds * 1_000_000 + delta.microseconds


def validate(runner: Engine, table: str) -> None:
    sql, checks = query.validation_query(runner.dialect, table)
    row = runner.fetch(sql).iloc[0]
    for i, (label, column) in enumerate(checks):
        bad = int(row[f"bad_{i}"] or 0)
        if bad:
            raise ValidationError(f"{table}.{column}", row[f"sample_{i}"], f"{bad} of {int(row['n'])} rows: {label}")


def _stats(raw: pd.DataFrame, view: str, events: list[EventMetric], ratios: list[RatioMetric]) -> pd.DataFrame:
    rows = []
    index = {m.name: i for i, m in enumerate(events)}
    for r in raw.to_dict("records"):
        n = int(r["n"])
        means = {}
        for i, m in enumerate(events):
            s, q = float(r[f"s{i}"]), float(r[f"q{i}"])
            mean = s / n
            var = max(q - s * s / n, 0.0) / (n - 1) if n > 1 else math.nan
            means[m.name] = (mean, var)
            rows.append((r["experiment"], r["arm"], view, m.name, n, mean, math.sqrt(var / n) if n > 1 else math.nan))
        for j, ratio in enumerate(ratios):
            (mx, vx), (my, vy) = means[ratio.numerator], means[ratio.denominator]
            sx, sy = float(r[f"s{index[ratio.numerator]}"]), float(r[f"s{index[ratio.denominator]}"])
            cov = (float(r[f"x{j}"]) - sx * sy / n) / (n - 1) if n > 1 else math.nan
            if my == 0:
                value, sem = math.nan, math.nan
            else:
                value = mx / my
                # Delta method: Var(X̄/Ȳ) ≈ (σx²/μy² − 2μxσxy/μy³ + μx²σy²/μy⁴) / n.
                var = (vx / my**2 - 2 * mx * cov / my**3 + mx**2 * vy / my**4) / n
                sem = math.sqrt(max(var, 0.0)) if n > 1 else math.nan
            rows.append((r["experiment"], r["arm"], view, ratio.name, n, value, sem))
    frame = pd.DataFrame(rows, columns=METRIC_COLUMNS)
    frame["n"] = frame["n"].astype("int64")
    return frame


def with_ts(frame: pd.DataFrame) -> pd.DataFrame:
    """``ts_us`` (integer microseconds) -> ``ts`` (UTC timestamps)."""
    frame["ts"] = pd.to_datetime(frame.pop("ts_us").astype("Int64"), unit="us", utc=True)
    return frame


def rewards_frame(raw: pd.DataFrame, events: list[EventMetric]) -> pd.DataFrame:
    frame = raw.rename(columns={f"m{i}": m.name for i, m in enumerate(events)})
    frame["decided_at"] = pd.to_datetime(frame.pop("ts_us").astype("int64"), unit="us", utc=True)
    exposed = frame.pop("exposed_us")
    frame["treated"] = exposed.notna().to_numpy()
    frame["exposed_at"] = pd.to_datetime(exposed.astype("Int64"), unit="us", utc=True)
    frame["n_shown"] = frame["n_shown"].astype("int64")
    frame["propensity"] = frame["propensity"].astype(float)
    for m in events:
        frame[m.name] = frame[m.name].astype(float)
    order = ["decision_id", "member_id", "experiment", "arm", "policy_version", "propensity", "decided_at",
             "exposed_at", "treated", "n_shown"] + [m.name for m in events]
    return frame[order]


def reward_deltas(previous: EventMetrics | None, current: EventMetrics, metric: str) -> pd.DataFrame:
    """Per decision, how much ``metric``'s reward grew since ``previous`` (all of it without one).

    Recording these (``decision_id``, ``delta``) rows in a :class:`adaptive.bandits.DecisionLog`
    after every computation keeps its summed rewards equal to the latest computation's,
    so late events add to a decision's reward once and nothing is counted twice.
    """
    if metric not in current.event_metrics:
        raise ValidationError("metric", metric, f"is not an event metric of this computation ({current.event_metrics})")
    now = current.rewards.set_index("decision_id")[metric]
    before = previous.rewards.set_index("decision_id")[metric] if previous is not None else pd.Series(dtype=float)
    delta = now.sub(before.reindex(now.index).fillna(0.0))
    delta = delta[np.abs(delta.to_numpy()) > 0]
    return pd.DataFrame({"decision_id": delta.index.astype(str), "delta": delta.to_numpy(dtype=float)})
