"""Proposing new trials: quasi-random starts now, Bayesian optimization on top."""

from adaptive.generation.sobol import propose_sobol

__all__ = ["propose_sobol"]
