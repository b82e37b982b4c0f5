"""Event-log metrics feed rounds (as a metric source) and bandits/OPE (as per-decision rewards)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

import adaptive as ad
from adaptive.bandits import DecisionLog
from adaptive.bandits._base import Decision
from adaptive.bandits.ope import ips
from adaptive.cron.apply_config import apply_config
from adaptive.cron.config import parse_config
from adaptive.cron.rounds import run_round
from adaptive.events import EventMetric, compute_metrics
from adaptive.events.feed import logged_data, record_rewards

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def config(tmp_path, **metrics):
    return {
        "name": "events-cron",
        "parameters": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
        "objectives": [{"metric": "minutes", "direction": "maximize"}],
        "generation": {"initial_trials": 1000},
        "rounds": {"max_parallel": {"online": 3}},
        "metrics": {
            "kind": "events", "intents": str(tmp_path / "intents.parquet"),
            "treatments": str(tmp_path / "treatments.parquet"), "activity": str(tmp_path / "activity.parquet"),
            "attribution_window": "2h",
            "define": [{"name": "minutes", "event_type": "play"}, {"name": "sessions", "event_type": "session", "aggregate": "count"}],
            **metrics,
        },
    }


def write_logs(tmp_path, trials, members_per_trial=20, seed=0):
    rng = np.random.default_rng(seed)
    intents, treatments, activity = [], [], []
    for t in trials:
        for j in range(members_per_trial):
            member, at = f"m{t.id}-{j}", T0 + timedelta(minutes=j)
            intents.append({"decision_id": f"d{t.id}-{j}", "member_id": member, "experiment": "events-cron",
                            "arm": str(t.id), "policy_version": None, "propensity": 1.0, "ts": at})
            treatments.append({"event_id": f"t{t.id}-{j}", "member_id": member, "experiment": "events-cron",
                               "arm": str(t.id), "ts": at + timedelta(seconds=30), "device": "web"})
            for k in range(3):
                activity.append({"event_id": f"a{t.id}-{j}-{k}", "member_id": member, "event_type": "play",
                                 "value": float(10 * t.params["x"] + rng.normal()), "ts": at + timedelta(minutes=5 + k)})
    columns = {
        "intents": ["decision_id", "member_id", "experiment", "arm", "policy_version", "propensity", "ts"],
        "treatments": ["event_id", "member_id", "experiment", "arm", "ts", "device"],
        "activity": ["event_id", "member_id", "event_type", "value", "ts"],
    }
    for name, rows in (("intents", intents), ("treatments", treatments), ("activity", activity)):
        frame = pd.DataFrame(rows, columns=columns[name])
        frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
        frame.to_parquet(tmp_path / f"{name}.parquet")


@pytest.mark.parametrize("incremental", [False, True], ids=["full", "incremental"])
def test_a_round_completes_trials_from_event_logs(sqlite_url, tmp_path, incremental):
    extra = {"state": str(tmp_path / "state")} if incremental else {}
    exp = apply_config(parse_config(config(tmp_path, **extra)), storage=sqlite_url)[0]
    write_logs(tmp_path, [])  # empty logs before any trial runs
    first = run_round("events-cron", storage=sqlite_url)
    assert first.status == "DONE" and first.counts["proposed"] == {"online": 3} and not first.errors
    running = exp.trials(status="RUNNING")
    write_logs(tmp_path, running)
    second = run_round("events-cron", storage=sqlite_url)
    assert second.status == "DONE" and second.counts["completed"] == 3
    direct = compute_metrics(
        intents=tmp_path / "intents.parquet", treatments=tmp_path / "treatments.parquet",
        activity=tmp_path / "activity.parquet", metrics=[EventMetric("minutes", "play")],
    )
    expected = {trial: (mean, sem) for trial, metric, mean, sem in direct.observations("events-cron")}
    for t in running:
        done = exp.trial(t.id)
        assert done.status == ad.TrialStatus.COMPLETED
        mean, sem = expected[t.id]
        assert done.observations["minutes"].mean == pytest.approx(mean, rel=1e-12)
        assert done.observations["minutes"].sem == pytest.approx(sem, rel=1e-12)
        # Three plays of about 10 x each per member.
        assert done.observations["minutes"].mean == pytest.approx(30 * t.params["x"], abs=1.5)
    if incremental:
        assert (tmp_path / "state" / "manifest.json").exists()


def test_events_config_errors_name_the_field(tmp_path):
    bad = config(tmp_path)
    del bad["metrics"]["define"]
    with pytest.raises(ad.ValidationError) as info:
        parse_config(bad)
    assert info.value.field == "metrics.define"
    with pytest.raises(ad.ValidationError) as info:
        parse_config(config(tmp_path, view="everyone"))
    assert info.value.field == "metrics.view"
    with pytest.raises(ad.ValidationError) as info:
        parse_config(config(tmp_path, attribution_window="soon"))
    assert info.value.field == "metrics.attribution_window"
    with pytest.raises(ad.ValidationError) as info:
        parse_config(config(tmp_path, state=""))
    assert info.value.field == "metrics.state"
    with pytest.raises(ad.ValidationError) as info:
        parse_config(config(tmp_path, intents=3))
    assert info.value.field == "metrics.intents"


def test_rewards_reach_the_decision_log_once_and_feed_ope(sqlite_url):
    log = DecisionLog(sqlite_url)
    rng = np.random.default_rng(3)
    intents, activity = [], []
    for i in range(40):
        action = ["a", "b"][i % 2]
        at = T0 + timedelta(minutes=i)
        log.record("feed", Decision(action, 0.5, "v1"), at=at, decision_id=f"d{i}")
        intents.append({"decision_id": f"d{i}", "member_id": f"m{i}", "experiment": "feed", "arm": action,
                        "policy_version": "v1", "propensity": 0.5, "ts": at})
        clicks = int(rng.integers(0, 3)) + (action == "b")
        for k in range(clicks):
            late = k == 1  # the second click of each member reaches the log 6 hours late
            activity.append({"event_id": f"c{i}-{k}", "member_id": f"m{i}", "event_type": "click", "value": 1.0,
                             "ts": at + timedelta(minutes=10), "ingested_at": at + timedelta(hours=6 if late else 0, minutes=11)})
    intents, activity = pd.DataFrame(intents), pd.DataFrame(activity)
    treatments = pd.DataFrame(columns=["event_id", "member_id", "experiment", "arm", "ts", "device"])
    metrics = [EventMetric("clicks", "click", "count")]
    kw = dict(intents=intents, treatments=treatments, activity=activity, metrics=metrics)
    first = compute_metrics(**kw, watermark=T0 + timedelta(hours=2))
    second = compute_metrics(**kw, watermark=T0 + timedelta(hours=12), since=T0 + timedelta(hours=2))
    assert second.counts["late_events"] > 0
    assert record_rewards(log, None, first, "clicks") > 0
    record_rewards(log, first, second, "clicks")
    record_rewards(log, second, second, "clicks")  # nothing new: nothing written
    joined = log.joined(metric="clicks").set_index("decision_id")["reward"]
    expected = second.rewards.set_index("decision_id")["clicks"]
    pd.testing.assert_series_equal(joined.sort_index(), expected.sort_index(), check_names=False)
    data = logged_data(second, "clicks", ["a", "b"])
    always_b = np.tile([0.0, 1.0], (len(data.actions), 1))
    estimate = ips(data, always_b)
    b = second.rewards[second.rewards["arm"] == "b"]["clicks"]
    assert estimate.value == pytest.approx(b.sum() / 0.5 / len(second.rewards))
    with pytest.raises(ad.ValidationError, match="actions"):
        logged_data(second, "clicks", ["a"])


def test_batch_rewards_refuse_unknown_decisions_and_write_nothing(sqlite_url):
    log = DecisionLog(sqlite_url)
    log.record("p", Decision("a", 0.5, "v1"), decision_id="known", at=T0)
    with pytest.raises(ad.NotFoundError):
        log.record_rewards([("known", 1.0, T0), ("ghost", 2.0, T0)])
    assert log.joined(policy="p")["n_rewards"].tolist() == [0]
    with pytest.raises(ad.ValidationError):
        log.record_rewards([("known", float("nan"), T0)])
    assert log.record_rewards([("known", 1.0, T0), ("ghost", 2.0, T0)], skip_unknown=True) == 1
    assert log.joined(policy="p")["reward"].tolist() == [1.0]
