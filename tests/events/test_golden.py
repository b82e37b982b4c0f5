"""The golden logs in tests/data/events, worked out by hand, on DuckDB and on Spark.

Settings: exposure window 1 h, attribution window 2 h, last touch; times are minutes
after 2026-01-01 00:00 UTC. Metrics: plays (sum of play values), sessions (count of
session events), plays_per_session (ratio of their means).

Watermark 05:00 (the late a9, ingested at 08:20, is not yet used):
- duplicates dropped: intent d1 once, treatment t1 once, activity a1 once.
- t6 (member F, no intent) and t7 (A at 03:20, beyond d1's 1 h exposure window) have no intent;
  d4 (member D) is never treated.
- intent-to-treat (anchor = intent time): d1 (A): a1 play 10 + a10 session; a2 (A at 02:30)
  is outside the 2 h window of both anchors -> unattributed. d2 (B): a3 session, a4 play 4.
  d3 (C): a5 play 6 at 00:01. d4 (D): a6 play 3. Member E has d5 (arm 1, 00:00) and d6
  (arm 2, 01:00): a8 (00:30) can only go to d5 (play 2); a7 (01:10) is in both windows and
  last touch gives it to d6 (play 8).
  arm 1 units (A, B, E): plays 10, 4, 2 -> mean 16/3, sample var 52/3, sem sqrt(52/9);
  sessions 1, 1, 0 -> mean 2/3, sem 1/3; ratio 8 with delta-method sem 3
  (39 - 60 + 48 = 27, / 3 = 9). arm 2 units (C, D, E): plays 6, 3, 8 -> mean 17/3,
  var 19/3, sem sqrt(19/9); sessions all 0 -> ratio undefined (NaN).
- treated (anchor = first treatment): C's a5 (00:01) precedes C's treatment (00:02) and D
  is never treated, so arm 2 has units C (0) and E (8): mean 4, var 32, sem 4; arm 1 is
  unchanged.
Watermark 10:00: a9 (B, play 7 at 00:40, ingested late) joins d2: arm 1 plays 10, 11, 2.
First touch instead: a7 goes to d5 (E's earlier anchor): d5 plays 10, d6 plays 0.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from adaptive.events import AttributionSettings, EventMetric, RatioMetric, compute_metrics, reward_deltas
from adaptive.events.engines import SQLTable
from tests.conftest import DATA

LOGS = {t: str(DATA / "events" / f"{t}.csv") for t in ("intents", "treatments", "activity")}
METRICS = [EventMetric("plays", "play"), EventMetric("sessions", "session", "count"),
           RatioMetric("plays_per_session", "plays", "sessions")]
SETTINGS = AttributionSettings(exposure_window=timedelta(hours=1), attribution_window=timedelta(hours=2))
FIRST = datetime(2026, 1, 1, 5, tzinfo=timezone.utc)
SECOND = datetime(2026, 1, 1, 10, tzinfo=timezone.utc)


def run(engine, *, watermark=FIRST, since=None, settings=SETTINGS, logs=LOGS):
    return compute_metrics(**logs, metrics=METRICS, settings=settings, watermark=watermark, since=since, engine=engine)


def value(result, arm, view, metric, column="mean"):
    m = result.metrics
    (v,) = m[(m["arm"] == arm) & (m["view"] == view) & (m["metric"] == metric)][column]
    return v


def test_golden_first_computation(engine):
    r = run(engine)
    assert value(r, "1", "itt", "plays") == pytest.approx(16 / 3, abs=1e-12)
    assert value(r, "1", "itt", "plays", "sem") == pytest.approx(math.sqrt(52 / 9), abs=1e-12)
    assert value(r, "1", "itt", "sessions") == pytest.approx(2 / 3, abs=1e-12)
    assert value(r, "1", "itt", "sessions", "sem") == pytest.approx(1 / 3, abs=1e-12)
    assert value(r, "1", "itt", "plays_per_session") == pytest.approx(8.0, abs=1e-12)
    assert value(r, "1", "itt", "plays_per_session", "sem") == pytest.approx(3.0, abs=1e-12)
    assert value(r, "2", "itt", "plays") == pytest.approx(17 / 3, abs=1e-12)
    assert value(r, "2", "itt", "plays", "sem") == pytest.approx(math.sqrt(19 / 9), abs=1e-12)
    assert math.isnan(value(r, "2", "itt", "plays_per_session"))
    assert value(r, "2", "treated", "plays", "n") == 2
    assert value(r, "2", "treated", "plays") == pytest.approx(4.0, abs=1e-12)
    assert value(r, "2", "treated", "plays", "sem") == pytest.approx(4.0, abs=1e-12)
    assert value(r, "1", "treated", "plays") == pytest.approx(16 / 3, abs=1e-12)
    rewards = r.rewards.set_index("decision_id")
    assert rewards["plays"].to_dict() == {"d1": 10.0, "d2": 4.0, "d3": 6.0, "d4": 3.0, "d5": 2.0, "d6": 8.0}
    assert rewards["treated"].to_dict() == {"d1": True, "d2": True, "d3": True, "d4": False, "d5": True, "d6": True}
    assert rewards.loc["d6", "propensity"] == 0.25 and rewards.loc["d6", "policy_version"] == "v2"
    assert list(r.treatments_without_intent["event_id"]) == ["t6", "t7"]
    assert list(r.intents_never_treated["decision_id"]) == ["d4"]
    assert r.counts == {
        "duplicate_intents": 1, "duplicate_treatments": 1, "duplicate_activity": 1, "after_watermark": 1,
        "intents": 6, "treatments": 7, "activity": 9, "treatments_without_intent": 2, "intents_never_treated": 1,
        "unattributed_activity": 1, "late_events": 0,
    }
    assert r.observations("exp")[:1] == [(1, "plays", pytest.approx(16 / 3), pytest.approx(math.sqrt(52 / 9)))]


def test_late_event_is_picked_up_once_by_the_next_computation(engine):
    first = run(engine)
    second = run(engine, watermark=SECOND, since=FIRST)
    assert second.counts["late_events"] == 1 and second.counts["after_watermark"] == 0
    assert value(second, "1", "itt", "plays") == pytest.approx(23 / 3, abs=1e-12)
    deltas = reward_deltas(first, second, "plays")
    assert deltas.to_dict("records") == [{"decision_id": "d2", "delta": 7.0}]
    # Recomputing at the same watermark changes nothing: nothing is counted twice.
    again = run(engine, watermark=SECOND, since=FIRST)
    pd.testing.assert_frame_equal(again.metrics, second.metrics)
    assert reward_deltas(second, again, "plays").empty


def test_first_touch(engine):
    r = run(engine, settings=AttributionSettings(timedelta(hours=1), timedelta(hours=2), touch="first"))
    rewards = r.rewards.set_index("decision_id")["plays"]
    assert rewards["d5"] == 10.0 and rewards["d6"] == 0.0


def test_parquet_dataframe_and_sql_inputs_agree(tmp_path):
    frames = {t: pd.read_csv(p) for t, p in LOGS.items()}
    parquet = {}
    for t, frame in frames.items():
        frame = frame.assign(ts=pd.to_datetime(frame["ts"], utc=True),
                             ingested_at=pd.to_datetime(frame["ingested_at"], utc=True))
        frames[t] = frame
        parquet[t] = str(tmp_path / f"{t}.parquet")
        frame.to_parquet(parquet[t])
    url = f"sqlite:///{tmp_path / 'logs.db'}"
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    for t, frame in frames.items():
        frame.assign(ts=frame["ts"].dt.strftime("%Y-%m-%d %H:%M:%S"),
                     ingested_at=frame["ingested_at"].dt.strftime("%Y-%m-%d %H:%M:%S")).to_sql(t, engine, index=False)
    engine.dispose()
    sql = {t: SQLTable(url, table=t) for t in frames}
    reference = run("duckdb")
    for logs in (frames, parquet, sql):
        pd.testing.assert_frame_equal(run("duckdb", logs=logs).metrics, reference.metrics)
