"""Linear Thompson sampling with a Bayesian linear model over context-action features
(Agrawal & Goyal, 2013, "Thompson Sampling for Contextual Bandits with Linear Payoffs"),
a constrained variant that keeps a safety metric at or above a baseline action's, and
top-k slates with per-slot propensities.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from adaptive._checks import is_integer
from adaptive.bandits._base import Decision, Policy, check_actions, check_rewards, choose_from_draws
from adaptive.errors import ValidationError

Features = Callable[[Any, Any], np.ndarray]


class BayesianLinearModel:
    """``y = phi . theta + noise``, ``theta ~ N(0, I / prior_precision)``, noise N(0, ``sigma``^2).

    Shapes: features ``n x d``; ``sample(k)`` returns ``k x d`` posterior draws of theta.
    """

    def __init__(self, dim: int, *, prior_precision: float = 1.0, sigma: float = 1.0) -> None:
        if not is_integer(dim) or dim < 1:
            raise ValidationError("dim", dim, "must be a positive integer")
        for name, value in (("prior_precision", prior_precision), ("sigma", sigma)):
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValidationError(name, value, "must be a positive number")
        self.dim = dim
        self.noise_precision = sigma**-2
        self.precision = prior_precision * np.eye(dim)
        self.b = np.zeros(dim)

    def update(self, phi: np.ndarray, y: np.ndarray) -> None:
        self.precision += self.noise_precision * phi.T @ phi
        self.b += self.noise_precision * phi.T @ y

    @property
    def mean(self) -> np.ndarray:
        return np.linalg.solve(self.precision, self.b)

    def sample(self, k: int, rng: np.random.Generator) -> np.ndarray:
        # theta = mean + L^-T z with precision = L L^T has covariance precision^-1.
        L = np.linalg.cholesky(self.precision)
        z = rng.standard_normal((self.dim, k))
        return (self.mean[:, None] + np.linalg.solve(L.T, z)).T


def disjoint_features(actions: Sequence[Any], context_dim: int) -> tuple[Features, int]:
    """Per-action linear models: ``phi(x, a) = onehot(a) kron [1, x]``, dimension ``K * (context_dim + 1)``."""
    index = {a: i for i, a in enumerate(actions)}

    def features(context: Any, action: Any) -> np.ndarray:
        x = np.asarray(context, dtype=float).reshape(-1)
        if x.shape != (context_dim,) or not np.all(np.isfinite(x)):
            raise ValidationError("context", context, f"expected {context_dim} finite numbers")
        if action not in index:
            raise ValidationError("action", action, f"not one of {list(actions)}")
        onehot = np.zeros(len(actions))
        onehot[index[action]] = 1.0
        return np.kron(onehot, np.concatenate([[1.0], x]))

    return features, len(actions) * (context_dim + 1)


class LinearTS(Policy):
    """Thompson sampling on a Bayesian linear reward model.

    Args:
        actions, context_dim: use per-action linear models over a numeric context vector; or
        features, dim: any feature map ``phi(context, action) -> R^dim``.
    """

    name = "linear-ts"

    def __init__(
        self, *, actions: Sequence[Any] | None = None, context_dim: int | None = None,
        features: Features | None = None, dim: int | None = None,
        prior_precision: float = 1.0, sigma: float = 1.0, tolerance: float = 0.005, seed: int | None = None,
    ) -> None:
        super().__init__(tolerance=tolerance, seed=seed)
        if features is None:
            if actions is None or context_dim is None:
                raise ValidationError("features", None, "give features and dim, or actions and context_dim")
            features, dim = disjoint_features(check_actions(actions), context_dim)
        if dim is None:
            raise ValidationError("dim", None, "give the feature dimension")
        self.features = features
        self.reward_model = BayesianLinearModel(dim, prior_precision=prior_precision, sigma=sigma)
        self._model_args = dict(prior_precision=prior_precision, sigma=sigma)

    def _phi(self, contexts: Sequence[Any], actions: Sequence[Any]) -> np.ndarray:
        return np.stack([self.features(c, a) for c, a in zip(contexts, actions)])

    def update(
        self, contexts: Sequence[Any], actions: Sequence[Any], rewards: Sequence[float], **_: Any
    ) -> None:
        phi = self._phi(contexts, actions)
        self.reward_model.update(phi, check_rewards(rewards, len(phi)))
        self.updates += 1

    def score_draws(self, context: Any, actions: Sequence[Any]) -> np.ndarray:
        """``n_draws x K`` sampled mean rewards of the actions in this context."""
        phi = self._phi([context] * len(actions), actions)
        return self.reward_model.sample(self.n_draws, self.rng) @ phi.T

    def _winners(self, context: Any, actions: Sequence[Any]) -> np.ndarray:
        return self.score_draws(context, actions).argmax(axis=1)

    def select(self, context: Any, actions: Sequence[Any]) -> Decision:
        actions = check_actions(actions)
        chosen, shares = choose_from_draws(self._winners(context, actions), actions, self.rng)
        return Decision(actions[chosen], shares[actions[chosen]], self.version, shares)

    def select_slate(self, context: Any, actions: Sequence[Any], k: int) -> Decision:
        """A ranked top-``k`` slate: slot ``j`` holds the ``j``-th best action of one posterior draw.

        ``slot_propensities[j]`` is the probability that slot ``j`` holds the action shown there
        (the share of draws that put it there); ``propensity`` is that of the whole slate.
        """
        actions = check_actions(actions)
        if not is_integer(k) or not 1 <= k <= len(actions):
            raise ValidationError("k", k, f"must be an integer from 1 to {len(actions)}")
        rankings = np.argsort(-self.score_draws(context, actions), axis=1)[:, :k]
        row = rankings[self.rng.integers(len(rankings))]
        slot_p = tuple(float(np.mean(rankings[:, j] == row[j])) for j in range(k))
        slate_p = float(np.mean(np.all(rankings == row, axis=1)))
        slate = tuple(actions[i] for i in row)
        return Decision(slate[0], slate_p, self.version, {}, slate=slate, slot_propensities=slot_p)


class ConstrainedLinearTS(LinearTS):
    """Linear TS that only plays actions whose sampled auxiliary metric (e.g. reliability) is
    at least the ``baseline`` action's in the same posterior draw, minus ``margin``; the
    baseline is always eligible, so a draw with no eligible alternative plays the baseline.

    ``update(..., auxiliary=[...])`` feeds the auxiliary metric (same units as ``margin``).
    """

    name = "constrained-linear-ts"

    def __init__(self, *, baseline: Any, margin: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not math.isfinite(margin) or margin < 0:
            raise ValidationError("margin", margin, "must be finite and >= 0")
        self.baseline, self.margin = baseline, float(margin)
        self.auxiliary_model = BayesianLinearModel(self.reward_model.dim, **self._model_args)

    def update(
        self, contexts: Sequence[Any], actions: Sequence[Any], rewards: Sequence[float], *,
        auxiliary: Sequence[float] | None = None, **_: Any,
    ) -> None:
        if auxiliary is None:
            raise ValidationError("auxiliary", None, "constrained policies learn from the auxiliary metric too")
        phi = self._phi(contexts, actions)
        self.reward_model.update(phi, check_rewards(rewards, len(phi)))
        self.auxiliary_model.update(phi, check_rewards(auxiliary, len(phi), field="auxiliary"))
        self.updates += 1

    def _winners(self, context: Any, actions: Sequence[Any]) -> np.ndarray:
        if self.baseline not in actions:
            raise ValidationError("actions", actions, f"must include the baseline {self.baseline!r}")
        base = list(actions).index(self.baseline)
        phi = self._phi([context] * len(actions), actions)
        reward = self.reward_model.sample(self.n_draws, self.rng) @ phi.T
        aux = self.auxiliary_model.sample(self.n_draws, self.rng) @ phi.T
        eligible = aux >= aux[:, [base]] - self.margin
        eligible[:, base] = True
        return np.where(eligible, reward, -np.inf).argmax(axis=1)
