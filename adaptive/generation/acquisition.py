"""Acquisition functions from the log-EI family.

- One objective: qLogNoisyExpectedImprovement (Ament et al., 2023, "Unexpected
  Improvements to Expected Improvement for Bayesian Optimization").
- Several objectives: qLogNoisyExpectedHypervolumeImprovement (Daulton et al.,
  2021, "Parallel Bayesian Optimization of Multiple Noisy Objectives with
  Expected Hypervolume Improvement", with the log-EI reformulation of Ament et al.),
  with the objective thresholds as reference point.

Model outputs are ordered as ``OptimizationConfig.metrics``: objectives first,
then constrained metrics. Outcome constraints become smooth feasibility
weights: ``c(Y) <= 0`` means feasible.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from botorch.acquisition import AcquisitionFunction
from botorch.acquisition.logei import qLogNoisyExpectedImprovement
from botorch.acquisition.multi_objective.logei import qLogNoisyExpectedHypervolumeImprovement
from botorch.acquisition.multi_objective.objective import WeightedMCMultiOutputObjective
from botorch.acquisition.objective import GenericMCObjective
from botorch.models.model import Model
from botorch.sampling import SobolQMCNormalSampler

from adaptive.objectives import OptimizationConfig


def outcome_constraint_callables(
    config: OptimizationConfig, transformed: frozenset[str] = frozenset()
) -> list[Callable[[torch.Tensor], torch.Tensor]]:
    """One callable per outcome constraint mapping samples ``... x m`` to ``...``; ``<= 0`` is feasible.

    Metrics in ``transformed`` are modelled bilog-transformed around their bound, which becomes 0.
    """
    index = {m: i for i, m in enumerate(config.metrics)}
    out = []
    for c in config.outcome_constraints:
        i, bound = index[c.metric], 0.0 if c.metric in transformed else c.bound
        if c.upper:
            out.append(lambda Y, i=i, b=bound: Y[..., i] - b)
        else:
            out.append(lambda Y, i=i, b=bound: b - Y[..., i])
    return out


def build_acquisition(
    model: Model,
    config: OptimizationConfig,
    *,
    X_baseline: torch.Tensor,
    X_pending: torch.Tensor | None,
    ref_point: np.ndarray | None,
    mc_samples: int,
    seed: int,
    transformed: frozenset[str] = frozenset(),
) -> AcquisitionFunction:
    """The acquisition function for ``config``.

    Args:
        model: outputs ordered as ``config.metrics``.
        X_baseline: ``n x d`` observed inputs (the noisy incumbent is integrated over them).
        X_pending: ``p x d`` running trials, treated as already chosen.
        ref_point: ``m`` signed reference values (several objectives only).
        mc_samples: quasi-MC posterior samples.
        transformed: constrained metrics the model sees bilog-transformed (see ``transforms``).
    """
    sampler = SobolQMCNormalSampler(sample_shape=torch.Size([mc_samples]), seed=seed)
    constraints = outcome_constraint_callables(config, transformed) or None
    if len(config.objectives) == 1:
        sign = config.objectives[0].sign
        return qLogNoisyExpectedImprovement(
            model=model, X_baseline=X_baseline, sampler=sampler,
            objective=GenericMCObjective(lambda Y, X=None: sign * Y[..., 0]),
            constraints=constraints, X_pending=X_pending, prune_baseline=True,
        )
    m = len(config.objectives)
    weights = torch.tensor([o.sign for o in config.objectives], dtype=X_baseline.dtype, device=X_baseline.device)
    assert ref_point is not None
    return qLogNoisyExpectedHypervolumeImprovement(
        model=model, ref_point=torch.as_tensor(ref_point, dtype=X_baseline.dtype, device=X_baseline.device),
        X_baseline=X_baseline, sampler=sampler,
        objective=WeightedMCMultiOutputObjective(weights=weights, outcomes=list(range(m))),
        constraints=constraints, X_pending=X_pending, prune_baseline=True,
    )
