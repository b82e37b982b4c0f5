"""Optima of the suite's problems that have no published value, computed once.

    python -m benchmarks.reference_optima

- Several objectives (DiscBrake, WeldedBeam, BraninCurrin-linear): the Pareto front by the
  epsilon-constraint method: for ``--points`` values of ``eps`` spread over the second
  objective's range on the front, minimize ``f0`` subject to ``f1 <= eps`` and every
  constraint (SLSQP from ``--starts`` quasi-random starts, in unit-cube coordinates); the
  hypervolume of the feasible results with the thresholds as reference point. A finite front
  under-covers the true one, so these are lower bounds, tight to the printed digits.
- One objective (the mixed problems, Gramacy): every combination of the discrete values, each
  minimized over the floats by multi-start L-BFGS-B (SLSQP with constraints).

Prints the values to paste into ``benchmarks.problems.REFERENCE`` with the settings used.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import math
import sys
from collections.abc import Callable

import numpy as np
import torch
from scipy.optimize import minimize

from adaptive.analysis.hypervolume import hypervolume
from benchmarks import problems as P

logger = logging.getLogger("benchmarks.reference_optima")


def _to_params(problem: P.Problem, u: np.ndarray, fixed: dict) -> dict:
    names = [n for n, p in problem.parameters.items() if p.kind == "float"]
    out = dict(fixed)
    for n, v in zip(names, u):
        p = problem.parameters[n]
        out[n] = p.low + float(np.clip(v, 0.0, 1.0)) * (p.high - p.low)
    return out


def _starts(d: int, n: int, seed: int = 0) -> np.ndarray:
    return torch.quasirandom.SobolEngine(d, scramble=True, seed=seed).draw(n, dtype=torch.float64).numpy()


def _constraints(problem: P.Problem, fixed: dict, extra: list[Callable] = ()) -> list[dict]:
    cons = []
    for m, b in problem.constraints:
        cons.append({"type": "ineq", "fun": lambda u, m=m, b=b: b - problem.truth(_to_params(problem, u, fixed))[m]})
    for i in range(len(problem.linear)):
        cons.append({"type": "ineq", "fun": lambda u, i=i: -problem.linear_slack(_to_params(problem, u, fixed))[i]})
    return cons + [{"type": "ineq", "fun": f} for f in extra]


def single_objective(problem: P.Problem, starts: int) -> float:
    (metric, _), = problem.objectives
    discrete = {n: p for n, p in problem.parameters.items() if p.kind != "float"}
    levels = [range(int(p.low), int(p.high) + 1) if p.kind == "int" else p.values for p in discrete.values()]
    d = sum(p.kind == "float" for p in problem.parameters.values())
    best = math.inf
    for combo in itertools.product(*levels):
        fixed = dict(zip(discrete, combo))
        f = lambda u: problem.truth(_to_params(problem, u, fixed))[metric]  # noqa: E731, B023 - used in this iteration
        cons = _constraints(problem, fixed)
        for u0 in _starts(d, starts):
            r = minimize(f, u0, bounds=[(0.0, 1.0)] * d, method="SLSQP" if cons else "L-BFGS-B", constraints=cons)
            params = _to_params(problem, r.x, fixed)
            if problem.feasible(params, problem.truth(params)):
                best = min(best, problem.truth(params)[metric])
    return best


def max_hypervolume(problem: P.Problem, points: int, starts: int) -> float:
    (m0, t0), (m1, t1) = problem.objectives
    d = problem.dim
    f = lambda u, m: problem.truth(_to_params(problem, u, {}))[m]  # noqa: E731
    front = []
    # The second objective's range on the front: from its own feasible minimum to the threshold.
    lowest = math.inf
    for u0 in _starts(d, starts, seed=1):
        r = minimize(lambda u: f(u, m1), u0, bounds=[(0.0, 1.0)] * d, method="SLSQP", constraints=_constraints(problem, {}))
        params = _to_params(problem, r.x, {})
        if problem.feasible(params, problem.truth(params)):
            lowest = min(lowest, f(r.x, m1))
    for k, eps in enumerate(np.linspace(lowest, t1, points)):
        cons = _constraints(problem, {}, [lambda u, eps=eps: eps - f(u, m1)])
        best = None
        for u0 in _starts(d, starts, seed=2 + k):
            r = minimize(lambda u: f(u, m0), u0, bounds=[(0.0, 1.0)] * d, method="SLSQP", constraints=cons)
            params = _to_params(problem, r.x, {})
            out = problem.truth(params)
            if problem.feasible(params, out) and out[m1] <= eps + 1e-9 and (best is None or out[m0] < best[0]):
                best = (out[m0], out[m1])
        if best is not None:
            front.append(best)
        if k % 50 == 0:
            logger.info("%s: %d/%d epsilon values", problem.name, k + 1, points)
    Y = -np.array(front)
    return hypervolume(Y, np.array([-t0, -t1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=400)
    parser.add_argument("--starts", type=int, default=16)
    parser.add_argument("--only", nargs="*")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    suite = P.problems()
    out = {}
    for name, key in [("DiscBrake", "DiscBrake"), ("WeldedBeam", "WeldedBeam"), ("BraninCurrin-linear", "BraninCurrin-linear")]:
        if not args.only or name in args.only:
            out[key] = max_hypervolume(suite[name], args.points, args.starts)
            logger.info("%s: max hypervolume >= %.10g", name, out[key])
    for name, key in [("Hartmann6-mixed", "Hartmann6-mixed"), ("StyblinskiTang-mixed", "StyblinskiTang-mixed"),
                      ("Gramacy-noisy", "Gramacy")]:
        if not args.only or name in args.only:
            out[key] = single_objective(suite[name], args.starts)
            logger.info("%s: optimum %.10g", name, out[key])
    print(f"# python -m benchmarks.reference_optima --points {args.points} --starts {args.starts}")
    for key, value in out.items():
        print(f'    "{key}": {value!r},')
    return 0


if __name__ == "__main__":
    sys.exit(main())
