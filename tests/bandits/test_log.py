"""Decisions and rewards in SQL (SQLite and PostgreSQL), joined within an attribution window."""

from datetime import datetime, timedelta, timezone

import pytest

import adaptive as ad
from adaptive.bandits import BetaBernoulliTS, Decision, DecisionLog

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)


def test_record_and_join_within_the_window(storage_url):
    log = DecisionLog(storage_url)
    policy = BetaBernoulliTS(seed=0)
    ids = []
    for i in range(3):
        d = policy.select(None, ["art-1", "art-2"])
        ids.append(log.record("artwork", d, context={"country": "us", "i": i}, at=T0 + timedelta(minutes=i)))
    log.record("other", Decision("x", 0.5, "v0"), at=T0)
    log.record_reward(ids[0], 1.0, at=T0 + timedelta(hours=1))
    log.record_reward(ids[0], 1.0, at=T0 + timedelta(hours=2))        # two plays: summed
    log.record_reward(ids[1], 1.0, at=T0 + timedelta(days=3))         # outside a one-day window
    log.record_reward(ids[2], 5.0, metric="watch_minutes", at=T0 + timedelta(minutes=10))  # another metric
    frame = log.joined("artwork", window=timedelta(days=1))
    assert list(frame["decision_id"]) == ids
    assert list(frame["reward"]) == [2.0, 0.0, 0.0] and list(frame["n_rewards"]) == [2, 0, 0]
    assert frame.loc[0, "context"] == {"country": "us", "i": 0}
    assert 0 < frame.loc[0, "propensity"] <= 1 and frame.loc[0, "policy_version"] == "beta-bernoulli-ts-v0"
    assert list(log.joined("artwork", window=timedelta(days=5), missing="drop")["decision_id"]) == ids[:2]
    assert list(log.joined("artwork", metric="watch_minutes", missing="drop")["reward"]) == [5.0]
    assert len(log.joined()) == 4


def test_bad_log_input_writes_nothing(storage_url):
    log = DecisionLog(storage_url)
    decision_id = log.record("p", Decision("a", 0.5, "v0"), decision_id="d-1")
    with pytest.raises(ad.DuplicateNameError):
        log.record("p", Decision("a", 0.5, "v0"), decision_id="d-1")
    with pytest.raises(ad.ValidationError) as info:
        log.record("p", Decision("a", 0.0, "v0"))
    assert info.value.field == "propensity"
    with pytest.raises(ad.NotFoundError):
        log.record_reward("missing", 1.0)
    with pytest.raises(ad.ValidationError):
        log.record_reward(decision_id, float("nan"))
    with pytest.raises(ad.ValidationError):
        log.record("p", Decision("a", 0.5, "v0"), context=[float("nan")])
    frame = log.joined("p")
    assert list(frame["decision_id"]) == ["d-1"] and frame.loc[0, "n_rewards"] == 0
