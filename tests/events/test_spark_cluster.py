"""The golden logs, the engines-agree logs and an incremental round on a Spark standalone
cluster (``spark://127.0.0.1:PORT``: a master and two workers, each with its own work and
local folders), driven by a round host in a process of its own; every number equals DuckDB's.

Inputs reach the executors as a cluster needs them: DataFrames as Arrow batches through the
driver, files as ``file://`` URLs (a folder every host mounts at the same place; here the
hosts share one disk). A bare path is refused, since on a real cluster it names a file on
the driver only.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from adaptive.demo.event_logs import START, generate_daily_logs, generate_logs, write_daily_partitions
from adaptive.events import AttributionSettings, compute_metrics
from adaptive.events.incremental import compute_metrics_incremental
from tests.events import test_golden as golden
from tests.events.test_engines_agree import METRICS as AGREE_METRICS
from tests.events.test_incremental import METRICS as DAILY_METRICS
from tests.events.test_incremental import SETTINGS as DAILY_SETTINGS
from tests.events.test_incremental import assert_same

ROOT = Path(__file__).resolve().parents[2]
AGREE = dict(watermark="2026-01-02T06:00:00+00:00", since="2026-01-01T18:00:00+00:00")
AGREE_SETTINGS = AttributionSettings(timedelta(minutes=30), timedelta(hours=4), touch="first")


def _settings(s: AttributionSettings) -> list:
    return [s.exposure_window.total_seconds(), s.attribution_window.total_seconds(), s.touch]


@pytest.fixture(scope="module")
def on_cluster(spark_cluster, tmp_path_factory):
    """Runs every job once in one driver process against the cluster; results by name."""
    root = tmp_path_factory.mktemp("cluster-jobs")
    golden_logs = {t: f"file://{Path(p).resolve()}" for t, p in golden.LOGS.items()}
    activity = root / "activity"
    activity.mkdir()
    logs = generate_logs(3000, seed=7)
    half = len(logs["activity"]) // 2
    logs["activity"].iloc[:half].to_parquet(activity / "part-0.parquet")
    logs["activity"].iloc[half:].to_parquet(activity / "part-1.parquet")
    daily = generate_daily_logs(40, 12, seed=11)
    first, second = START + timedelta(days=9, hours=3), START + timedelta(days=11, hours=3)
    paths = {t: write_daily_partitions(f, root / "daily" / t, until=first) for t, f in daily.items()}
    compute_metrics_incremental(**{t: str(p) for t, p in paths.items()}, metrics=DAILY_METRICS,
                                settings=DAILY_SETTINGS, watermark=first, state=root / "state")  # begun on DuckDB
    paths = {t: write_daily_partitions(f, root / "daily" / t, until=second) for t, f in daily.items()}
    g = _settings(golden.SETTINGS)
    jobs = {
        "golden_first": {"kind": "full", "metrics": "golden", "settings": g, "logs": golden_logs,
                         "watermark": golden.FIRST.isoformat()},
        "agree": {"kind": "full", "metrics": "agree", "settings": _settings(AGREE_SETTINGS),
                  "logs": {"activity": f"file://{activity}"}, **AGREE},
        "incremental": {"kind": "incremental", "metrics": "daily", "settings": _settings(DAILY_SETTINGS),
                        "logs": {t: f"file://{p}" for t, p in paths.items()}, "watermark": second.isoformat(),
                        "state": str(root / "state")},
        "bare_path": {"kind": "full", "metrics": "golden", "settings": g, "logs": golden.LOGS,
                      "watermark": golden.FIRST.isoformat()},
    }
    spec = root / "spec.json"
    spec.write_text(json.dumps({"out": str(root / "results.pkl"), "jobs": jobs}))
    done = subprocess.run([sys.executable, "-m", "tests.events.cluster_job", spark_cluster.master_url, str(spec)],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-4000:]
    results = pickle.loads((root / "results.pkl").read_bytes())
    apps = spark_cluster.state()["completedapps"]
    results["cluster_apps"] = apps
    results["daily_paths"] = {t: str(p) for t, p in paths.items()}
    results["daily_times"] = (first, second)
    return results


def test_the_round_host_ran_on_the_cluster_with_both_workers(on_cluster, spark_cluster):
    assert on_cluster["master"] == spark_cluster.master_url
    (app,) = [a for a in on_cluster["cluster_apps"] if a["name"] == "adaptive-events"]
    assert app["cores"] == 2  # one executor on each worker
    work = [p for i in range(2) for p in (spark_cluster.root / f"worker-{i}" / "work").iterdir()]
    assert len(work) == 2 and all(p.name == app["id"] for p in work)


def test_golden_logs_on_the_cluster(on_cluster):
    first = on_cluster["golden_first"]
    assert golden.value(first, "1", "itt", "plays") == pytest.approx(16 / 3, abs=1e-12)
    assert golden.value(first, "1", "itt", "plays_per_session", "sem") == pytest.approx(3.0, abs=1e-12)
    assert golden.value(first, "2", "treated", "plays", "sem") == pytest.approx(4.0, abs=1e-12)
    assert list(first.treatments_without_intent["event_id"]) == ["t6", "t7"]
    assert_same(first, golden.run("duckdb"))


def test_duckdb_and_the_cluster_agree(on_cluster, tmp_path):
    logs = generate_logs(3000, seed=7)
    from datetime import datetime

    duck = compute_metrics(
        **logs, metrics=AGREE_METRICS, settings=AGREE_SETTINGS, watermark=datetime.fromisoformat(AGREE["watermark"]),
        since=datetime.fromisoformat(AGREE["since"]),
    )
    cluster = on_cluster["agree"]
    assert cluster.counts["late_events"] > 0 and cluster.counts["duplicate_activity"] > 0
    assert_same(cluster, duck)


def test_an_incremental_round_on_the_cluster_equals_a_full_one(on_cluster):
    first, second = on_cluster["daily_times"]
    result = on_cluster["incremental"]
    full = compute_metrics(**on_cluster["daily_paths"], metrics=DAILY_METRICS, settings=DAILY_SETTINGS,
                           watermark=second, since=first)
    assert result.engine == "spark" and 0 < len(result.recomputed_days) < 12
    assert_same(result, full)


def test_a_path_on_the_driver_only_is_refused_on_a_cluster(on_cluster):
    refused = on_cluster["bare_path"]
    assert refused["field"] == "intents"
    assert "executors on other hosts cannot read" in refused["refused"] and "file:///" in refused["refused"]


def test_frames_reach_spark_without_a_file():
    """No temporary folder: DataFrames go to Spark as Arrow batches."""
    from adaptive.events.engines import SparkEngine

    assert "tempfile" not in SparkEngine.__init__.__code__.co_names
    assert pd.api.types.is_string_dtype(generate_logs(10)["intents"]["arm"])


def test_remote_storage_urls_go_to_spark_as_given(spark_engine):
    """An object-store URL is Spark's to resolve: no local existence check, Parquet unless it names a CSV file."""
    from adaptive.events.engines import SparkEngine

    assert isinstance(spark_engine, SparkEngine)
    with pytest.raises(Exception) as info:  # no S3 connector here: Spark itself refuses the scheme
        spark_engine.register("activity", "s3a://bucket/logs/activity/")
    assert "s3a" in str(info.value) and "no such file" not in str(info.value)
