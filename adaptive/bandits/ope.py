"""Off-policy evaluation: the value of a target policy from data logged by another.

Notation (as in the Open Bandit Pipeline, Saito et al., 2021, "Open Bandit Dataset
and Pipeline"): round ``i`` has context ``x_i``, logged action ``a_i`` with logging
propensity ``p_i = pi_0(a_i | x_i)`` and reward ``r_i``; the target policy puts
probability ``pi_e(a | x_i)`` on each of ``K`` actions (``action_dist``, ``n x K``);
``q_hat(x_i, a)`` is a reward model's estimate (``estimated_rewards``, ``n x K``);
``w_i = pi_e(a_i | x_i) / p_i``.

| estimator | value | unbiased when |
|---|---|---|
| IPS | ``mean(w r)`` (Horvitz & Thompson, 1952) | propensities are correct and ``pi_0 > 0`` wherever ``pi_e > 0`` |
| SNIPS | ``sum(w r) / sum(w)`` (Swaminathan & Joachims, 2015) | consistent, small bias for lower variance |
| DM | ``mean(sum_a pi_e(a|x) q_hat(x, a))`` | the reward model is correct |
| DR | ``DM + mean(w (r - q_hat(x, a_i)))`` (Dudik et al., 2011) | propensities *or* reward model correct |
| Switch-DR | DR with the correction only where ``w <= tau`` (Wang et al., 2017) | biased for ``tau < max w``; lower variance |

Intervals: ``"asymptotic"`` (normal, from the per-round terms; the delta method for
SNIPS) or ``"bootstrap"`` (percentile, resampling rounds).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from adaptive.errors import ValidationError


@dataclass(frozen=True)
class LoggedData:
    """Validated logs: ``actions`` (``n`` ints in ``[0, K)``), ``rewards`` (``n``), ``propensities`` (``n``, in (0, 1])."""

    actions: np.ndarray
    rewards: np.ndarray
    propensities: np.ndarray

    @classmethod
    def build(cls, actions, rewards, propensities, *, n_actions: int | None = None) -> LoggedData:
        a = np.asarray(actions)
        r = np.asarray(rewards, dtype=float)
        p = np.asarray(propensities, dtype=float)
        n = len(a)
        if n == 0:
            raise ValidationError("actions", [], "logs are empty")
        if r.shape != (n,) or p.shape != (n,):
            raise ValidationError("rewards", f"{r.shape} / {p.shape}", f"rewards and propensities need {n} values each")
        if a.dtype.kind not in "iu" or (a < 0).any() or (n_actions is not None and (a >= n_actions).any()):
            bad = a[(a < 0) | (a >= (n_actions or np.inf))][:3].tolist() if a.dtype.kind in "iu" else a[:3].tolist()
            raise ValidationError("actions", bad, f"actions must be integers in [0, {n_actions})")
        if not np.all(np.isfinite(r)):
            raise ValidationError("rewards", r[~np.isfinite(r)][:3].tolist(), "rewards must be finite (no NaN)")
        bad = ~np.isfinite(p) | (p <= 0) | (p > 1)
        if bad.any():
            raise ValidationError("propensities", p[bad][:3].tolist(), "propensities must lie in (0, 1]")
        return cls(a.astype(int), r, p)


@dataclass(frozen=True)
class Estimate:
    """A policy-value estimate (reward units) with a ``level`` confidence interval."""

    method: str
    value: float
    lower: float
    upper: float
    level: float
    n: int


def _check_matrix(name: str, M, n: int) -> np.ndarray:
    M = np.asarray(M, dtype=float)
    if M.ndim != 2 or M.shape[0] != n:
        raise ValidationError(name, f"shape {M.shape}", f"expected n x K with n = {n}")
    if not np.all(np.isfinite(M)):
        raise ValidationError(name, "non-finite entries", "must be finite")
    return M


def _action_dist(action_dist, n: int) -> np.ndarray:
    pi = _check_matrix("action_dist", action_dist, n)
    if (pi < 0).any() or not np.allclose(pi.sum(axis=1), 1.0, atol=1e-6):
        raise ValidationError("action_dist", "rows", "each row must be a probability distribution over actions")
    return pi


def _interval(terms: np.ndarray, value: float, level: float, ci: str, n_boot: int, seed: int, stat: Callable) -> tuple[float, float]:
    n = len(terms) if terms.ndim == 1 else terms.shape[0]
    if ci == "asymptotic":
        z = norm.ppf(0.5 + level / 2)
        se = float(np.std(terms, ddof=1) / np.sqrt(n)) if n > 1 else float("inf")
        return value - z * se, value + z * se
    if ci == "bootstrap":
        rng = np.random.default_rng(seed)
        stats = np.array([stat(terms[rng.integers(0, n, n)]) for _ in range(n_boot)])
        return float(np.quantile(stats, (1 - level) / 2)), float(np.quantile(stats, (1 + level) / 2))
    raise ValidationError("ci", ci, "expected 'asymptotic' or 'bootstrap'")


def _finish(method: str, terms: np.ndarray, level: float, ci: str, n_boot: int, seed: int) -> Estimate:
    value = float(terms.mean())
    lower, upper = _interval(terms, value, level, ci, n_boot, seed, np.mean)
    return Estimate(method, value, lower, upper, level, len(terms))


def _weights(logs: LoggedData, pi: np.ndarray) -> np.ndarray:
    return pi[np.arange(len(logs.actions)), logs.actions] / logs.propensities


def ips(logs: LoggedData, action_dist, *, clip: float | None = None, level: float = 0.95, ci: str = "asymptotic",
        n_boot: int = 2000, seed: int = 0) -> Estimate:
    """Inverse propensity scoring; ``clip`` caps the weights (biased, lower variance)."""
    pi = _action_dist(action_dist, len(logs.actions))
    w = _weights(logs, pi)
    if clip is not None:
        w = np.minimum(w, clip)
    return _finish("ips" if clip is None else f"clipped-ips({clip:g})", w * logs.rewards, level, ci, n_boot, seed)


def snips(logs: LoggedData, action_dist, *, level: float = 0.95, ci: str = "asymptotic", n_boot: int = 2000,
          seed: int = 0) -> Estimate:
    """Self-normalized IPS: ``sum(w r) / sum(w)``; the asymptotic interval uses the delta method."""
    pi = _action_dist(action_dist, len(logs.actions))
    w = _weights(logs, pi)
    if w.sum() <= 0:
        raise ValidationError("action_dist", "zero weight", "the target policy never takes a logged action")
    value = float(np.sum(w * logs.rewards) / np.sum(w))
    if ci == "asymptotic":
        # delta method: (w (r - value)) / mean(w) has mean ~0 and the estimator's variance
        terms = w * (logs.rewards - value) / w.mean()
        z = norm.ppf(0.5 + level / 2)
        se = float(np.std(terms, ddof=1) / np.sqrt(len(w)))
        return Estimate("snips", value, value - z * se, value + z * se, level, len(w))
    pairs = np.column_stack([w * logs.rewards, w])
    lower, upper = _interval(pairs, value, level, ci, n_boot, seed, lambda s: s[:, 0].sum() / s[:, 1].sum())
    return Estimate("snips", value, lower, upper, level, len(w))


def dm(logs: LoggedData, action_dist, estimated_rewards, *, level: float = 0.95, ci: str = "asymptotic",
       n_boot: int = 2000, seed: int = 0) -> Estimate:
    """Direct method: the reward model's value of the target policy."""
    n = len(logs.actions)
    pi, q = _action_dist(action_dist, n), _check_matrix("estimated_rewards", estimated_rewards, n)
    if q.shape != pi.shape:
        raise ValidationError("estimated_rewards", f"shape {q.shape}", f"must match action_dist {pi.shape}")
    return _finish("dm", np.sum(pi * q, axis=1), level, ci, n_boot, seed)


def dr(logs: LoggedData, action_dist, estimated_rewards, *, switch_tau: float | None = None, level: float = 0.95,
       ci: str = "asymptotic", n_boot: int = 2000, seed: int = 0) -> Estimate:
    """Doubly robust; with ``switch_tau`` the Switch-DR variant (correction only where ``w <= tau``)."""
    n = len(logs.actions)
    pi, q = _action_dist(action_dist, n), _check_matrix("estimated_rewards", estimated_rewards, n)
    if q.shape != pi.shape:
        raise ValidationError("estimated_rewards", f"shape {q.shape}", f"must match action_dist {pi.shape}")
    w = _weights(logs, pi)
    q_logged = q[np.arange(n), logs.actions]
    correction = w * (logs.rewards - q_logged)
    if switch_tau is not None:
        if not switch_tau > 0:
            raise ValidationError("switch_tau", switch_tau, "must be positive")
        correction = np.where(w <= switch_tau, correction, 0.0)
    method = "dr" if switch_tau is None else f"switch-dr({switch_tau:g})"
    return _finish(method, np.sum(pi * q, axis=1) + correction, level, ci, n_boot, seed)


__all__ = ["Estimate", "LoggedData", "dm", "dr", "ips", "snips"]
