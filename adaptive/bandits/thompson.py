"""Multi-armed Thompson sampling: Beta-Bernoulli and Gaussian (Thompson, 1933;
Agrawal & Goyal, 2012, "Analysis of Thompson Sampling for the Multi-armed Bandit Problem")."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.stats import norm

from adaptive.bandits._base import Decision, Policy, check_actions, check_rewards, choose_from_draws
from adaptive.errors import ValidationError


class _ArmPolicy(Policy):
    def _arm_index(self, action: Any) -> Any:
        return action

    def update(self, contexts: Sequence[Any], actions: Sequence[Any], rewards: Sequence[float], **_: Any) -> None:
        """Learn from logged ``(action, reward)`` pairs; contexts and other signals are ignored by multi-armed policies."""
        r = check_rewards(rewards, len(actions))
        for action, reward in zip(actions, r):
            self._observe(self._arm_index(action), float(reward))
        self.updates += 1

    def _observe(self, key: Any, reward: float) -> None:  # pragma: no cover
        raise NotImplementedError


class BetaBernoulliTS(_ArmPolicy):
    """Rewards in {0, 1}; each arm's success rate has a Beta(``alpha``, ``beta``) prior."""

    name = "beta-bernoulli-ts"

    def __init__(self, *, alpha: float = 1.0, beta: float = 1.0, tolerance: float = 0.005, seed: int | None = None) -> None:
        super().__init__(tolerance=tolerance, seed=seed)
        for name, value in (("alpha", alpha), ("beta", beta)):
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValidationError(name, value, "must be a positive number")
        self.prior = (float(alpha), float(beta))
        self.successes: dict[Any, float] = {}
        self.failures: dict[Any, float] = {}

    def _observe(self, key: Any, reward: float) -> None:
        if reward not in (0.0, 1.0):
            raise ValidationError("rewards", reward, "Beta-Bernoulli rewards must be 0 or 1")
        self.successes[key] = self.successes.get(key, 0.0) + reward
        self.failures[key] = self.failures.get(key, 0.0) + 1.0 - reward

    def posterior(self, action: Any) -> tuple[float, float]:
        key = self._arm_index(action)
        return self.prior[0] + self.successes.get(key, 0.0), self.prior[1] + self.failures.get(key, 0.0)

    def select(self, context: Any, actions: Sequence[Any]) -> Decision:
        actions = check_actions(actions)
        params = np.array([self.posterior(a) for a in actions])
        samples = self.rng.beta(params[:, 0], params[:, 1], size=(self.n_draws, len(actions)))
        chosen, shares = choose_from_draws(samples.argmax(axis=1), actions, self.rng)
        return Decision(actions[chosen], shares[actions[chosen]], self.version, shares)


class GaussianTS(_ArmPolicy):
    """Real-valued rewards with known noise ``sigma``; each arm's mean has a N(``prior_mean``, ``prior_sd``^2) prior.

    With two arms the selection probability is exact:
    ``P(arm 0) = Phi((m0 - m1) / sqrt(v0 + v1))``.
    """

    name = "gaussian-ts"

    def __init__(
        self, *, prior_mean: float = 0.0, prior_sd: float = 1.0, sigma: float = 1.0,
        tolerance: float = 0.005, seed: int | None = None,
    ) -> None:
        super().__init__(tolerance=tolerance, seed=seed)
        for name, value in (("prior_sd", prior_sd), ("sigma", sigma)):
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValidationError(name, value, "must be a positive number")
        self.prior_mean, self.prior_precision, self.noise_precision = float(prior_mean), prior_sd**-2, sigma**-2
        self.sums: dict[Any, float] = {}
        self.counts: dict[Any, int] = {}

    def _observe(self, key: Any, reward: float) -> None:
        self.sums[key] = self.sums.get(key, 0.0) + reward
        self.counts[key] = self.counts.get(key, 0) + 1

    def posterior(self, action: Any) -> tuple[float, float]:
        """(mean, variance) of the arm's mean reward."""
        key = self._arm_index(action)
        precision = self.prior_precision + self.noise_precision * self.counts.get(key, 0)
        mean = (self.prior_precision * self.prior_mean + self.noise_precision * self.sums.get(key, 0.0)) / precision
        return mean, 1.0 / precision

    def select(self, context: Any, actions: Sequence[Any]) -> Decision:
        actions = check_actions(actions)
        post = np.array([self.posterior(a) for a in actions])
        if len(actions) == 2:
            p0 = float(norm.cdf((post[0, 0] - post[1, 0]) / math.sqrt(post[0, 1] + post[1, 1])))
            p0 = min(max(p0, 1e-12), 1 - 1e-12)  # both arms stay playable
            shares = {actions[0]: p0, actions[1]: 1.0 - p0}
            chosen = 0 if self.rng.random() < p0 else 1
            return Decision(actions[chosen], shares[actions[chosen]], self.version, shares)
        samples = self.rng.normal(post[:, 0], np.sqrt(post[:, 1]), size=(self.n_draws, len(actions)))
        chosen, shares = choose_from_draws(samples.argmax(axis=1), actions, self.rng)
        return Decision(actions[chosen], shares[actions[chosen]], self.version, shares)
