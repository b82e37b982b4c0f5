"""Leave-one-out prediction errors of a fitted exact GP, in closed form.

With hyperparameters held at their fitted values, the LOO predictive mean of row
``i`` is ``y_i - [K^-1 r]_i / [K^-1]_ii`` with ``r = y - m`` the residual from the
prior mean and ``K`` the training covariance including noise (Rasmussen &
Williams, 2006, section 5.4.2). One Cholesky factorization gives every row, so
comparing models costs a fraction of a fit.
"""

from __future__ import annotations

import warnings

import torch
from botorch.models.model import Model

from adaptive.modeling import numerics


def loo_errors(model: Model, rows: torch.Tensor | None = None) -> torch.Tensor:
    """Observed minus LOO-predicted mean for each training row, in the metric's units.

    Args:
        model: a fitted single-output ``SingleTaskGP`` or ``MultiTaskGP`` (no input transform).
        rows: optional boolean mask (length ``n``) of the rows to return.

    Returns:
        A 1-d tensor of errors, one per selected row.
    """
    return loo_predictions(model, rows)[0]


def loo_predictions(model: Model, rows: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Each training row left out in turn: (observed minus predicted mean, standard deviation
    of the predicted noiseless value), both 1-d over the selected rows, in the metric's units.

    The LOO predictive variance of row ``i`` is ``1 / [K^-1]_ii``; its noise part (the
    likelihood's variance at the row) is taken off, leaving the posterior variance of the
    value a noiseless observation would have.
    """
    was_training = model.training
    model.train()
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            inputs = model.train_inputs
            prior = model(*inputs)
            marginal = model.likelihood(prior, *inputs)
            K = marginal.covariance_matrix
            r = (model.train_targets - marginal.mean).unsqueeze(-1)
            L = numerics.cholesky(K)
            K_inv = torch.cholesky_inverse(L)
            alpha = K_inv @ r
            precision = torch.diagonal(K_inv)
            errors = alpha.squeeze(-1) / precision
            noise = torch.diagonal(K) - torch.diagonal(prior.covariance_matrix)
            variance = (1.0 / precision - noise).clamp_min(0.0)
    finally:
        model.train(was_training)
    scale = _output_scale(model, inputs[0])
    errors, sd = errors * scale, variance.sqrt() * scale
    return (errors, sd) if rows is None else (errors[rows], sd[rows])


def loo_rmse(model: Model, rows: torch.Tensor | None = None) -> float:
    """Root mean squared LOO error over ``rows`` (all rows by default), in the metric's units."""
    e = loo_errors(model, rows)
    return float(e.pow(2).mean().sqrt()) if e.numel() else float("nan")


def _output_scale(model: Model, X: torch.Tensor) -> torch.Tensor:
    """Per-row factor from standardized to original units (1 without an outcome transform)."""
    transform = getattr(model, "outcome_transform", None)
    if transform is None:
        return torch.ones(X.shape[0], dtype=X.dtype, device=X.device)
    stdvs = transform.stdvs
    if stdvs.numel() == 1:
        return stdvs.reshape(()).expand(X.shape[0])
    raise ValueError(f"LOO needs a single-output outcome transform, got stdvs of shape {tuple(stdvs.shape)}")
