"""Bandit policies with logged propensities.

Every policy: ``select(context, actions) -> Decision(action, propensity, policy_version)``
and ``update(contexts, actions, rewards)``.
"""

from adaptive.bandits._base import Decision, Policy, draws_for_tolerance
from adaptive.bandits.linear import BayesianLinearModel, ConstrainedLinearTS, LinearTS, disjoint_features
from adaptive.bandits.log import DecisionLog
from adaptive.bandits.thompson import BetaBernoulliTS, GaussianTS

__all__ = [
    "BayesianLinearModel",
    "BetaBernoulliTS",
    "ConstrainedLinearTS",
    "Decision",
    "DecisionLog",
    "GaussianTS",
    "LinearTS",
    "Policy",
    "disjoint_features",
    "draws_for_tolerance",
]
