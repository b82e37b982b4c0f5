"""Metric sources: Python, SQL and file kinds pass one contract; bad rows and bad sources are reported."""

import time
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

import adaptive as ad
from adaptive.sources import collect, make_source
from adaptive.sources.base import PythonSource

ROWS = [(0, "y", 1.5, 0.1), (1, "y", 2.5, None)]


def fake_rows(experiment, trials):
    """Used through its entry point 'tests.sources.test_sources:fake_rows'."""
    return list(ROWS)


def raising(experiment, trials):
    raise RuntimeError("warehouse down")


def hanging(experiment, trials):
    time.sleep(30)


@pytest.fixture
def running(sqlite_url):
    exp = ad.create_experiment("s", storage=sqlite_url, parameters={"x": ad.Float(0, 1)}, objectives=ad.Maximize("y"))
    return exp, exp.suggest(3)


def _sources(tmp_path):
    csv, parquet = tmp_path / "metrics.csv", tmp_path / "metrics.parquet"
    pd.DataFrame(ROWS, columns=["trial", "metric", "mean", "sem"]).to_csv(csv, index=False)
    pd.DataFrame(ROWS, columns=["trial", "metric", "mean", "sem"]).to_parquet(parquet, index=False)
    db = tmp_path / "metrics.db"
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE results (experiment TEXT, trial INT, metric TEXT, mean REAL, sem REAL)")
        for r in ROWS:
            conn.exec_driver_sql("INSERT INTO results VALUES ('s', ?, ?, ?, ?)", r)
    engine.dispose()
    return {
        "python": {"kind": "python", "function": "tests.sources.test_sources:fake_rows"},
        "file": {"kind": "file", "path": str(csv)},
        "parquet": {"kind": "file", "path": str(parquet)},
        "sql": {"kind": "sql", "url": f"sqlite:///{db}",
                "query": "SELECT trial, metric, mean, sem FROM results WHERE experiment = :experiment"},
    }


@pytest.mark.parametrize("kind", ["python", "file", "parquet", "sql"])
def test_every_kind_yields_the_same_observations(kind, running, tmp_path):
    exp, trials = running
    result = collect(make_source(_sources(tmp_path)[kind]), "s", trials)
    assert result.errors == []
    assert result.observations == {0: {"y": ad.Observation(1.5, 0.1)}, 1: {"y": ad.Observation(2.5, None)}}


def test_bad_rows_are_reported_and_their_trials_left_out(running, monkeypatch):
    exp, trials = running
    rows = [(0, "y", float("nan"), 0.1), (1, "y", 1.0, -1.0), (2, "y", 2.0, 0.1), (7, "y", 1.0, 0.1),
            ("zero", "y", 1.0, 0.1), (2, "bad metric", 1.0, 0.1), (1,)]
    monkeypatch.setattr(PythonSource, "fetch", lambda self, e, t: rows)
    result = collect(PythonSource("x:y"), "s", trials)
    assert set(result.observations) == set()  # 2 had a bad metric name too, so it is held back
    assert len(result.errors) == 6
    assert any("7 is not a trial" in e for e in result.errors)
    assert any("malformed" in e for e in result.errors)


@pytest.mark.parametrize("sem", [float("nan"), np.float32("nan"), float("inf")])
def test_a_nan_sem_is_an_error_and_the_trial_stays_running(running, monkeypatch, sem):
    exp, trials = running
    monkeypatch.setattr(PythonSource, "fetch", lambda self, e, t: [(0, "y", 1.0, sem), (1, "y", 2.0, None)])
    result = collect(PythonSource("x:y"), "s", trials)
    assert result.observations == {1: {"y": ad.Observation(2.0, None)}}  # None: sem unknown
    assert result.rejected_trials == {0} and "sem" in result.errors[0] and "trial 0" in result.errors[0]


def test_raising_and_hanging_sources_are_reported(running):
    exp, trials = running
    failed = collect(PythonSource("tests.sources.test_sources:raising"), "s", trials)
    assert failed.observations == {} and "warehouse down" in failed.errors[0]
    start = time.perf_counter()
    slow = collect(PythonSource("tests.sources.test_sources:hanging", timeout=timedelta(seconds=0.5)), "s", trials)
    assert time.perf_counter() - start < 5
    assert slow.observations == {} and "did not answer" in slow.errors[0]


@pytest.mark.parametrize(
    ("spec", "field"),
    [({"kind": "python", "function": "nomodule"}, "metrics.function"), ({"kind": "sql", "query": "x"}, "metrics.url"),
     ({"kind": "file"}, "metrics.path"), ({"kind": "ftp"}, "metrics.kind"), ({"kind": "file", "path": "x", "timeout": "-1s"}, "metrics.timeout")],
)
def test_bad_source_specs(spec, field):
    with pytest.raises(ad.ValidationError) as info:
        make_source(spec)
    assert info.value.field == field


def test_the_config_and_the_factory_know_the_same_metric_source_kinds():
    from adaptive.cron.config import METRIC_SOURCE_KINDS
    from adaptive.sources.factory import BUILDERS

    assert list(METRIC_SOURCE_KINDS) == list(BUILDERS)
    with pytest.raises(ad.ValidationError) as info:
        make_source({"kind": "kafka"})
    assert info.value.field == "metrics.kind" and "'python', 'sql', 'file' or 'events'" in str(info.value)
