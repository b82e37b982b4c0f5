"""Bad logs and bad settings are refused with the field and the value; nothing is computed."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

import adaptive as ad
from adaptive.demo.event_logs import generate_logs
from adaptive.events import AttributionSettings, EventMetric, RatioMetric, compute_metrics

METRICS = [EventMetric("minutes", "play")]


@pytest.fixture
def logs():
    return generate_logs(50, seed=1)


def run(logs, **kwargs):
    return compute_metrics(**logs, metrics=kwargs.pop("metrics", METRICS), **kwargs)


def test_missing_column(logs):
    logs["activity"] = logs["activity"].drop(columns=["value"])
    with pytest.raises(ad.ValidationError) as info:
        run(logs)
    assert info.value.field == "activity.value" and "missing column" in str(info.value)


@pytest.mark.parametrize("bad", [0.0, 1.5, float("nan"), -0.2])
def test_propensity_outside_unit_interval(logs, bad):
    logs["intents"].loc[3, "propensity"] = bad
    with pytest.raises(ad.ValidationError) as info:
        run(logs)
    assert info.value.field == "intents.propensity" and "1 of" in str(info.value)


@pytest.mark.parametrize("bad", [float("inf"), float("nan")])
def test_non_finite_activity_value(logs, bad):
    logs["activity"].loc[0, "value"] = bad
    with pytest.raises(ad.ValidationError) as info:
        run(logs)
    assert info.value.field == "activity.value"


def test_null_ids_and_times(logs):
    logs["treatments"].loc[2, "event_id"] = None
    with pytest.raises(ad.ValidationError, match="event_id is null") as info:
        run(logs)
    assert info.value.field == "treatments.event_id"
    logs = generate_logs(50, seed=1)
    logs["intents"]["ts"] = logs["intents"]["ts"].astype(object)
    logs["intents"].loc[0, "ts"] = None
    with pytest.raises(ad.ValidationError) as info:
        run(logs)
    assert info.value.field == "intents.ts"


def test_bad_settings_and_metrics(logs, tmp_path):
    with pytest.raises(ad.ValidationError, match="attribution.touch"):
        AttributionSettings(touch="middle")
    with pytest.raises(ad.ValidationError, match="attribution.attribution_window"):
        AttributionSettings(attribution_window=timedelta(0))
    with pytest.raises(ad.ValidationError, match="aggregate"):
        EventMetric("x", "play", "median")
    with pytest.raises(ad.ValidationError, match="unique"):
        run(logs, metrics=[EventMetric("x", "play"), EventMetric("x", "session")])
    with pytest.raises(ad.ValidationError, match="not an event metric"):
        run(logs, metrics=[EventMetric("x", "play"), RatioMetric("r", "x", "nope")])
    with pytest.raises(ad.ValidationError) as info:
        run({**logs, "activity": str(tmp_path / "absent.parquet")})
    assert info.value.field == "activity"
    with pytest.raises(ad.ValidationError, match="engine"):
        run(logs, engine="postgres")
    with pytest.raises(ad.ValidationError, match="since"):
        run(logs, watermark=datetime(2026, 1, 1, tzinfo=timezone.utc), since=datetime(2026, 1, 2, tzinfo=timezone.utc))


def test_empty_logs_give_no_rows():
    empty = generate_logs(5, seed=2)
    empty = {k: v.iloc[0:0] for k, v in empty.items()}
    result = run(empty)
    assert result.metrics.empty and result.rewards.empty and result.counts["intents"] == 0
    assert np.isfinite(result.seconds)
