"""The policy interface shared by every bandit, and propensities from posterior draws.

Every policy chooses by *probability matching over a finite set of posterior
draws*: it draws ``n_draws`` samples from its posterior, finds each draw's
winner, and plays the winner of one draw picked uniformly at random. The action
probabilities it logs are therefore exact for the policy as run (the share of
draws each action wins), never zero for an action it can play, and within
``tolerance`` (one standard error, worst case ``0.5/sqrt(n_draws)``) of the
ideal Thompson-sampling probabilities. Where those have a closed form (two
Gaussian arms) policies use it instead and sample from it directly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from adaptive.errors import ValidationError


@dataclass(frozen=True)
class Decision:
    """What a policy chose: ``action``, the probability it had (``propensity``), and which
    posterior made the choice (``policy_version``). ``propensities`` holds every action's
    probability; ``slate``/``slot_propensities`` are set by slate policies."""

    action: Any
    propensity: float
    policy_version: str
    propensities: dict[Any, float] = field(default_factory=dict)
    slate: tuple[Any, ...] | None = None
    slot_propensities: tuple[float, ...] | None = None


def draws_for_tolerance(tolerance: float) -> int:
    """Posterior draws that make each estimated probability's standard error at most ``tolerance``."""
    if not 0 < tolerance < 0.5:
        raise ValidationError("tolerance", tolerance, "must be in (0, 0.5)")
    return math.ceil(0.25 / tolerance**2)


def check_actions(actions: Sequence[Any]) -> list[Any]:
    if isinstance(actions, (str, bytes)) or not isinstance(actions, Sequence) or not actions:
        raise ValidationError("actions", actions, "must be a non-empty list of actions")
    try:
        distinct = len(set(actions)) == len(actions)
    except TypeError:
        raise ValidationError("actions", actions, "actions must be hashable (str, int, tuple...)") from None
    if not distinct:
        raise ValidationError("actions", actions, "actions must be distinct")
    return list(actions)


def choose_from_draws(
    winners: np.ndarray, actions: Sequence[Any], rng: np.random.Generator
) -> tuple[int, dict[Any, float]]:
    """Pick the winner of one random draw; returns its index and every action's share of draws."""
    counts = np.bincount(winners, minlength=len(actions))
    shares = counts / counts.sum()
    chosen = int(winners[rng.integers(len(winners))])
    return chosen, {a: float(s) for a, s in zip(actions, shares)}


class Policy:
    """Base of every bandit policy: ``select`` to act, ``update`` to learn from logged rewards."""

    name = "policy"

    def __init__(self, *, tolerance: float = 0.005, seed: int | None = None) -> None:
        self.n_draws = draws_for_tolerance(tolerance)
        self.tolerance = tolerance
        self.rng = np.random.default_rng(seed)
        self.updates = 0

    @property
    def version(self) -> str:
        """Changes with every ``update``: decisions are attributable to the posterior that made them."""
        return f"{self.name}-v{self.updates}"

    def select(self, context: Any, actions: Sequence[Any]) -> Decision:  # pragma: no cover - interface
        raise NotImplementedError

    def update(self, contexts: Sequence[Any], actions: Sequence[Any], rewards: Sequence[float]) -> None:  # pragma: no cover
        raise NotImplementedError


def check_rewards(rewards: Sequence[float], n: int, *, field: str = "rewards") -> np.ndarray:
    r = np.asarray(rewards, dtype=float)
    if r.shape != (n,):
        raise ValidationError(field, f"shape {r.shape}", f"expected {n} values")
    if not np.all(np.isfinite(r)):
        raise ValidationError(field, r[~np.isfinite(r)][:3].tolist(), "rewards must be finite")
    return r
