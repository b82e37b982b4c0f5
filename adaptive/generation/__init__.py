"""Proposing new trials: quasi-random starts, then Bayesian optimization.

The settings are importable without torch; everything else is loaded on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from adaptive.generation.settings import GenerationSettings, OptimizerSettings

_LAZY = {
    "Proposal": "adaptive.generation.strategy",
    "feasible_signed_objectives": "adaptive.generation.strategy",
    "propose": "adaptive.generation.strategy",
    "propose_sobol": "adaptive.generation.sobol",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["GenerationSettings", "OptimizerSettings", "Proposal", "feasible_signed_objectives", "propose", "propose_sobol"]
