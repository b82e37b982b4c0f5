"""Choose how to propose: quasi-random until there is enough data, then Bayesian optimization.

The decision and the settings behind it are stored with the experiment
(``GenerationSettings``). A BO step that fails for numerical reasons falls back
to quasi-random points with a logged warning, so ``suggest`` never fails for
numerical reasons.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from adaptive import _paths as paths
from adaptive.analysis.hypervolume import reference_point
from adaptive.errors import ValidationError
from adaptive.generation.acquisition import acquisition_model, build_acquisition
from adaptive.generation.optimize import maximize
from adaptive.generation.settings import GenerationSettings
from adaptive.generation.sobol import propose_sobol
from adaptive.generation.transforms import (
    bilog_constraint_metrics,
    compress_beyond_reference,
    warp_single_objective,
)
from adaptive.modeling import (
    WarmStarts,
    completed,
    fit_models,
    metric_data,
    pending_X,
    single_threaded_blas,
)
from adaptive.modeling.numerics import is_numerical
from adaptive.objectives import OptimizationConfig
from adaptive.space import SearchSpace
from adaptive.trial import Trial, TrialStatus

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Proposal:
    """Proposed configs, what made each (``center``, ``sobol``, ``botorch``, ``sobol-fill``,
    ``sobol-fallback``), and the experiment's new Sobol position."""

    params: list[dict[str, Any]]
    generators: list[str]
    sobol_position: int
    seconds: float
    paths: dict[str, int] = field(default_factory=dict)  # fit and posterior paths taken (see adaptive._paths)


def propose(
    space: SearchSpace,
    config: OptimizationConfig,
    trials: Sequence[Trial],
    n: int,
    *,
    source: str,
    target: str,
    seed: int,
    sobol_position: int,
    settings: GenerationSettings,
    device: torch.device,
    warm: WarmStarts | None = None,
) -> Proposal:
    """Propose ``n`` trials for ``source`` given every trial so far.

    Proposals aim at the ``target`` source's goal whatever ``source`` is: a simulator trial
    is placed where it helps the target's optimization, not at the simulator's own
    optimum. The model of the target uses every source that helps it; RUNNING trials of
    ``source`` are pending points.
    """
    start = time.perf_counter()
    live = [t for t in trials if t.source == source and t.status != TrialStatus.ABANDONED]
    observed = [t for t in completed(trials, target) if all(o.metric in t.observations for o in config.objectives)]
    if len(live) < settings.initial_for(space) or len(observed) < settings.min_observed:
        first = center_point(space) if settings.center_first and not live else None
        head = [first] if first is not None else []
        params, position = propose_sobol(space, n - len(head), seed=seed, position=sobol_position)
        generators = ["center"] * len(head) + ["sobol"] * len(params)
        return Proposal(head + params, generators, position, time.perf_counter() - start)
    _check_metrics_observed(config, trials, target)
    with paths.recording() as counts:
        try:
            params = _bayesian(
                # Seeded by the count of this source's trials: attaching other sources' results
                # leaves the optimizer's random starts unchanged, so runs with and without a
                # simulator differ only where the model does.
                space, config, trials, n, source=source, target=target, seed=seed + len(live), settings=settings,
                device=device, warm=warm,
            )
            generator = "botorch"
        except Exception as exc:
            if not is_numerical(exc):
                raise  # bad input or a bug: never hidden behind quasi-random points
            logger.warning("Bayesian optimization failed (%s: %s); proposing quasi-random points instead",
                           type(exc).__name__, exc)
            params, generator = [], "sobol-fallback"
    generators = [generator] * len(params)
    position = sobol_position
    if len(params) < n:
        extra, position = propose_sobol(space, n - len(params), seed=seed, position=sobol_position)
        params = params + extra
        generators += ["sobol-fill" if generator == "botorch" else generator] * len(extra)
    return Proposal(params, generators, position, time.perf_counter() - start, dict(counts))


def center_point(space: SearchSpace) -> dict[str, Any] | None:
    """The centre of the search space (see ``GenerationSettings.center_first``), or None
    when it breaks a linear constraint."""
    (params,) = space.decode(torch.full((1, space.dim), 0.5, dtype=torch.float64))
    return params if space.is_feasible(params) else None


def _check_metrics_observed(config: OptimizationConfig, trials: Sequence[Trial], target: str) -> None:
    done = completed(trials, target)
    for metric in config.metrics:
        if not any(metric in t.observations for t in done):
            raise ValidationError(
                "metrics", metric,
                f"has no finite observation among completed {target!r} trials; complete trials with it before BO",
            )


def _bayesian(
    space: SearchSpace, config: OptimizationConfig, trials: Sequence[Trial], n: int, *,
    source: str, target: str, seed: int, settings: GenerationSettings, device: torch.device,
    warm: WarmStarts | None = None,
) -> list[dict[str, Any]]:
    # BoTorch draws restarts from torch's global generator: fork it so proposals depend only
    # on the data, the experiment's seed and (through warm-started fits) earlier calls of
    # this Experiment object, and the caller's random state is left alone.
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []), single_threaded_blas():
        torch.manual_seed(seed)
        return _bayesian_seeded(
            space, config, trials, n, source=source, target=target, seed=seed, settings=settings, device=device,
            warm=warm,
        )


def _bayesian_seeded(
    space: SearchSpace, config: OptimizationConfig, trials: Sequence[Trial], n: int, *,
    source: str, target: str, seed: int, settings: GenerationSettings, device: torch.device,
    warm: WarmStarts | None = None,
) -> list[dict[str, Any]]:
    datas = [metric_data(trials, space, m, source=target, device=device, other_sources=True) for m in config.metrics]
    datas, transformed = bilog_constraint_metrics(datas, config, seed=seed)
    if settings.warp_objective:
        datas = warp_single_objective(datas, config)
    ref = None
    if len(config.objectives) > 1:
        ref = reference_point(config, feasible_signed_objectives(config, trials, target))
        datas, _ = compress_beyond_reference(datas, config, ref)
    model = fit_models(datas, seed=seed, warm=warm)
    # The incumbent is judged where the target was observed.
    X_baseline = torch.unique(torch.cat([d.X[d.rows_of(0)] for d in datas]), dim=0)
    model, affine = acquisition_model(model)
    acqf = build_acquisition(
        model, config, X_baseline=X_baseline, X_pending=pending_X(trials, space, source=source, device=device),
        ref_point=ref, mc_samples=settings.mc_samples, seed=seed, transformed=frozenset(transformed), affine=affine,
    )
    return maximize(acqf, space, n, settings=settings.optimizer)


def feasible_signed_objectives(config: OptimizationConfig, trials: Sequence[Trial], source: str) -> np.ndarray:
    """``n x m`` signed objective means of completed, feasible ``source`` trials that observe every objective."""
    rows = [
        [o.sign * t.observations[o.metric].mean for o in config.objectives]
        for t in completed(trials, source)
        if all(o.metric in t.observations for o in config.objectives) and config.is_feasible(t.means())
    ]
    return np.array(rows, dtype=float).reshape(-1, len(config.objectives))
