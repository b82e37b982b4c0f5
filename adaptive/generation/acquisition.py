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

A model whose outputs are standardized by an outcome transform can hand the
acquisition its standardized outputs instead (:func:`standardized_outputs`): the
affine map back to metric units is applied to the posterior samples inside the
objective and the constraints. The samples, and so every acquisition value, are the
same; what goes is the transform of the whole posterior on every evaluation. A default
single-task model is further replaced by its plain-tensor posterior
(:mod:`adaptive._fastpaths.lean_posterior`): same values, less time per suggest (the figures are in
docs/optimization.md). :func:`acquisition_model` does both.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import torch
from botorch.acquisition import AcquisitionFunction
from botorch.acquisition.logei import qLogNoisyExpectedImprovement
from botorch.acquisition.multi_objective.logei import qLogNoisyExpectedHypervolumeImprovement
from botorch.acquisition.multi_objective.objective import GenericMCMultiOutputObjective
from botorch.acquisition.objective import GenericMCObjective
from botorch.exceptions import BotorchWarning
from botorch.models import SingleTaskGP
from botorch.models.model import Model
from botorch.models.transforms.outcome import Standardize
from botorch.sampling import SobolQMCNormalSampler
from linear_operator.utils.warnings import NumericalWarning

from adaptive import _fastpaths
from adaptive import _paths as paths
from adaptive._fastpaths.cached_cholesky import LeanCachedCholesky
from adaptive._fastpaths.lean_posterior import LeanGP
from adaptive._fastpaths.partitioning import NumpyCells
from adaptive._fastpaths.single_point_ehvi import SinglePointLogEHVI
from adaptive.objectives import OptimizationConfig

Affine = tuple[torch.Tensor, torch.Tensor]


def standardized_outputs(model: Model) -> tuple[Model, Affine | None]:
    """``model`` without its ``Standardize`` outcome transform, and the ``(means, stdvs)``
    (each of shape ``m``) that map its outputs back to metric units.

    Only for a plain ``SingleTaskGP`` (one or several batched outputs); any other model is
    returned as is with ``None``. The model is changed in place: use it for acquisition only.
    """
    transform = getattr(model, "outcome_transform", None)
    if type(model) is not SingleTaskGP or type(transform) is not Standardize:
        return model, None
    means, stdvs = transform.means.detach().reshape(-1), transform.stdvs.detach().reshape(-1)
    del model.outcome_transform
    return model, (means, stdvs)


def acquisition_model(model: Model) -> tuple[Model, Affine | None]:
    """The model as the acquisition should see it, and the affine map back to metric units.

    Standardized outputs (:func:`standardized_outputs`) and, for the default single-task
    structure, the plain-tensor posterior (:class:`~adaptive._fastpaths.lean_posterior.LeanGP`):
    the same acquisition values at less cost per evaluation. Changes ``model`` in place.
    """
    model, affine = standardized_outputs(model)
    if _fastpaths.lean_posterior_applies(model):
        paths.note("posterior:lean")
        model = LeanGP(model)  # type: ignore[arg-type]  # supports() checked it is a SingleTaskGP
    else:
        paths.note("posterior:botorch")
    return model, affine


def _to_metric_units(Y: torch.Tensor, affine: Affine | None) -> torch.Tensor:
    return Y if affine is None else Y * affine[1] + affine[0]


def outcome_constraint_callables(
    config: OptimizationConfig, transformed: frozenset[str] = frozenset(), affine: Affine | None = None,
) -> list[Callable[[torch.Tensor], torch.Tensor]]:
    """One callable per outcome constraint mapping samples ``... x m`` to ``...``; ``<= 0`` is feasible.

    Metrics in ``transformed`` are modelled bilog-transformed around their bound, which becomes 0.
    With ``affine``, samples are standardized outputs (see :func:`standardized_outputs`).
    """
    index = {m: i for i, m in enumerate(config.metrics)}
    out: list[Callable[[torch.Tensor], torch.Tensor]] = []
    for c in config.outcome_constraints:
        i, bound = index[c.metric], 0.0 if c.metric in transformed else c.bound
        # In standardized units the bound moves and the direction is kept (stdvs > 0).
        shift, scale = (0.0, 1.0) if affine is None else (float(affine[0][i]), float(affine[1][i]))
        b = (bound - shift) / scale
        if c.upper:
            out.append(lambda Y, i=i, b=b, s=scale: (Y[..., i] - b) * s)
        else:
            out.append(lambda Y, i=i, b=b, s=scale: (b - Y[..., i]) * s)
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
    affine: Affine | None = None,
) -> AcquisitionFunction:
    """The acquisition function for ``config``.

    Args:
        model: outputs ordered as ``config.metrics``.
        X_baseline: ``n x d`` observed inputs (the noisy incumbent is integrated over them).
        X_pending: ``p x d`` running trials, treated as already chosen.
        ref_point: ``m`` signed reference values (several objectives only).
        mc_samples: quasi-MC posterior samples.
        transformed: constrained metrics the model sees bilog-transformed (see ``transforms``).
        affine: the model's outputs are standardized; ``(means, stdvs)`` map them back.
    """
    with warnings.catch_warnings():
        # When no observed point is feasible in some posterior samples, BoTorch scores
        # improvement over a value below the objective's range there (so the acquisition
        # follows the probability of feasibility) and suggests another acquisition: that is
        # the behaviour wanted, and the advice is not for the user.
        warnings.filterwarnings("ignore", message="When all training points are infeasible", category=BotorchWarning)
        # Incumbents close together make their posterior covariance nearly singular; the
        # Cholesky factor cached here then gets the jitter it needs, which is the handling.
        warnings.filterwarnings("ignore", category=NumericalWarning)
        return _build(
            model, config, X_baseline=X_baseline, X_pending=X_pending, ref_point=ref_point, mc_samples=mc_samples,
            seed=seed, transformed=transformed, affine=affine,
        )


def _build(
    model: Model,
    config: OptimizationConfig,
    *,
    X_baseline: torch.Tensor,
    X_pending: torch.Tensor | None,
    ref_point: np.ndarray | None,
    mc_samples: int,
    seed: int,
    transformed: frozenset[str] = frozenset(),
    affine: Affine | None = None,
) -> AcquisitionFunction:
    """:func:`build_acquisition` without its warning filter."""
    sampler = SobolQMCNormalSampler(sample_shape=torch.Size([mc_samples]), seed=seed)
    constraints = outcome_constraint_callables(config, transformed, affine) or None
    m = len(config.objectives)
    if affine is not None:
        affine = (affine[0][:m].to(X_baseline), affine[1][:m].to(X_baseline))
    lean = isinstance(model, LeanGP)
    if m == 1:
        sign = config.objectives[0].sign
        return (_LeanLogNEI if lean else qLogNoisyExpectedImprovement)(
            model=model, X_baseline=X_baseline, sampler=sampler,
            objective=GenericMCObjective(lambda Y, X=None: sign * _to_metric_units(Y[..., :1], affine)[..., 0]),
            constraints=constraints, X_pending=X_pending, prune_baseline=True,
        )
    weights = torch.tensor([o.sign for o in config.objectives], dtype=X_baseline.dtype, device=X_baseline.device)
    assert ref_point is not None
    plain = qLogNoisyExpectedHypervolumeImprovement  # BoTorch's own, where the fast paths are off
    return (_LeanLogNEHVI if lean else _LogNEHVI if _fastpaths.acquisition_fast() else plain)(
        model=model, ref_point=torch.as_tensor(ref_point, dtype=X_baseline.dtype, device=X_baseline.device),
        X_baseline=X_baseline, sampler=sampler,
        objective=GenericMCMultiOutputObjective(lambda Y, X=None: _to_metric_units(Y[..., :m], affine) * weights),
        constraints=constraints, X_pending=X_pending, prune_baseline=True,
    )


class _LeanLogNEI(LeanCachedCholesky, qLogNoisyExpectedImprovement):
    """qLogNEI on a :class:`~adaptive._fastpaths.lean_posterior.LeanGP`."""


class _LogNEHVI(NumpyCells, SinglePointLogEHVI, qLogNoisyExpectedHypervolumeImprovement):
    """qLogNEHVI, scoring one candidate at a time without the batch bookkeeping, its 3+
    objectives' cells computed in NumPy."""


class _LeanLogNEHVI(LeanCachedCholesky, NumpyCells, SinglePointLogEHVI, qLogNoisyExpectedHypervolumeImprovement):
    """qLogNEHVI on a :class:`~adaptive._fastpaths.lean_posterior.LeanGP`."""
