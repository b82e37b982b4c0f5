"""Incremental attribution equals a full recomputation, round after round, on 30 daily
partitions with late events landing in old days, duplicates, orphans and returning members."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from adaptive.demo.event_logs import START, generate_daily_logs, write_daily_partitions
from adaptive.errors import ValidationError
from adaptive.events import AttributionSettings, EventMetric, RatioMetric, compute_metrics
from adaptive.events import incremental as inc
from adaptive.events.incremental import compute_metrics_incremental

METRICS = [
    EventMetric("minutes", "play"), EventMetric("sessions", "session", "count"), EventMetric("played", "play", "any"),
    RatioMetric("minutes_per_session", "minutes", "sessions"),
]
SETTINGS = AttributionSettings(timedelta(minutes=30), timedelta(hours=12), touch="first")
DAYS = 30


@pytest.fixture(scope="module")
def daily_logs():
    return generate_daily_logs(40, DAYS, seed=11)


def write_logs(logs, folder, until):
    """The three logs as they stood at ``until``, as date-partitioned Parquet folders."""
    return {t: str(write_daily_partitions(frame, folder / t, until=until)) for t, frame in logs.items()}


def assert_same(a, b):
    assert a.counts == b.counts
    for name in ("metrics", "rewards", "treatments_without_intent", "intents_never_treated"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=False, rtol=1e-9, atol=1e-12)


def test_every_round_equals_a_full_recomputation(daily_logs, tmp_path):
    state, previous = tmp_path / "state", None
    recomputed = {}
    # Daily rounds for a while, a gap of a week, then the last day and two more days of late arrivals.
    for day in (3, 4, 5, 12, 13, 30, 32):
        watermark = START + timedelta(days=day, hours=2)
        paths = write_logs(daily_logs, tmp_path / "logs", watermark)
        full = compute_metrics(**paths, metrics=METRICS, settings=SETTINGS, watermark=watermark, since=previous)
        part = compute_metrics_incremental(**paths, metrics=METRICS, settings=SETTINGS, watermark=watermark, state=state)
        assert_same(part, full)
        recomputed[day] = part.recomputed_days
        previous = watermark
    # The fixture is not trivial: late events, duplicates, orphans and members on several days.
    assert full.counts["late_events"] > 0 and full.counts["duplicate_activity"] > 0
    assert full.counts["treatments_without_intent"] > 0 and full.counts["intents_never_treated"] > 0
    assert full.rewards["member_id"].duplicated().any()
    assert len(full.rewards) > 30 * 40
    # A daily round attributes a few days again, not the whole history: the margin for a 12 h
    # window and 30 min exposures is one day on each side, twice for reading.
    assert len(recomputed[3]) == 4  # the first round: every day so far
    assert len(recomputed[30]) < 30
    late = recomputed[13]
    assert date(2026, 1, 14) in late and len(late) < 14


def test_a_late_event_in_an_old_day_changes_that_day_and_nothing_far_from_it(tmp_path):
    logs = generate_daily_logs(30, 20, late_share=0.0, seed=5)
    state = tmp_path / "state"
    first = START + timedelta(days=20)
    paths = write_logs(logs, tmp_path / "logs", first)
    compute_metrics_incremental(**paths, metrics=METRICS, settings=SETTINGS, watermark=first, state=state)
    # A play by the member of a decision made on day 5, ingested on day 21.
    decision = logs["intents"].iloc[(logs["intents"]["ts"] - (START + timedelta(days=5, hours=6))).abs().argmin()]
    late = pd.DataFrame({
        "event_id": ["late-1"], "member_id": [decision["member_id"]], "event_type": ["play"], "value": [42.0],
        "ts": [decision["ts"] + timedelta(minutes=5)], "ingested_at": [START + timedelta(days=21)],
    })
    logs = dict(logs, activity=pd.concat([logs["activity"], late], ignore_index=True))
    second = START + timedelta(days=21, hours=1)
    paths = write_logs(logs, tmp_path / "logs", second)
    part = compute_metrics_incremental(**paths, metrics=METRICS, settings=SETTINGS, watermark=second, state=state)
    full = compute_metrics(**paths, metrics=METRICS, settings=SETTINGS, watermark=second, since=first)
    assert_same(part, full)
    assert full.counts["late_events"] >= 1
    # Day 5 is 2026-01-06: that day and one on each side, then only the days around the newest rows.
    assert {date(2026, 1, d) for d in (5, 6, 7)} <= set(part.recomputed_days)
    assert not [d for d in part.recomputed_days if date(2026, 1, 8) <= d <= date(2026, 1, 18)]
    assert full.rewards.set_index("decision_id").loc[decision["decision_id"], "minutes"] >= 42.0


def test_a_computation_killed_before_its_manifest_leaves_the_state_as_it_was(daily_logs, tmp_path, monkeypatch):
    state = tmp_path / "state"
    first, second = START + timedelta(days=6), START + timedelta(days=8)
    paths = write_logs(daily_logs, tmp_path / "logs", first)
    compute_metrics_incremental(**paths, metrics=METRICS, settings=SETTINGS, watermark=first, state=state)
    manifest = (state / "manifest.json").read_text()
    paths = write_logs(daily_logs, tmp_path / "logs", second)

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(inc, "_write_manifest", killed)
    with pytest.raises(KeyboardInterrupt):
        compute_metrics_incremental(**paths, metrics=METRICS, settings=SETTINGS, watermark=second, state=state)
    assert (state / "manifest.json").read_text() == manifest
    monkeypatch.undo()
    part = compute_metrics_incremental(**paths, metrics=METRICS, settings=SETTINGS, watermark=second, state=state)
    assert_same(part, compute_metrics(**paths, metrics=METRICS, settings=SETTINGS, watermark=second, since=first))
    named = {e[k] for e in json.loads((state / "manifest.json").read_text())["days"].values()
             for k in ("decisions", "orphans") if e[k]}
    assert {p.name for p in state.glob("*.parquet")} == named  # the killed run's files are gone


def test_changed_settings_start_afresh_and_an_earlier_watermark_is_refused(daily_logs, tmp_path):
    state = tmp_path / "state"
    at = START + timedelta(days=7)
    paths = write_logs(daily_logs, tmp_path / "logs", at)
    compute_metrics_incremental(**paths, metrics=METRICS, settings=SETTINGS, watermark=at, state=state)
    other = AttributionSettings(timedelta(minutes=30), timedelta(hours=6))
    part = compute_metrics_incremental(**paths, metrics=METRICS, settings=other, watermark=at, state=state)
    assert len(part.recomputed_days) == 7
    assert_same(part, compute_metrics(**paths, metrics=METRICS, settings=other, watermark=at))
    with pytest.raises(ValidationError, match="watermark"):
        compute_metrics_incremental(**paths, metrics=METRICS, settings=other, watermark=at - timedelta(hours=1), state=state)


def test_rows_without_a_time_are_refused_by_name(tmp_path):
    logs = generate_daily_logs(10, 3, seed=1)
    at = START + timedelta(days=3)
    logs["activity"].loc[0, "ts"] = pd.NaT
    paths = write_logs(logs, tmp_path / "logs", at)
    (tmp_path / "logs" / "activity" / "nulls.parquet").parent.mkdir(exist_ok=True)
    logs["activity"].iloc[[0]].to_parquet(tmp_path / "logs" / "activity" / "nulls.parquet")
    with pytest.raises(ValidationError, match=r"activity\.ts"):
        compute_metrics_incremental(**paths, metrics=METRICS, settings=SETTINGS, watermark=at, state=tmp_path / "s")


def test_spark_continues_a_state_duckdb_began(spark_engine, daily_logs, tmp_path):
    """The state is the engines' common ground: Spark carries on where DuckDB stopped."""
    state = tmp_path / "state"
    first, second = START + timedelta(days=9, hours=3), START + timedelta(days=10, hours=3)
    paths = write_logs(daily_logs, tmp_path / "logs", first)
    compute_metrics_incremental(**paths, metrics=METRICS, settings=SETTINGS, watermark=first, state=state)
    paths = write_logs(daily_logs, tmp_path / "logs", second)
    part = compute_metrics_incremental(**paths, metrics=METRICS, settings=SETTINGS, watermark=second, state=state,
                                       engine=spark_engine)
    full = compute_metrics(**paths, metrics=METRICS, settings=SETTINGS, watermark=second, since=first)
    assert part.engine == "spark"
    assert_same(part, full)
    assert np.isfinite(part.metrics["mean"]).sum() > 0
    assert isinstance(part.watermark, datetime)


def test_empty_logs_then_the_first_rows_on_spark(spark_engine, tmp_path):
    """The first rounds of an experiment see no rows at all; nothing breaks, on Spark too."""
    logs = generate_daily_logs(10, 2, seed=2)
    empty = {t: f.iloc[0:0] for t, f in logs.items()}
    at = START  # nothing had reached the logs then
    first = compute_metrics_incremental(**empty, metrics=METRICS, settings=SETTINGS, watermark=at, state=tmp_path / "s",
                                        engine=spark_engine)
    assert first.metrics.empty and first.rewards.empty and first.recomputed_days == []
    later = at + timedelta(hours=30)
    part = compute_metrics_incremental(**logs, metrics=METRICS, settings=SETTINGS, watermark=later,
                                       state=tmp_path / "s", engine=spark_engine)
    assert_same(part, compute_metrics(**logs, metrics=METRICS, settings=SETTINGS, watermark=later, since=at))


def test_a_log_without_ingestion_times_warns_when_the_state_begins(tmp_path, caplog):
    """Rows of a log without ingested_at count as ingested at their ts (as in a full computation):
    incremental rounds agree with full ones, and beginning the state says late rows would be missed."""
    logs = generate_daily_logs(10, 4, late_share=0.0, seed=4)
    logs["activity"] = logs["activity"].drop(columns=["ingested_at"])
    first, second = START + timedelta(days=3), START + timedelta(days=4)
    with caplog.at_level("WARNING", logger="adaptive.events.incremental"):
        compute_metrics_incremental(**logs, metrics=METRICS, settings=SETTINGS, watermark=first, state=tmp_path / "s")
    assert "intents, treatments, activity have no ingested_at" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="adaptive.events.incremental"):
        part = compute_metrics_incremental(**logs, metrics=METRICS, settings=SETTINGS, watermark=second,
                                           state=tmp_path / "s")
    assert not caplog.text  # said once, when the state began
    assert len(part.recomputed_days) < 4
    assert_same(part, compute_metrics(**logs, metrics=METRICS, settings=SETTINGS, watermark=second, since=first))
