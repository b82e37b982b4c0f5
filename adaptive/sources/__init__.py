"""Metric sources: where a round fetches (trial, metric, mean, sem) rows for running trials.

Kinds (``[metrics] kind = ...`` in a config):

- ``python``: ``function = "package.module:function"`` called as ``function(experiment, trials)``;
- ``sql``: ``url`` (any SQLAlchemy URL) and ``query`` returning columns trial, metric, mean, sem
  (bind parameter ``:experiment`` available);
- ``file``: ``path`` to a CSV or Parquet file with those columns;
- ``events``: raw intent, treatment and activity logs attributed on DuckDB or Spark
  (:mod:`adaptive.sources.events`).
"""

from adaptive.sources.base import FetchResult, MetricSource, collect
from adaptive.sources.factory import make_source

__all__ = ["FetchResult", "MetricSource", "collect", "make_source"]
