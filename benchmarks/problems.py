"""Benchmark problems shared by every method, minimized: the declared suite of ``bo_compare``.

Each problem names its parameters (float, int or choice, in the problem's own units),
its objectives (with thresholds), outcome constraints (``metric <= bound`` is feasible),
linear parameter constraints and observation noise. Quality is scored on the TRUE
(noiseless) values: log10 of the hypervolume gap to the known maximum (several
objectives), of the regret of the best feasible value found (one objective), or, on
noisy problems, of the regret of the config the method recommends (what a user would ship).

The suite, by kind (``docs/benchmarks.md`` declares it):

- multi-objective: BraninCurrin, DTLZ2 (6 dims)
- outcome-constrained: C2-DTLZ2, Hartmann6-constrained
- 3 or more objectives: VehicleSafety (3 objectives, 5 dims), CarSideImpact (4 objectives, 7 dims)
  (Tanabe & Ishibuchi, 2020, "An easy-to-use real-world multi-objective optimization problem suite")
- multi-objective with 3+ outcome constraints: DiscBrake (2 objectives, 4 constraints, Tanabe &
  Ishibuchi 2020), WeldedBeam (2 objectives, 4 constraints; Deb & Sundar 2006, pymoo's form)
- mixed Int and Choice: Hartmann6-mixed, StyblinskiTang-mixed
- observation noise: Hartmann6-noisy, Gramacy-noisy (Gramacy et al., 2016, "Modeling an augmented
  Lagrangian for blackbox constrained optimization", with noise on every metric)
- linear parameter constraints: Hartmann6-linear, BraninCurrin-linear
- 10 or more parameters: Hartmann6-12D (6 inert dimensions), Rosenbrock10

Optima that are not published were computed by ``python -m benchmarks.reference_optima``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from botorch.test_functions import Branin, Hartmann, Levy, Rosenbrock, StyblinskiTang
from botorch.test_functions.multi_objective import (
    C2DTLZ2,
    DTLZ2,
    BraninCurrin,
    CarSideImpact,
    DiscBrake,
    VehicleSafety,
)

from adaptive.analysis.hypervolume import hypervolume

Params = Mapping[str, Any]
Outcome = dict[str, float]


@dataclass(frozen=True)
class Param:
    """A parameter as every method declares it: ``float``/``int`` in ``[low, high]`` or an unordered ``choice``."""

    kind: str
    low: float = 0.0
    high: float = 1.0
    values: tuple[str, ...] = ()


def floats(bounds: Sequence[tuple[float, float]], prefix: str = "x") -> dict[str, Param]:
    return {f"{prefix}{i}": Param("float", float(lo), float(hi)) for i, (lo, hi) in enumerate(bounds)}


@dataclass(frozen=True)
class Problem:
    """A benchmark problem; every objective is minimized.

    Attributes:
        truth: noiseless outcomes of a config (metric -> value).
        optimum: max hypervolume (several objectives, reference point = thresholds) or the
            best feasible value (one objective).
        worst: one objective: the value charged when nothing feasible was found or the
            recommended config is infeasible (an upper bound of the objective).
        linear: parameter constraints ``(coefficients, bound)``: ``sum(c * x) <= bound``.
        noise_sd: per metric, the standard deviation of Gaussian observation noise (metric units).
    """

    name: str
    kind: str
    parameters: dict[str, Param]
    objectives: list[tuple[str, float | None]]
    constraints: list[tuple[str, float]]
    truth: Callable[[Params], Outcome]
    optimum: float
    worst: float = 0.0
    linear: tuple[tuple[dict[str, float], float], ...] = ()
    noise_sd: dict[str, float] = field(default_factory=dict)

    @property
    def dim(self) -> int:
        return len(self.parameters)

    @property
    def noisy(self) -> bool:
        return bool(self.noise_sd)

    def linear_texts(self) -> list[str]:
        """The parameter constraints as ``"2*x0 + x1 <= 3"`` (adaptive's and Ax's syntax)."""
        return [" + ".join(f"{c:g}*{n}" for n, c in coefs.items()).replace("+ -", "- ") + f" <= {bound:g}"
                for coefs, bound in self.linear]

    def linear_slack(self, params: Params) -> list[float]:
        """``sum(c * x) - bound`` per parameter constraint; ``<= 0`` is feasible."""
        return [sum(c * float(params[n]) for n, c in coefs.items()) - bound for coefs, bound in self.linear]

    def observe(self, params: Params, rng: np.random.Generator) -> Outcome:
        """What a method is told: the true outcome plus noise."""
        out = self.truth(params)
        return {m: v + self.noise_sd.get(m, 0.0) * float(rng.standard_normal()) for m, v in out.items()}

    def feasible(self, params: Params, outcome: Outcome) -> bool:
        # Optimizers that keep linear constraints with SLSQP (Ax) land on the boundary up to
        # ~1e-8: within 1e-6 of it counts as on it.
        return all(outcome[m] <= b for m, b in self.constraints) and all(
            s <= 1e-6 * max(1.0, abs(bound)) for s, (_, bound) in zip(self.linear_slack(params), self.linear)
        )

    def score(self, evaluated: Sequence[Params], recommended: Params | None = None) -> float:
        """Lower is better: log10(max HV - HV of the feasible evaluated configs), or log10 regret of the
        best feasible evaluated config, or, on noisy problems, of ``recommended``."""
        if self.noisy and len(self.objectives) == 1:
            (metric, _), = self.objectives
            if recommended is None:
                return math.log10(self.worst - self.optimum)
            true = self.truth(recommended)
            value = true[metric] if self.feasible(recommended, true) else self.worst
            return math.log10(max(value - self.optimum, 1e-12))
        truths = [(p, self.truth(p)) for p in evaluated]
        feasible = [o for p, o in truths if self.feasible(p, o)]
        if len(self.objectives) == 1:
            (metric, _), = self.objectives
            best = min((o[metric] for o in feasible), default=self.worst)
            return math.log10(max(best - self.optimum, 1e-12))
        Y = np.array([[-o[m] for m, _ in self.objectives] for o in feasible]).reshape(-1, len(self.objectives))
        ref = np.array([-t for _, t in self.objectives])
        return math.log10(max(self.optimum - hypervolume(Y, ref), 1e-12))


def _row(params: Params, names: Sequence[str]) -> torch.Tensor:
    return torch.tensor([[float(params[n]) for n in names]], dtype=torch.float64)


def _botorch_mo(function, names: Sequence[str], slack: str | None = None) -> Callable[[Params], Outcome]:
    """Objectives ``f0, f1, ...`` of a BoTorch multi-objective problem at a config of ``x0, x1, ...``.

    ``slack="negated"``: also ``c0, c1, ...`` = minus BoTorch's slacks (``<= 0`` feasible);
    ``slack="violation"``: one metric ``violation`` = minus the first slack.
    """
    inputs = [f"x{i}" for i in range(function.dim)]

    def truth(params: Params) -> Outcome:
        X = _row(params, inputs)
        out = {n: float(v) for n, v in zip(names, function.evaluate_true(X)[0])}
        if slack == "violation":
            out["violation"] = float(-function.evaluate_slack_true(X)[0, 0])
        elif slack == "negated":
            out.update({f"c{i}": float(-v) for i, v in enumerate(function.evaluate_slack_true(X)[0])})
        return out

    return truth


def _hartmann_l1(params: Params) -> Outcome:
    x = _row(params, [f"x{i}" for i in range(6)])
    return {"hartmann": float(Hartmann(dim=6).evaluate_true(x)[0]), "l1": float(x.sum())}


def _on_box(function, metric: str = "f", names: Sequence[str] | None = None) -> Callable[[Params], Outcome]:
    """A BoTorch single-objective test function of ``names`` (default ``x0, x1, ...``) in its own bounds."""
    names = list(names or [f"x{i}" for i in range(function.dim)])

    def truth(params: Params) -> Outcome:
        return {metric: float(function.evaluate_true(_row(params, names))[0])}

    return truth


def _unit(function) -> Callable[[Params], Outcome]:
    """A BoTorch single-objective test function of a point of the unit cube, as metric ``f``."""
    lower, upper = function.bounds[0], function.bounds[1]
    names = [f"x{i}" for i in range(function.dim)]

    def truth(params: Params) -> Outcome:
        return {"f": float(function.evaluate_true((lower + (upper - lower) * _row(params, names)))[0])}

    return truth


def _welded_beam(params: Params) -> Outcome:
    """Welded beam design (Deb & Sundar, 2006) as pymoo writes it: cost ``f0`` and deflection ``f1``,
    minimized; ``c0..c3 <= 0`` feasible (shear stress, bending stress, weld thinner than the beam,
    buckling load). BoTorch's ``WeldedBeam`` has the same formulas with the slacks' signs such that
    0.5% of the box is feasible instead of 32%; this follows pymoo, whose sign is the published one."""
    x1, x2, x3, x4 = (float(params[f"x{i}"]) for i in range(4))
    P, L, t_max, s_max = 6000.0, 14.0, 13600.0, 30000.0
    R = math.sqrt(0.25 * (x2**2 + (x1 + x3) ** 2))
    M = P * (L + x2 / 2)
    J = 2 * math.sqrt(0.5) * x1 * x2 * (x2**2 / 12 + 0.25 * (x1 + x3) ** 2)
    t1 = P / (math.sqrt(2) * x1 * x2)
    t2 = M * R / J
    t = math.sqrt(t1**2 + t1 * t2 * x2 / R + t2**2)
    s = 6 * P * L / (x4 * x3**2)
    P_c = 64746.022 * (1 - 0.0282346 * x3) * x3 * x4**3
    return {
        "f0": 1.10471 * x1**2 * x2 + 0.04811 * x3 * x4 * (14.0 + x2),
        "f1": 2.1952 / (x4 * x3**3),
        "c0": (t - t_max) / t_max, "c1": (s - s_max) / s_max, "c2": (x1 - x4) / (5 - 0.125), "c3": (P - P_c) / P,
    }


# Hartmann6-mixed: x4 takes 11 levels (an Int), x5 one of three values (a Choice). The best
# choice is the last ("c"); the first ("a", where a centre point lands) holds Hartmann6's second
# basin (-3.04), a decoy.
_HARTMANN_X5 = {"a": 0.1, "b": 0.95, "c": 0.65}


def _hartmann_mixed(params: Params) -> Outcome:
    x = [float(params[f"x{i}"]) for i in range(4)] + [params["n4"] / 10, _HARTMANN_X5[params["c5"]]]
    return {"f": float(Hartmann(dim=6).evaluate_true(torch.tensor([x], dtype=torch.float64))[0])}


# StyblinskiTang-mixed: 4-dim Styblinski-Tang over (x0, x1, x2, n3) shifted and offset by a choice;
# the best choice is the last ("c").
_ST_SHIFT = {"a": (0.0, 0.0, 0.0, 0.0), "b": (1.5, -1.5, 1.5, 1.0), "c": (-1.5, 1.5, 1.0, -1.0)}
_ST_OFFSET = {"a": 8.0, "b": 4.0, "c": 0.0}


def _styblinski_tang_mixed(params: Params) -> Outcome:
    c = params["c4"]
    z = np.array([float(params["x0"]), float(params["x1"]), float(params["x2"]), float(params["n3"])]) - _ST_SHIFT[c]
    return {"f": float(0.5 * np.sum(z**4 - 16 * z**2 + 5 * z)) + _ST_OFFSET[c]}


def _gramacy(params: Params) -> Outcome:
    """Gramacy et al. (2016): minimize ``x0 + x1`` s.t. ``c0, c1 <= 0`` on the unit square."""
    x0, x1 = float(params["x0"]), float(params["x1"])
    return {
        "f": x0 + x1,
        "c0": 1.5 - x0 - 2 * x1 - 0.5 * math.sin(2 * math.pi * (x0**2 - 2 * x1)),
        "c1": x0**2 + x1**2 - 1.5,
    }


# Hartmann6 in 12 dimensions: the active ones are every other, the rest do nothing.
_ACTIVE_12D = [f"x{i}" for i in range(0, 12, 2)]


def problems() -> dict[str, Problem]:
    """The declared suite, by name (see the module docstring)."""
    bc, dtlz2, c2 = BraninCurrin(), DTLZ2(dim=6, num_objectives=2), C2DTLZ2(dim=6, num_objectives=2)
    vs, csi, disc = VehicleSafety(), CarSideImpact(), DiscBrake()
    unit = lambda d: floats([(0.0, 1.0)] * d)  # noqa: E731
    box = lambda f: floats(f.bounds.t().tolist())  # noqa: E731
    suite = [
        Problem("BraninCurrin", "multi-objective", unit(2), [("f0", 18.0), ("f1", 6.0)], [],
                _botorch_mo(bc, ["f0", "f1"]), bc.max_hv),
        Problem("DTLZ2", "multi-objective", unit(6), [("f0", 1.1), ("f1", 1.1)], [],
                _botorch_mo(dtlz2, ["f0", "f1"]), dtlz2.max_hv),
        Problem("C2-DTLZ2", "outcome-constrained", unit(6), [("f0", 1.1), ("f1", 1.1)], [("violation", 0.0)],
                _botorch_mo(c2, ["f0", "f1"], slack="violation"), c2.max_hv),
        Problem("Hartmann6-constrained", "outcome-constrained", unit(6), [("hartmann", None)], [("l1", 3.0)],
                _hartmann_l1, -3.32237, worst=0.0),
        Problem("VehicleSafety", "3+ objectives", box(vs), [(f"f{i}", t) for i, t in enumerate(vs._ref_point)], [],
                _botorch_mo(vs, ["f0", "f1", "f2"]), vs.max_hv),
        Problem("CarSideImpact", "3+ objectives", box(csi), [(f"f{i}", t) for i, t in enumerate(csi._ref_point)], [],
                _botorch_mo(csi, ["f0", "f1", "f2", "f3"]), csi.max_hv),
        Problem("DiscBrake", "multi-objective, 3+ constraints", box(disc),
                [(f"f{i}", t) for i, t in enumerate(disc._ref_point)], [(f"c{i}", 0.0) for i in range(4)],
                _botorch_mo(disc, ["f0", "f1"], slack="negated"), REFERENCE["DiscBrake"]),
        Problem("WeldedBeam", "multi-objective, 3+ constraints",
                floats([(0.125, 5.0), (0.1, 10.0), (0.1, 10.0), (0.125, 5.0)]), [("f0", 40.0), ("f1", 0.015)],
                [(f"c{i}", 0.0) for i in range(4)], _welded_beam, REFERENCE["WeldedBeam"]),
        Problem("Hartmann6-mixed", "mixed", {**unit(4), "n4": Param("int", 0, 10), "c5": Param("choice", values=("a", "b", "c"))},
                [("f", None)], [], _hartmann_mixed, REFERENCE["Hartmann6-mixed"], worst=0.0),
        Problem("StyblinskiTang-mixed", "mixed",
                {**floats([(-5.0, 5.0)] * 3), "n3": Param("int", -5, 5), "c4": Param("choice", values=("a", "b", "c"))},
                [("f", None)], [], _styblinski_tang_mixed, REFERENCE["StyblinskiTang-mixed"], worst=300.0),
        Problem("Hartmann6-noisy", "noisy", unit(6), [("f", None)], [], _unit(Hartmann(dim=6)), -3.32237,
                worst=0.0, noise_sd={"f": 0.1}),
        Problem("Gramacy-noisy", "noisy", unit(2), [("f", None)], [("c0", 0.0), ("c1", 0.0)], _gramacy,
                REFERENCE["Gramacy"], worst=2.0, noise_sd={"f": 0.05, "c0": 0.05, "c1": 0.05}),
        Problem("Hartmann6-linear", "linear-constrained", unit(6), [("f", None)], [], _unit(Hartmann(dim=6)),
                -3.32237, worst=0.0, linear=(({"x0": 1.0, "x1": 1.0, "x2": 1.0, "x3": 1.0}, 1.2),)),
        Problem("BraninCurrin-linear", "linear-constrained", unit(2), [("f0", 18.0), ("f1", 6.0)], [],
                _botorch_mo(bc, ["f0", "f1"]), REFERENCE["BraninCurrin-linear"],
                linear=(({"x0": -2.0, "x1": 1.0}, 0.8),)),
        Problem("Hartmann6-12D", "10+ parameters", unit(12), [("f", None)], [],
                _on_box(Hartmann(dim=6), names=_ACTIVE_12D), -3.32237, worst=0.0),
        Problem("Rosenbrock10", "10+ parameters", floats([(-5.0, 10.0)] * 10), [("f", None)], [],
                _on_box(Rosenbrock(dim=10)), 0.0, worst=1.5e6),
    ]
    return {p.name: p for p in suite}


# Optima without a published value: ``python -m benchmarks.reference_optima --points 2000
# --starts 8`` for the hypervolumes (lower bounds of the true maxima; with 100 points they came
# out 0.5-4% lower), ``--starts 256`` for Gramacy's (8 starts miss its feasible sliver).
REFERENCE = {
    "DiscBrake": 11.220029947441036,
    "WeldedBeam": 0.5121641615497463,
    "Hartmann6-mixed": -3.3141948050963936,
    "StyblinskiTang-mixed": -156.4984971113129,
    "Gramacy": 0.5997880520101531,
    "BraninCurrin-linear": 45.346547893812144,
}

# Batch 4 is run on these (one per kind beyond the first four, and the first four).
BATCH_PROBLEMS = [
    "BraninCurrin", "DTLZ2", "C2-DTLZ2", "Hartmann6-constrained", "VehicleSafety", "DiscBrake",
    "Hartmann6-mixed", "Hartmann6-noisy", "Hartmann6-linear", "Hartmann6-12D",
]


def single_objective_problems() -> dict[str, Problem]:
    """Unconstrained single-objective problems on the unit cube (metric ``f``), for ``output_warping``."""
    out = {}
    for name, function in [
        ("Branin", Branin()), ("Hartmann6", Hartmann(dim=6)), ("Rosenbrock4", Rosenbrock(dim=4)),
        ("StyblinskiTang4", StyblinskiTang(dim=4)), ("Levy4", Levy(dim=4)),
    ]:
        out[name] = Problem(name, "single-objective", floats([(0.0, 1.0)] * function.dim), [("f", None)], [],
                            _unit(function), float(function.optimal_value), worst=math.inf)
    return out


def noisy(problem: Problem, sd: float) -> Problem:
    """``problem`` (one objective) observed with Gaussian noise of standard deviation ``sd`` (metric units)."""
    ((metric, _),) = problem.objectives
    return replace(problem, name=f"{problem.name}, noise sd {sd:g}", noise_sd={metric: sd})
