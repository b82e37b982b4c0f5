"""Every policy passes one contract; then each policy's own behaviour."""

import math

import numpy as np
import pytest
from scipy.stats import norm

import adaptive as ad
from adaptive.bandits import BetaBernoulliTS, ConstrainedLinearTS, GaussianTS, LinearTS, draws_for_tolerance

ACTIONS = ["a", "b", "c"]


def make_policies(tolerance=0.02):
    return {
        "beta": BetaBernoulliTS(seed=1, tolerance=tolerance),
        "gauss": GaussianTS(seed=1, tolerance=tolerance),
        "linear": LinearTS(actions=ACTIONS, context_dim=2, seed=1, tolerance=tolerance),
        "constrained": ConstrainedLinearTS(baseline="a", actions=ACTIONS, context_dim=2, seed=1, tolerance=tolerance),
    }


def feed(policy, n=60, seed=0):
    rng = np.random.default_rng(seed)
    contexts = rng.normal(size=(n, 2))
    actions = [ACTIONS[i % 3] for i in range(n)]
    rewards = [float(rng.random() < 0.3 + 0.2 * (a == "b")) for a in actions]
    kwargs = {"auxiliary": [0.1 * (a != "c") for a in actions]} if isinstance(policy, ConstrainedLinearTS) else {}
    policy.update(list(contexts), actions, rewards, **kwargs)


@pytest.mark.parametrize("name", ["beta", "gauss", "linear", "constrained"])
def test_policy_contract(name):
    policy = make_policies()[name]
    context = np.array([0.5, -0.2])
    before = policy.version
    feed(policy)
    assert policy.version != before  # each update names a new posterior
    for _ in range(20):
        d = policy.select(context, ACTIONS)
        assert d.action in ACTIONS and d.policy_version == policy.version
        assert 0 < d.propensity <= 1 and d.propensity == pytest.approx(d.propensities[d.action])
        assert sum(d.propensities.values()) == pytest.approx(1.0)
    # logged propensities are the frequencies the policy really plays with
    counts = {a: 0 for a in ACTIONS}
    for _ in range(2000):
        counts[policy.select(context, ACTIONS).action] += 1
    for a in ACTIONS:  # binomial sd <= 0.011, plus the draws' own tolerance 0.02
        assert counts[a] / 2000 == pytest.approx(d.propensities[a], abs=0.06)
    with pytest.raises(ad.ValidationError):
        policy.select(context, [])
    with pytest.raises(ad.ValidationError):
        policy.update([context], ["a"], [math.nan])


def test_gaussian_two_arms_is_exact():
    policy = GaussianTS(prior_sd=1.0, sigma=1.0, seed=0)
    policy.update([None] * 4, ["x", "x", "y", "y"], [1.0, 1.2, 0.2, 0.4])
    m0, v0 = policy.posterior("x")
    m1, v1 = policy.posterior("y")
    d = policy.select(None, ["x", "y"])
    assert d.propensities["x"] == pytest.approx(norm.cdf((m0 - m1) / math.sqrt(v0 + v1)), abs=1e-12)
    assert (m0, v0) == pytest.approx(((1.0 + 1.2) / 3, 1 / 3))  # conjugate update by hand


def test_beta_bernoulli_posterior_and_tolerance():
    policy = BetaBernoulliTS(alpha=2, beta=3, tolerance=0.01, seed=0)
    policy.update([None] * 3, ["a", "a", "b"], [1, 0, 1])
    assert policy.posterior("a") == (3.0, 4.0) and policy.posterior("b") == (3.0, 3.0)
    assert policy.n_draws == draws_for_tolerance(0.01) == 2500
    with pytest.raises(ad.ValidationError, match="0 or 1"):
        policy.update([None], ["a"], [0.5])


def test_linear_ts_learns_the_best_action_per_context():
    rng = np.random.default_rng(0)
    policy = LinearTS(actions=ACTIONS, context_dim=1, sigma=0.1, seed=0)
    xs = rng.uniform(-1, 1, 300)
    acts = rng.choice(ACTIONS, 300)
    truth = {"a": lambda x: x, "b": lambda x: -x, "c": lambda x: 0.2}
    policy.update([[x] for x in xs], list(acts), [truth[a](x) + rng.normal(0, 0.1) for a, x in zip(acts, xs)])
    assert policy.select([0.9], ACTIONS).propensities["a"] > 0.95
    assert policy.select([-0.9], ACTIONS).propensities["b"] > 0.95
    assert policy.select([0.0], ACTIONS).propensities["c"] > 0.9


def test_constrained_ts_avoids_unsafe_actions_and_falls_back_to_baseline():
    rng = np.random.default_rng(0)
    policy = ConstrainedLinearTS(baseline="safe", actions=["safe", "risky", "ok"], context_dim=1, sigma=0.1, seed=0)
    acts = rng.choice(["safe", "risky", "ok"], 300)
    reward = {"safe": 0.0, "risky": 1.0, "ok": 0.5}
    aux = {"safe": 0.0, "risky": -0.5, "ok": 0.1}  # risky hurts reliability
    noise = lambda: rng.normal(0, 0.05)  # noqa: E731
    policy.update([[0.0]] * 300, list(acts), [reward[a] + noise() for a in acts], auxiliary=[aux[a] + noise() for a in acts])
    d = policy.select([0.0], ["safe", "risky", "ok"])
    assert d.propensities["risky"] < 0.01 and d.propensities["ok"] > 0.95
    only_bad = policy.select([0.0], ["safe", "risky"])
    assert only_bad.propensities["safe"] > 0.99
    with pytest.raises(ad.ValidationError, match="baseline"):
        policy.select([0.0], ["risky", "ok"])


def test_slates_have_per_slot_propensities():
    policy = LinearTS(actions=ACTIONS, context_dim=1, seed=0)
    feed_slate = np.random.default_rng(0)
    policy.update([[0.0]] * 30, ["a"] * 10 + ["b"] * 10 + ["c"] * 10, list(feed_slate.normal(size=30) * 0.1 + np.repeat([0.5, 0.2, 0.0], 10)))
    d = policy.select_slate([0.0], ACTIONS, 2)
    assert len(d.slate) == 2 and len(set(d.slate)) == 2 and d.action == d.slate[0]
    assert all(0 < p <= 1 for p in d.slot_propensities)
    assert 0 < d.propensity <= min(d.slot_propensities)
    with pytest.raises(ad.ValidationError):
        policy.select_slate([0.0], ACTIONS, 4)


def test_bad_constructor_arguments():
    with pytest.raises(ad.ValidationError):
        BetaBernoulliTS(alpha=0)
    with pytest.raises(ad.ValidationError):
        GaussianTS(sigma=-1)
    with pytest.raises(ad.ValidationError):
        LinearTS()
    with pytest.raises(ad.ValidationError):
        BetaBernoulliTS(tolerance=0.7)
    with pytest.raises(ad.ValidationError, match="context"):
        LinearTS(actions=ACTIONS, context_dim=2).select([1.0], ACTIONS)
