"""Metric sources built from a config's ``[metrics]`` table.

Apart from :mod:`adaptive.sources.base` because the ``events`` kind lives in
:mod:`adaptive.sources.events`, which builds on the base classes: the base module never
imports the events one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from adaptive._durations import parse_duration
from adaptive.errors import ValidationError
from adaptive.sources.base import FileSource, MetricSource, PythonSource, SQLSource
from adaptive.storage.database import mask


def make_source(spec: Mapping[str, Any]) -> MetricSource:
    """A source from a config's ``[metrics]`` table."""
    kind = spec.get("kind")
    timeout = parse_duration("metrics.timeout", spec.get("timeout", 60))
    build = BUILDERS.get(kind) if isinstance(kind, str) else None
    if build is None:
        names = [repr(k) for k in BUILDERS]
        raise ValidationError("metrics.kind", kind, f"expected {', '.join(names[:-1])} or {names[-1]}")
    return build(spec, timeout)


def _python(spec: Mapping[str, Any], timeout: timedelta) -> MetricSource:
    return PythonSource(spec.get("function", ""), timeout)


def _sql(spec: Mapping[str, Any], timeout: timedelta) -> MetricSource:
    url, url_env = spec.get("url"), spec.get("url_env")
    if url_env is not None:
        if not isinstance(url_env, str) or not url_env.strip():
            raise ValidationError("metrics.url_env", url_env, "the name of an environment variable holding the URL")
        if url is not None:
            raise ValidationError("metrics.url", mask(str(url)), "give url or url_env, not both")
        return SQLSource(None, spec.get("query", ""), timeout, url_env=url_env)
    if not url or not isinstance(url, str):
        raise ValidationError("metrics.url", url, "an SQLAlchemy URL for the metrics database (or url_env = 'VARIABLE')")
    return SQLSource(url, spec.get("query", ""), timeout)


def _file(spec: Mapping[str, Any], timeout: timedelta) -> MetricSource:
    if not spec.get("path"):
        raise ValidationError("metrics.path", spec.get("path"), "a CSV or Parquet file")
    return FileSource(spec["path"], timeout)


def _events(spec: Mapping[str, Any], timeout: timedelta) -> MetricSource:
    from adaptive.sources.events import EventsSource  # DuckDB and the attribution SQL: only when used

    return EventsSource(spec, timeout)


# The one list of metric-source kinds the factory builds; adaptive.cron.config checks each kind's
# table (METRICS_KEYS and the events spec) and a test checks both name the same kinds.
BUILDERS: dict[str, Callable[[Mapping[str, Any], timedelta], MetricSource]] = {
    "python": _python, "sql": _sql, "file": _file, "events": _events,
}
