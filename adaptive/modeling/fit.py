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
from botorch.models.model import Model
from gpytorch.mlls import ExactMarginalLogLikelihood
from linear_operator.utils.warnings import NumericalWarning

from adaptive.errors import AdaptiveError, ValidationError
from adaptive.modeling.data import MetricData, metric_data
from adaptive.space import SearchSpace
from adaptive.trial import Trial

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
    return _fit(data.X, data.Y, _yvar(data), name=repr(data.metric), seed=seed)


def _fit(X: torch.Tensor, Y: torch.Tensor, Yvar: torch.Tensor | None, *, name: str, seed: int) -> SingleTaskGP:
    """Fit ``SingleTaskGP(X, Y, Yvar)``; with ``m`` columns in ``Y`` the outputs are independent
    GPs fitted jointly as one batch (each with its own hyperparameters)."""
    last: Exception | None = None
    for attempt in range(FIT_ATTEMPTS):
        try:
            model = SingleTaskGP(X, Y, train_Yvar=Yvar)
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
                posterior = model.posterior(X[:1])
                if not torch.isfinite(posterior.mean).all() or not torch.isfinite(posterior.variance).all():
                    raise ModelFitError(f"non-finite posterior for {name}")
            return model
        except Exception as exc:  # noqa: BLE001 - any numerical failure is retried
            last = exc
            logger.info("fit of %s failed (attempt %d/%d): %s", name, attempt + 1, FIT_ATTEMPTS, exc)
    raise ModelFitError(f"could not fit a model for {name} after {FIT_ATTEMPTS} attempts: {last}") from last


def fit_each_metric(
    space: SearchSpace, trials: Sequence[Trial], metrics: Sequence[str], *, source: str, seed: int, device: torch.device
) -> dict[str, SingleTaskGP]:
    """One fitted GP per metric on the completed ``source`` trials that observed it.

    Raises:
        ValidationError: a metric has no observation to learn from.
    """
    models = {}
    for metric in metrics:
        data = metric_data(trials, space, metric, source=source, device=device)
        if data.n == 0:
            raise ValidationError("metrics", metric, f"has no observation among completed {source!r} trials")
        models[metric] = fit_metric_model(data, seed=seed)
    return models


def fit_models(datas: Sequence[MetricData], *, seed: int = 0) -> Model:
    """Independent GPs, one per metric, outputs in the order given.

    When every metric was observed on the same trials and sems are known for all or
    none, the GPs are fitted as one batched multi-output model (one optimizer run, and
    batched posteriors during acquisition); otherwise as a list of single-output GPs.
    """
    first = datas[0]
    same_rows = all(d.trial_ids == first.trial_ids for d in datas)
    same_noise = len({d.Yvar is None for d in datas}) == 1
    if len(datas) > 1 and same_rows and same_noise:
        Y = torch.cat([d.Y for d in datas], dim=-1)
        Yvar = None if first.Yvar is None else torch.cat([_yvar(d) for d in datas], dim=-1)  # type: ignore[misc]
        return _fit(first.X, Y, Yvar, name=str([d.metric for d in datas]), seed=seed)
    return ModelListGP(*[fit_metric_model(d, seed=seed) for d in datas])
