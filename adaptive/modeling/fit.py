"""Fit one Gaussian process per metric (float64, unit-cube inputs, standardized outcomes).

Known sems are used as fixed observation noise; unknown noise is inferred.
A fit that fails (non-PSD covariance, non-finite loss, optimizer error) is
retried from perturbed hyperparameters; after that :class:`ModelFitError`
lets the caller fall back.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence

import torch
from botorch.exceptions import BotorchWarning
from botorch.fit import fit_gpytorch_mll
from botorch.models import ModelListGP, SingleTaskGP
from gpytorch.mlls import ExactMarginalLogLikelihood
from linear_operator.utils.warnings import NumericalWarning

from adaptive.errors import AdaptiveError
from adaptive.modeling.data import MetricData

logger = logging.getLogger(__name__)

FIT_ATTEMPTS = 3


class ModelFitError(AdaptiveError):
    """A model could not be fitted after retries (numerical trouble, not bad input)."""


def _yvar(data: MetricData) -> torch.Tensor | None:
    if data.Yvar is None:
        return None
    # A zero sem makes the covariance singular; floor it relative to the data's own spread.
    floor = 1e-6 * float(data.Y.var()) if data.n > 1 else 0.0
    return data.Yvar.clamp_min(max(floor, 1e-12))


def fit_metric_model(data: MetricData, *, seed: int = 0) -> SingleTaskGP:
    """A ``SingleTaskGP`` for one metric, hyperparameters by maximum marginal likelihood.

    Raises:
        ModelFitError: every attempt failed.
    """
    last: Exception | None = None
    for attempt in range(FIT_ATTEMPTS):
        try:
            model = SingleTaskGP(data.X, data.Y, train_Yvar=_yvar(data))
            if attempt:
                # Restart from random hyperparameters drawn from their priors.
                generator = torch.Generator().manual_seed(seed + attempt)
                with torch.no_grad():
                    ls = model.covar_module.lengthscale
                    model.covar_module.lengthscale = ls * torch.exp(
                        torch.randn(ls.shape, generator=generator, dtype=ls.dtype).to(ls)
                    )
            mll = ExactMarginalLogLikelihood(model.likelihood, model)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", category=(BotorchWarning, NumericalWarning, RuntimeWarning))
                fit_gpytorch_mll(mll, optimizer_kwargs={"options": {"maxiter": 200}})
            model.eval()
            with torch.no_grad():
                posterior = model.posterior(data.X[:1])
                if not torch.isfinite(posterior.mean).all() or not torch.isfinite(posterior.variance).all():
                    raise ModelFitError(f"non-finite posterior for {data.metric!r}")
            return model
        except Exception as exc:  # noqa: BLE001 - any numerical failure is retried
            last = exc
            logger.info("fit of %r failed (attempt %d/%d): %s", data.metric, attempt + 1, FIT_ATTEMPTS, exc)
    raise ModelFitError(f"could not fit a model for {data.metric!r} after {FIT_ATTEMPTS} attempts: {last}") from last


def fit_models(datas: Sequence[MetricData], *, seed: int = 0) -> ModelListGP:
    """One independent GP per metric, in the order given (outputs of the returned model list)."""
    return ModelListGP(*[fit_metric_model(d, seed=seed) for d in datas])
