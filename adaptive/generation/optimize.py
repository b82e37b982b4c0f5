"""Maximize an acquisition function over the unit cube, within the linear constraints,
and turn the result into valid parameter dicts (ints rounded, choices picked)."""

from __future__ import annotations

import contextlib
import itertools
import logging
import warnings
from collections.abc import Iterator
from typing import Any

import gpytorch
import linear_operator
import numpy as np
import torch
from botorch.acquisition import AcquisitionFunction
from botorch.exceptions import BotorchWarning
from botorch.optim import optimize_acqf
from botorch.optim.initializers import initialize_q_batch
from linear_operator.utils.warnings import NumericalWarning
from scipy.optimize import minimize

from adaptive import _paths as paths
from adaptive.generation import batched
from adaptive.generation.polytope import Polytope, RetractedAcquisition
from adaptive.generation.settings import OptimizerSettings
from adaptive.space import Choice, Float, Int, SearchSpace

logger = logging.getLogger(__name__)


CONSTRAINED_FTOL = 1e-5


def maximize(
    acqf: AcquisitionFunction, space: SearchSpace, q: int, *, settings: OptimizerSettings
) -> list[dict[str, Any]]:
    """``q`` proposals by sequential greedy maximization, each satisfying every constraint.

    One point at a time, the earlier ones pending (in our benchmarks this found
    better batches than optimizing the ``q x d`` batch jointly, at similar cost).
    Each candidate is rounded to a valid config (ints, choices) and, where
    rounding broke a linear constraint, repaired to a feasible neighbouring
    rounding; the rounded point is what becomes pending. A candidate no rounding
    can repair is dropped (the caller fills the gap).
    """
    X_pending0 = getattr(acqf, "X_pending", None)
    device = X_pending0.device if X_pending0 is not None else _device_of(acqf)
    d = space.dim
    bounds = torch.stack([torch.zeros(d), torch.ones(d)]).to(device=device, dtype=torch.float64)
    polytope = Polytope.from_space(space, device=device)
    discrete = any(isinstance(p, Int) or (isinstance(p, Choice) and p.width > 0) for p in space.parameters.values())
    if _use_torch(settings, device, box_of_floats=polytope is None and not discrete):
        return _maximize_torch(acqf, space, q, device, settings)
    paths.note("optimizer:scipy")
    chosen: list[dict[str, Any]] = []
    try:
        for _ in range(q):
            with _quiet():
                if chosen:
                    X_new = space.encode(chosen).to(bounds)
                    acqf.set_X_pending(X_new if X_pending0 is None else torch.cat([X_pending0, X_new]))
                if polytope is None and not discrete:
                    params = _maximize_continuous(acqf, space, bounds, settings)
                else:
                    params = _maximize_mixed(acqf, space, bounds, polytope, settings)
            if params is not None:
                chosen.append(params)
    finally:
        with _quiet():
            acqf.set_X_pending(X_pending0)
    return chosen


def _use_torch(settings: OptimizerSettings, device: torch.device, *, box_of_floats: bool) -> bool:
    """The torch path where asked for, or by default on a GPU for a box of floats (ints,
    choices and linear constraints keep the SciPy path, whose rounding and retraction
    the torch path does not have)."""
    if settings.method == "torch":
        if not box_of_floats:
            logger.info("optimizer.method = 'torch' covers floats without linear constraints; using 'scipy' here")
        return box_of_floats
    return settings.method == "auto" and device.type == "cuda" and box_of_floats


def _maximize_torch(
    acqf: AcquisitionFunction, space: SearchSpace, q: int, device: torch.device, settings: OptimizerSettings,
) -> list[dict[str, Any]]:
    joint = settings.batch == "joint" or (settings.batch == "auto" and batched.joint_by_default(q, device))
    seed = int(torch.randint(0, 2**31 - 1, (1,)).item())  # from the caller's seeded generator
    paths.note(f"optimizer:torch-{'joint' if joint and q > 1 else 'sequential'}")
    with _quiet():
        X = batched.maximize_batched(
            acqf, space.dim, q, raw_samples=settings.raw_samples, num_restarts=settings.num_restarts,
            steps=settings.maxiter, seed=seed, device=device, joint=joint,
        )
    return space.decode(X.reshape(q, space.dim).cpu())


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Optimizer chatter stays out of users' logs: L-BFGS-B's non-convergence notes
    (BotorchWarning, RuntimeWarning), and the jitter linear_operator adds to the joint
    covariance of a pending point near an observed one (NumericalWarning; expected, the
    draws stay valid)."""
    with warnings.catch_warnings(), gpytorch.settings.debug(False), linear_operator.settings.debug(False):
        warnings.simplefilter("ignore", category=BotorchWarning)
        warnings.simplefilter("ignore", category=RuntimeWarning)
        warnings.simplefilter("ignore", category=NumericalWarning)
        yield


def _options(settings: OptimizerSettings) -> dict[str, Any]:
    # Every point of a batch gets the full budget (fresh raw samples, the full iteration
    # cap). Starting later points from the previous point's other local optima under a
    # smaller cap saved time but found worse batches (measured in docs/benchmarks.md).
    return {"batch_limit": settings.num_restarts, "init_batch_limit": 256, "maxiter": settings.maxiter}


def _maximize_continuous(
    acqf: AcquisitionFunction, space: SearchSpace, bounds: torch.Tensor, settings: OptimizerSettings
) -> dict[str, Any] | None:
    """Floats only, no linear constraints: BoTorch's multi-start L-BFGS-B as it comes."""
    candidate, _ = optimize_acqf(
        acq_function=acqf, bounds=bounds, q=1, num_restarts=settings.num_restarts,
        raw_samples=settings.raw_samples, options=_options(settings),
        # A restart that stops early (line-search trouble, iteration cap) still returns
        # its best point; re-running every start doubled the time for no better proposals.
        retry_on_optimization_warning=False,
    )
    (params,) = space.decode(candidate.reshape(1, -1))
    return params


def _maximize_mixed(
    acqf: AcquisitionFunction, space: SearchSpace, bounds: torch.Tensor, polytope: Polytope | None,
    settings: OptimizerSettings,
) -> dict[str, Any] | None:
    """Ints, choices or linear constraints: one multi-start L-BFGS-B run in which

    - each restart keeps its start's value of every unordered choice (the one-hot columns
      are fixed features, per restart), and the starts cover the choices: the best raw
      sample of each of the most promising combinations of choices (up to half the
      restarts), the rest drawn by BoTorch's Boltzmann rule; the choices are searched as
      categories, never as a relaxed number rounded afterwards;
    - linear constraints hold through the retraction onto their polytope
      (:mod:`adaptive.generation.polytope`), from feasible starts;
    - every restart's end point is rounded to a valid config (ints, repaired where
      rounding broke a linear constraint) and the best *rounded* point by acquisition wins.
    """
    options = _options(settings)
    seed = int(torch.randint(0, 2**31 - 1, (1,)).item())  # from the caller's seeded generator
    if polytope is not None:
        raw = polytope.sample(settings.raw_samples, seed=seed)
    else:
        engine = torch.quasirandom.SobolEngine(space.dim, scramble=True, seed=seed)
        raw = engine.draw(settings.raw_samples, dtype=torch.float64).to(bounds)
    raw = space.snap(raw).unsqueeze(-2)
    with torch.no_grad():
        values = torch.cat([acqf(chunk) for chunk in raw.split(options["init_batch_limit"])])
    starts = _starts(space, raw, values, settings.num_restarts)
    groups = [c for group in space.categorical_groups() for c in group]
    fixed = {c: starts[:, 0, c].clone() for c in groups} or None
    objective = acqf
    if polytope is not None:
        objective = RetractedAcquisition(acqf, polytope)
        # The retraction has a kink where a ray crosses the boundary, and restarts that end
        # on it spend many line-search steps on gains below 1e-5 (relative): stopping there
        # saves evaluations and finds the acquisition values BoTorch's SLSQP finds
        # (measured in docs/optimization.md).
        options = {**options, "ftol": CONSTRAINED_FTOL, "factr": None}
    ends, _ = optimize_acqf(
        acq_function=objective, bounds=bounds, q=1, num_restarts=len(starts), batch_initial_conditions=starts,
        fixed_features=fixed, options=options, retry_on_optimization_warning=False, return_best_only=False,
    )
    if polytope is not None:
        ends = polytope.retract(ends)
    rounded = []
    for params in space.decode(ends.reshape(-1, space.dim)):
        fixed_params = params if space.is_feasible(params) else repair(space, params)
        if fixed_params is not None:
            rounded.append(fixed_params)
    if not rounded:
        return None
    with torch.no_grad():
        scores = acqf(space.encode(rounded).to(bounds).unsqueeze(-2))
    return rounded[int(scores.argmax())]


def _starts(space: SearchSpace, raw: torch.Tensor, values: torch.Tensor, n: int) -> torch.Tensor:
    """``n x 1 x d`` starting points among ``raw`` (``r x 1 x d``, scored ``values``): the best of
    each of the most promising combinations of the unordered choices (at most ``n // 2``), then
    BoTorch's Boltzmann draw."""
    groups = space.categorical_groups()
    reserved: list[int] = []
    if groups:
        combos = torch.stack([raw[:, 0, g].argmax(-1) for g in groups], dim=-1)
        best: dict[tuple[int, ...], int] = {}
        for i in values.argsort(descending=True).tolist():
            best.setdefault(tuple(combos[i].tolist()), i)
        reserved = list(best.values())[: n // 2]
    drawn, _ = initialize_q_batch(raw, values, n - len(reserved))
    return torch.cat([raw[reserved], drawn]) if reserved else drawn


def _device_of(acqf: AcquisitionFunction) -> torch.device:
    for tensor in itertools.chain(acqf.model.parameters(), acqf.model.buffers()):
        return tensor.device
    return torch.device("cpu")


def repair(space: SearchSpace, params: dict[str, Any]) -> dict[str, Any] | None:
    """Nearest feasible neighbour of a rounded point that broke a linear constraint.

    Tries the other roundings of the constrained Int parameters (each by -1, 0, +1);
    for each, the constrained Float parameters are projected onto the constraints
    (least squares in unit-cube coordinates). Returns None when nothing works.
    """
    constrained = list(dict.fromkeys(n for c in space.inequalities for n in c.coefficients))
    ints = [n for n in constrained if isinstance(space.parameters[n], Int)][:6]
    floats = [n for n in constrained if isinstance(space.parameters[n], Float)]
    for shifts in sorted(itertools.product((0, -1, 1), repeat=len(ints)), key=lambda s: sum(map(abs, s))):
        candidate = dict(params)
        for name, shift in zip(ints, shifts):
            p = space.parameters[name]
            candidate[name] = min(max(params[name] + shift, p.low), p.high)  # type: ignore[union-attr]
        if space.is_feasible(candidate):
            return candidate
        if floats:
            projected = _project_floats(space, candidate, floats)
            if projected is not None:
                return projected
    logger.info("dropped a proposal that no rounding makes feasible: %s", params)
    return None


def _project_floats(space: SearchSpace, params: dict[str, Any], floats: list[str]) -> dict[str, Any] | None:
    scales = np.array([space.parameters[n].high - space.parameters[n].low for n in floats])  # type: ignore[union-attr]
    lows = np.array([space.parameters[n].low for n in floats])  # type: ignore[union-attr]
    u0 = (np.array([params[n] for n in floats]) - lows) / scales
    rows, bounds = [], []
    for c in space.inequalities:
        fixed_part = sum(coef * float(params[n]) for n, coef in c.coefficients.items() if n not in floats)
        a = np.array([c.coefficients.get(n, 0.0) * scales[i] for i, n in enumerate(floats)])
        rhs = c.bound - fixed_part - sum(c.coefficients.get(n, 0.0) * lows[i] for i, n in enumerate(floats))
        rows.append(a)
        # a small margin keeps the projected point strictly inside after float round-off
        bounds.append(rhs - 1e-9 * max(1.0, abs(rhs)))
    A, b = np.array(rows), np.array(bounds)
    result = minimize(
        lambda u: float(np.sum((u - u0) ** 2)), u0, jac=lambda u: 2 * (u - u0), method="SLSQP",
        bounds=[(0.0, 1.0)] * len(floats), constraints=[{"type": "ineq", "fun": lambda u: b - A @ u, "jac": lambda u: -A}],
    )
    if not result.success:
        return None
    candidate = dict(params)
    for i, n in enumerate(floats):
        candidate[n] = space.parameters[n].from_unit(float(result.x[i]))  # type: ignore[union-attr]
    return candidate if space.is_feasible(candidate) else None
