"""A round's metric source computed from raw event logs (``[metrics] kind = "events"``).

    [metrics]
    kind = "events"
    intents = "logs/intents.parquet"      # file, folder of Parquet files, or
    treatments = "logs/treatments.parquet"
    activity = "logs/activity/"
    engine = "duckdb"                      # or "spark" (with spark_master = "spark://host:7077")
    view = "itt"                           # or "treated"
    exposure_window = "1h"
    attribution_window = "1d"
    touch = "last"                         # or "first"
    state = "state/feed-ranking"           # optional: attribute only the days touched since the
                                           # last round (adaptive.events.incremental), same numbers

    [[metrics.define]]                     # one per metric the experiment uses
    name = "minutes"
    event_type = "play"
    aggregate = "sum"                      # "sum" of values, "count" of events, "any"

    [[metrics.define]]
    name = "minutes_per_session"
    numerator = "minutes"
    denominator = "sessions"

A log given as ``{url = "postgresql://...", table = "intents"}`` is read through SQLAlchemy.
Arms in the logs are trial ids; each fetch computes from every row ingested so far
(watermark: now), so late events count in the next round and nothing twice. With ``state``,
a fetch attributes again only the days holding rows ingested since the previous fetch (and
their neighbours within the attribution's reach) and keeps the rest in that folder.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from adaptive._durations import parse_duration
from adaptive.errors import ValidationError
from adaptive.events.compute import compute_metrics
from adaptive.events.engines import LogInput, SQLTable
from adaptive.events.schema import VIEWS, AttributionSettings, EventMetric, RatioMetric, check_metrics
from adaptive.sources.base import DEFAULT_TIMEOUT, MetricSource
from adaptive.trial import Trial

KEYS = {"kind", "timeout", "intents", "treatments", "activity", "engine", "spark_master", "view", "exposure_window",
        "attribution_window", "touch", "define", "state"}


@dataclass(frozen=True)
class EventsSourceSpec:
    logs: dict[str, LogInput]
    metrics: list[EventMetric | RatioMetric]
    settings: AttributionSettings
    engine: str
    engine_options: dict[str, Any]
    view: str
    state: str | None = None


def parse_events_spec(spec: Mapping[str, Any]) -> EventsSourceSpec:
    """Check a ``[metrics] kind = "events"`` table; every problem names its field."""
    unknown = sorted(set(spec) - KEYS)
    if unknown:
        raise ValidationError(f"metrics.{unknown[0]}", spec[unknown[0]], f"unknown key; expected some of {sorted(KEYS)}")
    logs: dict[str, LogInput] = {}
    for table in ("intents", "treatments", "activity"):
        value = spec.get(table)
        if isinstance(value, str) and value:
            logs[table] = value
        elif isinstance(value, Mapping) and isinstance(value.get("url"), str):
            from adaptive.sources.base import check_no_password

            check_no_password(f"metrics.{table}.url", value["url"])
            logs[table] = SQLTable(value["url"], table=value.get("table"), query=value.get("query"))
        else:
            raise ValidationError(f"metrics.{table}", value, "a file/folder path or {url = ..., table = ...}")
    defines = spec.get("define")
    if not isinstance(defines, list) or not defines:
        raise ValidationError("metrics.define", defines, "define at least one metric with [[metrics.define]]")
    metrics: list[EventMetric | RatioMetric] = []
    for item in defines:
        if not isinstance(item, Mapping):
            raise ValidationError("metrics.define", item, "each definition is a table")
        if "numerator" in item or "denominator" in item:
            metrics.append(RatioMetric(item.get("name", ""), item.get("numerator", ""), item.get("denominator", "")))
        else:
            metrics.append(EventMetric(item.get("name", ""), item.get("event_type", ""), item.get("aggregate", "sum")))
    settings = AttributionSettings(
        exposure_window=parse_duration("metrics.exposure_window", spec.get("exposure_window", "1h")),
        attribution_window=parse_duration("metrics.attribution_window", spec.get("attribution_window", "1d")),
        touch=spec.get("touch", "last"),
    )
    engine = spec.get("engine", "duckdb")
    if engine not in ("duckdb", "spark"):
        raise ValidationError("metrics.engine", engine, "expected 'duckdb' or 'spark'")
    options = {"master": spec["spark_master"]} if engine == "spark" and "spark_master" in spec else {}
    view = spec.get("view", "itt")
    if view not in VIEWS:
        raise ValidationError("metrics.view", view, f"expected one of {VIEWS}")

    state = spec.get("state")
    if state is not None and (not isinstance(state, str) or not state):
        raise ValidationError("metrics.state", state, "a folder path for the incremental state")
    check_metrics(metrics)
    return EventsSourceSpec(logs, metrics, settings, engine, options, view, state)


class EventsSource(MetricSource):
    def __init__(self, spec: Mapping[str, Any], timeout: timedelta = DEFAULT_TIMEOUT) -> None:
        self.spec, self.timeout = parse_events_spec(spec), timeout

    def fetch(self, experiment: str, trials: Sequence[Trial]) -> Iterable[Any]:
        s = self.spec
        if s.state is not None:
            from adaptive.events.incremental import compute_metrics_incremental

            result = compute_metrics_incremental(
                intents=s.logs["intents"], treatments=s.logs["treatments"], activity=s.logs["activity"],
                metrics=s.metrics, settings=s.settings, engine=s.engine, engine_options=s.engine_options, state=s.state,
            )
        else:
            result = compute_metrics(
                intents=s.logs["intents"], treatments=s.logs["treatments"], activity=s.logs["activity"],
                metrics=s.metrics, settings=s.settings, engine=s.engine, engine_options=s.engine_options,
            )
        wanted = {t.id for t in trials}
        return [row for row in result.observations(experiment, view=s.view) if row[0] in wanted]
