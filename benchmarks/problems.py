"""Benchmark problems shared by every method: BoTorch's test functions, minimized.

Each problem reports outcomes as a dict of metric -> value; quality is scored
on the true (noiseless) values: log10 of the hypervolume gap to the known
maximum (multi-objective) or of the regret of the best feasible value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np
import torch
from botorch.test_functions import Branin, Hartmann, Levy, Rosenbrock, StyblinskiTang
from botorch.test_functions.multi_objective import C2DTLZ2, DTLZ2, BraninCurrin

from adaptive.analysis.hypervolume import hypervolume


@dataclass(frozen=True)
class Problem:
    name: str
    dim: int
    objectives: list[tuple[str, float | None]]  # (metric, threshold); all minimized
    constraints: list[tuple[str, float]]  # (metric, upper bound): metric <= bound is feasible
    evaluate: Callable[[np.ndarray], dict[str, float]]
    optimum: float  # max hypervolume, or the optimal value for one objective

    def feasible(self, outcome: dict[str, float]) -> bool:
        return all(outcome[m] <= b for m, b in self.constraints)

    def score(self, outcomes: list[dict[str, float]]) -> float:
        """Lower is better: log10(max HV - HV) or log10(best feasible - optimum)."""
        feasible = [o for o in outcomes if self.feasible(o)]
        if len(self.objectives) == 1:
            (metric, _), = self.objectives
            best = min((o[metric] for o in feasible), default=math.inf)
            gap = best - self.optimum if math.isfinite(best) else abs(self.optimum)
            return math.log10(max(gap, 1e-12))
        Y = np.array([[-o[m] for m, _ in self.objectives] for o in feasible]).reshape(-1, len(self.objectives))
        ref = np.array([-t for _, t in self.objectives])
        return math.log10(max(self.optimum - hypervolume(Y, ref), 1e-12))


def _tensor(x: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x, dtype=float).reshape(1, -1), dtype=torch.float64)


def _mo(problem, names: list[str], slack: bool = False) -> Callable[[np.ndarray], dict[str, float]]:
    def evaluate(x: np.ndarray) -> dict[str, float]:
        X = _tensor(x)
        y = problem.evaluate_true(X)[0]
        out = {n: float(v) for n, v in zip(names, y)}
        if slack:
            out["violation"] = float(-problem.evaluate_slack(X)[0, 0])  # <= 0 is feasible
        return out

    return evaluate


def _hartmann(x: np.ndarray) -> dict[str, float]:
    return {"hartmann": float(Hartmann(dim=6).evaluate_true(_tensor(x))[0]), "l1": float(np.sum(x))}


def problems() -> dict[str, Problem]:
    bc, dtlz2, c2 = BraninCurrin(), DTLZ2(dim=6, num_objectives=2), C2DTLZ2(dim=6, num_objectives=2)
    return {
        "BraninCurrin": Problem("BraninCurrin", 2, [("f0", 18.0), ("f1", 6.0)], [], _mo(bc, ["f0", "f1"]), bc.max_hv),
        "DTLZ2": Problem("DTLZ2", 6, [("f0", 1.1), ("f1", 1.1)], [], _mo(dtlz2, ["f0", "f1"]), dtlz2.max_hv),
        "C2-DTLZ2": Problem(
            "C2-DTLZ2", 6, [("f0", 1.1), ("f1", 1.1)], [("violation", 0.0)], _mo(c2, ["f0", "f1"], slack=True), c2.max_hv
        ),
        "Hartmann6-constrained": Problem(
            "Hartmann6-constrained", 6, [("hartmann", None)], [("l1", 3.0)], _hartmann, -3.32237
        ),
    }


def _on_unit_cube(function) -> Callable[[np.ndarray], dict[str, float]]:
    """``function`` (a BoTorch test function, minimized) of a point of the unit cube, as metric ``f``."""
    lower, upper = function.bounds[0].numpy(), function.bounds[1].numpy()

    def evaluate(x: np.ndarray) -> dict[str, float]:
        return {"f": float(function.evaluate_true(_tensor(lower + (upper - lower) * np.asarray(x)))[0])}

    return evaluate


def single_objective_problems() -> dict[str, Problem]:
    """Unconstrained single-objective problems (minimized, metric ``f``), besides ``problems()``'s."""
    out = {}
    for name, function in [
        ("Branin", Branin()), ("Hartmann6", Hartmann(dim=6)), ("Rosenbrock4", Rosenbrock(dim=4)),
        ("StyblinskiTang4", StyblinskiTang(dim=4)), ("Levy4", Levy(dim=4)),
    ]:
        out[name] = Problem(name, function.dim, [("f", None)], [], _on_unit_cube(function), float(function.optimal_value))
    return out


def noisy(problem: Problem, sd: float, seed: int) -> tuple[Problem, list[float]]:
    """``problem`` (one objective) observed with Gaussian noise of standard deviation ``sd``
    (metric units), and the list its noiseless values are appended to, one per evaluation."""
    ((metric, _),) = problem.objectives
    rng = np.random.default_rng(1000 + seed)
    true_values: list[float] = []

    def evaluate(x: np.ndarray) -> dict[str, float]:
        out = problem.evaluate(x)
        true_values.append(out[metric])
        return {**out, metric: out[metric] + sd * float(rng.standard_normal())}

    return replace(problem, name=f"{problem.name}, noise sd {sd:g}", evaluate=evaluate), true_values
