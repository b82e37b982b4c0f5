"""The closed-form fit of a space-with-choices model (:func:`~adaptive.modeling.categorical.mixed_model`).

:func:`negative_mll` is BoTorch's fitting loss for the mixed covariance in plain tensors (for
BoTorch's own optimizer, :func:`closure`), and :func:`fit` the same loss per output in NumPy
with closed-form gradients, optimized by L-BFGS-B as BoTorch's scipy fit does: GPyTorch's
lazy-tensor bookkeeping dominated a fit of the composed kernels on small problems. The
parity tests (``tests/fastpaths/test_mixed_fit.py``) hold both to GPyTorch's loss and optimum.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg
import torch
from botorch.models import SingleTaskGP
from botorch.optim.closures import ForwardBackwardClosure
from botorch.optim.utils import get_parameters
from gpytorch.likelihoods import FixedNoiseGaussianLikelihood, GaussianLikelihood
from gpytorch.mlls import ExactMarginalLogLikelihood
from linear_operator.utils.cholesky import psd_safe_cholesky
from scipy.optimize import minimize
from torch import Tensor

from adaptive._fastpaths import gp_fit
from adaptive.errors import FastFitError

_LOG_2PI = math.log(2 * math.pi)


def negative_mll(model: SingleTaskGP) -> Tensor:
    """BoTorch's fitting loss for a :func:`mixed_model` in train mode: per output, minus the exact
    log marginal likelihood of the standardized targets plus every registered prior's log
    density, over the number of rows; summed over outputs. A scalar with gradients to the
    raw parameters."""
    X = model.train_inputs[0]
    y = model.train_targets  # (m) x n
    n = y.shape[-1]
    K = model.covar_module.forward(X, X)
    noise = model.likelihood.noise
    if type(model.likelihood) is GaussianLikelihood:
        noise = noise.expand(*noise.shape[:-1], n)
    K = K + torch.diag_embed(noise.reshape(*K.shape[:-1]))
    r = (y - model.mean_module.constant.unsqueeze(-1)).unsqueeze(-1)
    L = psd_safe_cholesky(K)
    alpha = torch.cholesky_solve(r, L)
    log_lik = -0.5 * (r * alpha).sum((-1, -2)) - torch.log(torch.diagonal(L, dim1=-2, dim2=-1)).sum(-1) - 0.5 * n * _LOG_2PI
    # As GPyTorch adds them: each output's own parameters' log prior densities to its likelihood.
    log_prior = torch.zeros_like(log_lik)
    for _, module, prior, value, _ in model.named_priors():
        term = prior.log_prob(value(module))
        log_prior = log_prior + term.reshape(*term.shape[: log_lik.dim()], -1).sum(-1)
    return (-(log_lik + log_prior) / n).sum()


def closure(mll: ExactMarginalLogLikelihood) -> ForwardBackwardClosure:
    """A loss closure for ``fit_gpytorch_mll`` (with ``fit_gpytorch_mll_scipy``) over the same
    parameters, in the same order, as BoTorch's own."""
    return ForwardBackwardClosure(forward=lambda: negative_mll(mll.model), parameters=get_parameters(mll, requires_grad=True))


def _mixed_loss(
    theta: np.ndarray, D: np.ndarray, H: np.ndarray, y: np.ndarray, fixed_noise: np.ndarray | None,
    lengthscale_prior: tuple[float, float], noise_prior: tuple[float, float] | None,
) -> tuple[float, np.ndarray]:
    """:func:`negative_mll` for one output in NumPy, with its gradient in the constrained values.

    Args:
        theta: ``[constant, s_1, s_2, s_3, lengthscales (2 d_c), category lengthscales (2 G), noise]``
            (no noise entry with ``fixed_noise``).
        D: ``n x n x d_c`` squared differences of the continuous columns; H: ``n x n x G``, 1 where
            two rows differ in a choice.
    """
    n, _, dc = D.shape
    G = H.shape[-1]
    c, s1, s2, s3 = theta[:4]
    ls = theta[4:4 + 2 * dc].reshape(2, dc)
    cls = theta[4 + 2 * dc:4 + 2 * dc + 2 * G].reshape(2, G)
    Kc = [np.exp(-0.5 * (D / ls[k] ** 2).sum(-1)) for k in range(2)]
    Kg = [np.exp(-(H / cls[k]).sum(-1) / G) for k in range(2)]
    noise = fixed_noise if fixed_noise is not None else np.full(n, theta[-1])
    K = s1 * (Kc[0] + s2 * Kg[0]) + s3 * Kc[1] * Kg[1] + np.diag(noise)
    factor = gp_fit.cholesky_factor(K)
    r = y - c
    alpha = scipy.linalg.cho_solve(factor, r, check_finite=False)
    K_inv = scipy.linalg.cho_solve(factor, np.eye(n), check_finite=False)
    log_lik = -0.5 * r @ alpha - np.log(np.diag(factor[0])).sum() - 0.5 * n * _LOG_2PI
    W = 0.5 * (np.outer(alpha, alpha) - K_inv)  # d log_lik / dK
    grad = np.empty_like(theta)
    grad[0] = alpha.sum()
    grad[1] = (W * (Kc[0] + s2 * Kg[0])).sum()
    grad[2] = (W * s1 * Kg[0]).sum()
    grad[3] = (W * Kc[1] * Kg[1]).sum()
    grad[4:4 + dc] = np.einsum("ab,abj->j", W * s1 * Kc[0], D) / ls[0] ** 3
    grad[4 + dc:4 + 2 * dc] = np.einsum("ab,abj->j", W * s3 * Kc[1] * Kg[1], D) / ls[1] ** 3
    o = 4 + 2 * dc
    grad[o:o + G] = np.einsum("ab,abg->g", W * s1 * s2 * Kg[0], H) / (G * cls[0] ** 2)
    grad[o + G:o + 2 * G] = np.einsum("ab,abg->g", W * s3 * Kc[1] * Kg[1], H) / (G * cls[1] ** 2)
    log_prior, g_prior = gp_fit.log_normal(ls.reshape(-1), *lengthscale_prior)
    grad[4:4 + 2 * dc] += g_prior
    if fixed_noise is None:
        assert noise_prior is not None
        lp, gp = gp_fit.log_normal(np.array([theta[-1]]), *noise_prior)
        log_prior += lp
        grad[-1] = np.trace(W) + gp[0]
    return -(log_lik + log_prior) / n, -grad / n


def fit(model: SingleTaskGP, *, maxiter: int) -> None:
    """Set a :func:`mixed_model`'s hyperparameters to a maximum of its marginal likelihood with
    priors (the loss of :func:`negative_mll`, per output), by L-BFGS-B within the constraints'
    bounds from the current values, as BoTorch's scipy fit does, with closed-form gradients.

    Raises:
        FastFitError: the covariance is not positive definite or the optimum not finite.
    """
    covar, likelihood, mean = model.covar_module, model.likelihood, model.mean_module
    X = model.train_inputs[0].detach().cpu().numpy()
    Y = model.train_targets.detach().cpu().numpy()
    Xs = X if X.ndim == 3 else X[None]
    Ys = Y if Y.ndim == 2 else Y[None]
    m = Ys.shape[0]
    Xc = Xs[0][:, covar.continuous]
    D = (Xc[:, None, :] - Xc[None, :, :]) ** 2
    H = np.stack([1.0 - Xs[0][:, g] @ Xs[0][:, g].T for g in covar.groups], axis=-1)
    dc, G = D.shape[-1], H.shape[-1]
    if dc == 0:
        raise FastFitError("no continuous columns")
    fixed = type(likelihood) is FixedNoiseGaussianLikelihood
    noises = likelihood.noise.detach().cpu().numpy().reshape(m, -1)
    prior = covar.lengthscale_prior
    ls_prior = (float(prior.loc), float(prior.scale))
    noise_prior = None
    noise_low = 0.0
    if not fixed:
        noise_prior = (float(likelihood.noise_covar.noise_prior.loc), float(likelihood.noise_covar.noise_prior.scale))
        noise_low = float(likelihood.noise_covar.raw_noise_constraint.lower_bound)
    start = np.concatenate([
        mean.constant.detach().cpu().numpy().reshape(m, 1), covar.outputscale.detach().cpu().numpy().reshape(m, 3),
        covar.lengthscale.detach().cpu().numpy().reshape(m, 2 * dc),
        covar.category_lengthscale.detach().cpu().numpy().reshape(m, 2 * G),
    ], axis=1)
    ls_low = float(covar.raw_lengthscale_constraint.lower_bound)
    cls_low = float(covar.raw_category_lengthscale_constraint.lower_bound)
    bounds = [(None, None)] + [(1e-10, None)] * 3 + [(ls_low, None)] * (2 * dc) + [(cls_low, None)] * (2 * G)
    out = np.empty((m, start.shape[1] + (0 if fixed else 1)))
    for i in range(m):
        theta0 = start[i] if fixed else np.concatenate([start[i], [max(noises[i, 0], noise_low)]])
        theta0 = np.maximum(theta0, [b[0] if b[0] is not None else -np.inf for b in bounds] + ([] if fixed else [noise_low]))
        result = minimize(
            _mixed_loss, theta0, jac=True, method="L-BFGS-B", bounds=bounds + ([] if fixed else [(noise_low, None)]),
            args=(D, H, Ys[i], noises[i] if fixed else None, ls_prior, noise_prior), options={"maxiter": maxiter},
        )
        if not np.isfinite(result.fun) or not np.all(np.isfinite(result.x)):
            raise FastFitError(f"non-finite optimum for output {i}: {result.message}")
        out[i] = result.x
    dtype, device = covar.raw_outputscale.dtype, covar.raw_outputscale.device

    def tensor(a: np.ndarray, like: Tensor) -> Tensor:
        return torch.as_tensor(a, dtype=dtype, device=device).reshape(like.shape)

    with torch.no_grad():
        mean.raw_constant.copy_(tensor(out[:, 0], mean.raw_constant))
        covar._set("raw_outputscale", tensor(out[:, 1:4], covar.raw_outputscale))
        covar._set("raw_lengthscale", tensor(out[:, 4:4 + 2 * dc], covar.raw_lengthscale))
        covar._set("raw_category_lengthscale", tensor(out[:, 4 + 2 * dc:4 + 2 * dc + 2 * G], covar.raw_category_lengthscale))
        if not fixed:
            likelihood.noise = tensor(out[:, -1], likelihood.noise)
