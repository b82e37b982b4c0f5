"""Proposing new trials: quasi-random starts, then Bayesian optimization."""

from adaptive.generation.optimize import OptimizerSettings
from adaptive.generation.sobol import propose_sobol
from adaptive.generation.strategy import GenerationSettings, Proposal, feasible_signed_objectives, propose

__all__ = ["GenerationSettings", "OptimizerSettings", "Proposal", "feasible_signed_objectives", "propose", "propose_sobol"]
