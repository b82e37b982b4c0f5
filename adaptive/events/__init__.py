"""Closing the loop: raw event logs -> trial metrics and bandit rewards.

Three logs (:mod:`adaptive.events.schema`): intents (decisions with propensities),
treatments (what was actually shown) and activity (what members did). The
attribution runs as one SQL text on DuckDB (embedded, the default) or on Apache
Spark, so both engines give the same numbers; :func:`compute_metrics_incremental` attributes
again only the days new rows touched, with the same numbers as a full computation.
"""

from adaptive.events.compute import EventMetrics, compute_metrics, reward_deltas
from adaptive.events.engines import DuckDBEngine, SparkEngine, SQLTable
from adaptive.events.feed import logged_data, record_rewards
from adaptive.events.incremental import compute_metrics_incremental
from adaptive.events.schema import AttributionSettings, EventMetric, RatioMetric

__all__ = [
    "AttributionSettings",
    "DuckDBEngine",
    "EventMetric",
    "EventMetrics",
    "RatioMetric",
    "SQLTable",
    "SparkEngine",
    "compute_metrics",
    "compute_metrics_incremental",
    "logged_data",
    "record_rewards",
    "reward_deltas",
]
