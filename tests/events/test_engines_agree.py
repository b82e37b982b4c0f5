"""DuckDB and Spark give the same numbers on the same synthetic logs (duplicates, late
events, second decisions, orphans), to 1e-9."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd

from adaptive.demo.event_logs import generate_logs
from adaptive.events import AttributionSettings, EventMetric, RatioMetric, compute_metrics

METRICS = [
    EventMetric("minutes", "play"), EventMetric("sessions", "session", "count"), EventMetric("played", "play", "any"),
    RatioMetric("minutes_per_session", "minutes", "sessions"),
]


def test_duckdb_and_spark_agree(spark_engine, tmp_path):
    logs = generate_logs(3000, seed=7)
    # Spark reads the activity from a folder of Parquet files, DuckDB from the same folder.
    folder = tmp_path / "activity"
    folder.mkdir()
    half = len(logs["activity"]) // 2
    logs["activity"].iloc[:half].to_parquet(folder / "part-0.parquet")
    logs["activity"].iloc[half:].to_parquet(folder / "part-1.parquet")
    kwargs = dict(
        intents=logs["intents"], treatments=logs["treatments"], activity=folder, metrics=METRICS,
        settings=AttributionSettings(timedelta(minutes=30), timedelta(hours=4), touch="first"),
        watermark=datetime(2026, 1, 2, 6, tzinfo=timezone.utc), since=datetime(2026, 1, 1, 18, tzinfo=timezone.utc),
    )
    duck = compute_metrics(**kwargs, engine="duckdb")
    spark = compute_metrics(**kwargs, engine=spark_engine)
    assert duck.counts == spark.counts
    assert duck.counts["late_events"] > 0 and duck.counts["duplicate_activity"] > 0
    assert duck.counts["treatments_without_intent"] > 0 and duck.counts["after_watermark"] > 0
    a, b = duck.metrics, spark.metrics
    pd.testing.assert_frame_equal(a.drop(columns=["mean", "sem"]), b.drop(columns=["mean", "sem"]))
    np.testing.assert_allclose(a["mean"], b["mean"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(a["sem"], b["sem"], rtol=1e-9, atol=1e-12)
    assert len(a) == 3 * 2 * 4  # arms x views x metrics
    pd.testing.assert_frame_equal(duck.rewards, spark.rewards, check_exact=False, rtol=1e-9)
    pd.testing.assert_frame_equal(duck.treatments_without_intent, spark.treatments_without_intent)
    pd.testing.assert_frame_equal(duck.intents_never_treated, spark.intents_never_treated)
    # The simulated lift shows: arm 2 plays more than arm 0 in both views.
    itt = a[(a["view"] == "itt") & (a["metric"] == "minutes")].set_index("arm")["mean"]
    assert itt["2"] > itt["0"]
