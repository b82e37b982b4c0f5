"""Off-policy estimators: hand-computed values, unbiasedness, consistency, interval coverage."""

import numpy as np
import pytest

import adaptive as ad
from adaptive.bandits import ope

# A tiny log, values by hand (the Open Bandit Pipeline's definitions):
# rounds: (action, reward, logging propensity); target policy puts pi on actions 0/1.
ACTIONS = [0, 1, 1]
REWARDS = [1.0, 0.0, 1.0]
PSCORE = [0.5, 0.25, 0.8]
PI = np.array([[0.2, 0.8], [0.6, 0.4], [0.0, 1.0]])
QHAT = np.array([[0.5, 0.5], [0.1, 0.3], [0.2, 0.9]])


def test_hand_computed_values():
    logs = ope.LoggedData.build(ACTIONS, REWARDS, PSCORE, n_actions=2)
    w = np.array([0.2 / 0.5, 0.4 / 0.25, 1.0 / 0.8])  # 0.4, 1.6, 1.25
    assert ope.ips(logs, PI).value == pytest.approx((0.4 * 1 + 0 + 1.25 * 1) / 3)
    assert ope.snips(logs, PI).value == pytest.approx((0.4 + 1.25) / w.sum())
    dm_terms = [0.2 * 0.5 + 0.8 * 0.5, 0.6 * 0.1 + 0.4 * 0.3, 0.0 * 0.2 + 1.0 * 0.9]  # 0.5, 0.18, 0.9
    assert ope.dm(logs, PI, QHAT).value == pytest.approx(np.mean(dm_terms))
    corrections = [0.4 * (1 - 0.5), 1.6 * (0 - 0.3), 1.25 * (1 - 0.9)]
    assert ope.dr(logs, PI, QHAT).value == pytest.approx(np.mean(np.add(dm_terms, corrections)))
    switched = [0.4 * (1 - 0.5), 0.0, 1.25 * (1 - 0.9)]  # w = 1.6 > tau = 1.5 is switched off
    assert ope.dr(logs, PI, QHAT, switch_tau=1.5).value == pytest.approx(np.mean(np.add(dm_terms, switched)))
    assert ope.ips(logs, PI, clip=1.0).value == pytest.approx((0.4 + 1.0) / 3)


# -- a synthetic world with a known policy value ------------------------------------------------
K = 3


def true_q(x):
    """``n x K`` expected rewards."""
    return 1 / (1 + np.exp(-(np.outer(x, [1.0, -1.0, 0.2]) + [0.0, 0.3, -0.2])))


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def logging_policy(x):
    return softmax(np.outer(x, [0.5, -0.5, 0.0]))


def target_policy(x):
    return softmax(np.outer(x, [3.0, -3.0, 0.5]))


TRUE_VALUE = float(np.mean(np.sum(target_policy(x := np.random.default_rng(123).normal(size=400_000)) * true_q(x), axis=1)))


def simulate(n, rng):
    x = rng.normal(size=n)
    p0 = logging_policy(x)
    a = np.array([rng.choice(K, p=row) for row in p0])
    r = (rng.random(n) < true_q(x)[np.arange(n), a]).astype(float)
    logs = ope.LoggedData.build(a, r, p0[np.arange(n), a], n_actions=K)
    # a deliberately wrong reward model (per-action averages, ignoring the context)
    qhat = np.tile([r[a == k].mean() if (a == k).any() else 0.5 for k in range(K)], (n, 1))
    return logs, target_policy(x), qhat


def test_ips_and_dr_are_unbiased_and_dr_covers_the_truth():
    rng = np.random.default_rng(0)
    ips_values, dr_values, covered = [], [], 0
    for _ in range(200):
        logs, pi, qhat = simulate(1000, rng)
        ips_values.append(ope.ips(logs, pi).value)
        est = ope.dr(logs, pi, qhat)
        dr_values.append(est.value)
        covered += est.lower <= TRUE_VALUE <= est.upper
    for values in (ips_values, dr_values):
        se = np.std(values) / np.sqrt(len(values))
        assert abs(np.mean(values) - TRUE_VALUE) < 3.5 * se
    assert 0.90 <= covered / 200 <= 0.99


def test_relative_error_shrinks_as_the_log_grows():
    rng = np.random.default_rng(1)
    for estimator in (lambda log, p, q: ope.ips(log, p), lambda log, p, q: ope.snips(log, p), ope.dr):
        errors = {}
        for n in (250, 4000):
            errors[n] = np.mean([abs(estimator(*simulate(n, rng)).value - TRUE_VALUE) / TRUE_VALUE for _ in range(40)])
        assert errors[4000] < 0.5 * errors[250]


def test_bootstrap_and_asymptotic_intervals_agree_roughly():
    logs, pi, qhat = simulate(2000, np.random.default_rng(2))
    a = ope.dr(logs, pi, qhat)
    b = ope.dr(logs, pi, qhat, ci="bootstrap", n_boot=500)
    assert a.value == b.value
    assert (b.upper - b.lower) == pytest.approx(a.upper - a.lower, rel=0.25)
    s = ope.snips(logs, pi, ci="bootstrap", n_boot=300)
    assert s.lower < s.value < s.upper


@pytest.mark.parametrize(
    ("actions", "rewards", "pscore", "field"),
    [
        ([0, 1], [1.0, 0.0], [0.5, 0.0], "propensities"),
        ([0, 1], [1.0, 0.0], [0.5, 1.2], "propensities"),
        ([0, 1], [1.0, np.nan], [0.5, 0.5], "rewards"),
        ([0, 5], [1.0, 0.0], [0.5, 0.5], "actions"),
        ([0, -1], [1.0, 0.0], [0.5, 0.5], "actions"),
        ([0.5, 1], [1.0, 0.0], [0.5, 0.5], "actions"),
        ([0, 1], [1.0], [0.5, 0.5], "rewards"),
        ([], [], [], "actions"),
    ],
)
def test_invalid_logs(actions, rewards, pscore, field):
    with pytest.raises(ad.ValidationError) as info:
        ope.LoggedData.build(actions, rewards, pscore, n_actions=2)
    assert info.value.field == field


def test_invalid_target_distributions():
    logs = ope.LoggedData.build(ACTIONS, REWARDS, PSCORE, n_actions=2)
    with pytest.raises(ad.ValidationError, match="probability distribution"):
        ope.ips(logs, PI * 2)
    with pytest.raises(ad.ValidationError) as info:
        ope.dr(logs, PI, QHAT[:, :1])
    assert info.value.field == "estimated_rewards"
    with pytest.raises(ad.ValidationError) as info:
        ope.ips(logs, PI, ci="magic")
    assert info.value.field == "ci"
