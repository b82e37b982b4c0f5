"""Biased-simulator problems: a noisy online metric and a cheap simulator of it.

The online metric is Hartmann-3 negated (maximize; optimum 3.86278 at
(0.1146, 0.5556, 0.8525)). Each problem pairs it with a simulator:

- ``additive``: online plus a smooth, parameter-dependent offset;
- ``multiplicative``: online times a smooth, parameter-dependent factor (and shifted);
- ``useless``: an unrelated function on a similar scale.

Both sources are observed with Gaussian noise; sems are not reported (the models infer noise).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from botorch.test_functions import Hartmann

DIM = 3
OPTIMUM = 3.86278
ONLINE_NOISE = 0.05
SIMULATOR_NOISE = 0.05

_hartmann = Hartmann(dim=DIM)


def online_true(x: np.ndarray) -> float:
    """The noiseless online metric at a point of the unit cube (higher is better)."""
    return -float(_hartmann.evaluate_true(torch.as_tensor(np.asarray(x, dtype=float).reshape(1, -1)))[0])


@dataclass(frozen=True)
class BiasedProblem:
    name: str
    simulator_true: Callable[[np.ndarray], float]
    informative: bool

    def observe_online(self, x: np.ndarray, rng: np.random.Generator) -> float:
        return online_true(x) + ONLINE_NOISE * float(rng.standard_normal())

    def observe_simulator(self, x: np.ndarray, rng: np.random.Generator) -> float:
        return self.simulator_true(x) + SIMULATOR_NOISE * float(rng.standard_normal())


def _additive(x: np.ndarray) -> float:
    return online_true(x) + 0.6 + 0.8 * x[0] - 0.5 * x[2] + 0.3 * math.sin(2 * math.pi * x[1])


def _multiplicative(x: np.ndarray) -> float:
    return online_true(x) * (1.5 - 0.6 * x[1]) - 0.4


def _useless(x: np.ndarray) -> float:
    return 1.5 * math.sin(7 * x[0]) * math.cos(5 * x[1]) + x[2]


PROBLEMS = {
    "additive": BiasedProblem("additive", _additive, informative=True),
    "multiplicative": BiasedProblem("multiplicative", _multiplicative, informative=True),
    "useless": BiasedProblem("useless", _useless, informative=False),
}
