"""Maximum-marginal-likelihood fits of BoTorch's default ``SingleTaskGP`` with closed-form gradients.

The objective is exactly BoTorch's (per output: the exact GP log marginal likelihood plus
the log priors of the lengthscales and the noise, divided by the number of rows), and the
optimizer the same (L-BFGS-B from the model's current hyperparameters, within the
constraints' bounds), so the fit lands on the same optimum. What changes is the cost: for
the small models of online experiments GPyTorch's autograd path spends most of each
evaluation on bookkeeping, which NumPy does not (docs/optimization.md has the figures).
That matters because every ``suggest`` refits every model.

Only the default structure is handled (a constant mean or the bias-corrected model's
:class:`~adaptive.modeling.corrected.SourceMean`, which is linear in fixed features, with its
:class:`~adaptive.modeling.corrected.SourceCovariance` (fixed matrices times the squared
weights) beside the ARD RBF kernel with log-normal lengthscale prior, Gaussian likelihood with log-normal noise prior or fixed noise, no input
transform, CPU, at most :data:`MAX_ROWS` rows); :func:`supports` says whether a model has it,
and everything else goes through ``fit_gpytorch_mll``.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg
import torch
from botorch.models import SingleTaskGP
from gpytorch.kernels import AdditiveKernel, RBFKernel
from gpytorch.likelihoods import FixedNoiseGaussianLikelihood, GaussianLikelihood
from gpytorch.means import ConstantMean
from gpytorch.priors import LogNormalPrior
from scipy.optimize import minimize

from adaptive.errors import FastFitError
from adaptive.modeling import numerics
from adaptive.modeling.corrected import SourceCovariance, SourceMean

# Beyond this the n^3 inverse per evaluation costs more than GPyTorch's overhead saves.
MAX_ROWS = 400
_LOG_2PI = math.log(2 * math.pi)


def supports(model: object) -> bool:
    """Whether ``model`` has the default ``SingleTaskGP`` structure this module fits."""
    if type(model) is not SingleTaskGP or getattr(model, "input_transform", None) is not None:
        return False
    covar, mean, likelihood = rbf_kernel(model), model.mean_module, model.likelihood
    if covar is None or covar.active_dims is not None or type(mean) not in (ConstantMean, SourceMean):
        return False
    if (type(mean) is SourceMean) != (type(model.covar_module) is AdditiveKernel):
        return False
    if not isinstance(getattr(covar, "lengthscale_prior", None), LogNormalPrior):
        return False
    if type(likelihood) is GaussianLikelihood:
        if not isinstance(getattr(likelihood.noise_covar, "noise_prior", None), LogNormalPrior):
            return False
    elif type(likelihood) is not FixedNoiseGaussianLikelihood:
        return False
    X = model.train_inputs[0]
    return X.device.type == "cpu" and X.dtype == torch.float64 and X.shape[-2] <= MAX_ROWS


def rbf_kernel(model: SingleTaskGP) -> RBFKernel | None:
    """The model's RBF kernel: its covariance, or beside a :class:`SourceCovariance` of its
    :class:`SourceMean`; None for any other structure."""
    covar = model.covar_module
    if type(covar) is RBFKernel:
        return covar
    if type(covar) is AdditiveKernel and len(covar.kernels) == 2 and type(covar.kernels[0]) is RBFKernel:
        other = covar.kernels[1]
        if type(other) is SourceCovariance and other._mean[0] is model.mean_module:
            return covar.kernels[0]
    return None


def neg_log_marginal_likelihood(
    theta: np.ndarray, D: np.ndarray, y: np.ndarray, fixed_noise: np.ndarray | None,
    lengthscale_prior: tuple[float, float], noise_prior: tuple[float, float] | None,
    features: np.ndarray | None = None, source_covariances: np.ndarray | None = None,
) -> tuple[float, np.ndarray]:
    """BoTorch's per-output fitting loss and its gradient.

    Args:
        theta: ``[mean weights (p), lengthscale_1..d, noise]`` (no noise entry when
            ``fixed_noise`` is given).
        D: ``n x n x d`` squared differences of the inputs per dimension.
        y: ``n`` standardized targets.
        fixed_noise: ``n`` known noise variances (standardized units), or None to infer one noise.
        lengthscale_prior, noise_prior: (loc, scale) of the log-normal priors.
        features: ``n x p`` the prior mean is ``features @ weights``; None means one
            constant (``p = 1``).
        source_covariances: ``k x n x n``; when given, the covariance has
            ``sum_i weights[1 + i]^2 source_covariances[i]`` added (the bias-corrected model).
    """
    n, _, d = D.shape
    F = np.ones((n, 1)) if features is None else features
    p = F.shape[1]
    lengthscale = theta[p:p + d]
    K_rbf = np.exp(-0.5 * (D / lengthscale**2).sum(-1))
    noise = fixed_noise if fixed_noise is not None else np.full(n, theta[p + d])
    K = K_rbf + np.diag(noise)
    if source_covariances is not None:
        k = len(source_covariances)
        K = K + np.einsum("i,iab->ab", theta[1:1 + k] ** 2, source_covariances)
    factor = cholesky_factor(K)
    r = y - F @ theta[:p]
    alpha = scipy.linalg.cho_solve(factor, r, check_finite=False)
    K_inv = scipy.linalg.cho_solve(factor, np.eye(n), check_finite=False)
    log_lik = -0.5 * r @ alpha - np.log(np.diag(factor[0])).sum() - 0.5 * n * _LOG_2PI
    W = np.outer(alpha, alpha) - K_inv
    grad = np.empty_like(theta)
    grad[:p] = F.T @ alpha
    if source_covariances is not None:
        grad[1:1 + k] += theta[1:1 + k] * np.einsum("ab,iab->i", W, source_covariances)
    grad[p:p + d] = 0.5 * np.einsum("ab,abj->j", W * K_rbf, D) / lengthscale**3
    log_prior, g_prior = log_normal(lengthscale, *lengthscale_prior)
    grad[p:p + d] += g_prior
    if fixed_noise is None:
        assert noise_prior is not None
        lp, gp = log_normal(np.array([theta[p + d]]), *noise_prior)
        log_prior += lp
        grad[p + d] = 0.5 * np.trace(W) + gp[0]
    return -(log_lik + log_prior) / n, -grad / n


def cholesky_factor(K: np.ndarray) -> tuple[np.ndarray, bool]:
    """Cholesky factor of ``K`` (the jitter policy of :mod:`adaptive.modeling.numerics`)."""
    return numerics.cho_factor(K, FastFitError)


def log_normal(x: np.ndarray, loc: float, scale: float) -> tuple[float, np.ndarray]:
    """Summed log density of a log-normal prior at ``x`` and its gradient."""
    lx = np.log(x)
    value = (-lx - math.log(scale) - 0.5 * _LOG_2PI - (lx - loc) ** 2 / (2 * scale**2)).sum()
    return float(value), -1 / x - (lx - loc) / (scale**2 * x)


def fit(model: SingleTaskGP, *, maxiter: int) -> None:
    """Set ``model``'s hyperparameters to a maximum of its marginal likelihood with priors.

    Starts from the model's current hyperparameters. Raises :class:`FastFitError` when the
    covariance is not positive definite or the optimum is not finite.
    """
    covar, likelihood = rbf_kernel(model), model.likelihood
    assert covar is not None
    X = model.train_inputs[0].detach().numpy()
    Y = model.train_targets.detach().numpy()
    batched = Y.ndim == 2
    Xs, Ys = (X, Y) if batched else (X[None], Y[None])
    m, d = Ys.shape[0], Xs.shape[-1]
    mean = model.mean_module
    if isinstance(mean, SourceMean):
        if m != 1:
            raise FastFitError("a source mean models one output")
        with torch.no_grad():
            X_train = model.train_inputs[0]
            source_means = mean.source_means(X_train).detach().numpy().reshape(-1, len(mean._sources))
            source_covariances = model.covar_module.kernels[1].source_covariances(X_train, X_train).detach().numpy()
        features = np.hstack([np.ones((source_means.shape[0], 1)), source_means])
        weights = np.concatenate([mean.constant.detach().numpy(), mean.scale.detach().numpy()]).reshape(1, -1)
    else:
        features, source_covariances = None, None
        weights = mean.constant.detach().numpy().reshape(m, 1)
    p = weights.shape[1]
    lengthscales = covar.lengthscale.detach().numpy().reshape(m, d)
    ls_prior = (float(covar.lengthscale_prior.loc), float(covar.lengthscale_prior.scale))
    ls_low = float(covar.raw_lengthscale_constraint.lower_bound)
    fixed = type(likelihood) is FixedNoiseGaussianLikelihood
    if fixed:
        noises = likelihood.noise.detach().numpy().reshape(m, -1)
        noise_prior = None
        noise_low = 0.0
    else:
        noises = likelihood.noise.detach().numpy().reshape(m, 1)
        prior = likelihood.noise_covar.noise_prior
        noise_prior = (float(prior.loc), float(prior.scale))
        noise_low = float(likelihood.noise_covar.raw_noise_constraint.lower_bound)
    out_weights, out_ls, out_noise = np.empty((m, p)), np.empty((m, d)), np.empty(m)
    # A batched SingleTaskGP repeats the same inputs for every output: one distance tensor.
    D = (Xs[0][:, None, :] - Xs[0][None, :, :]) ** 2
    for i in range(m):
        theta0 = np.concatenate([weights[i], np.maximum(lengthscales[i], ls_low)]
                                + ([] if fixed else [np.maximum(noises[i], noise_low)]))
        bounds = [(None, None)] * p + [(ls_low, None)] * d + ([] if fixed else [(noise_low, None)])
        result = minimize(
            neg_log_marginal_likelihood, theta0, jac=True, method="L-BFGS-B", bounds=bounds,
            args=(D, Ys[i], noises[i] if fixed else None, ls_prior, noise_prior, features, source_covariances),
            options={"maxiter": maxiter},
        )
        if not np.isfinite(result.fun) or not np.all(np.isfinite(result.x)):
            raise FastFitError(f"non-finite optimum for output {i}: {result.message}")
        out_weights[i], out_ls[i] = result.x[:p], result.x[p:p + d]
        if not fixed:
            out_noise[i] = result.x[p + d]
    with torch.no_grad():
        dtype = covar.lengthscale.dtype
        if isinstance(mean, SourceMean):
            mean.constant.copy_(torch.as_tensor(out_weights[0, :1], dtype=dtype))
            mean.scale.copy_(torch.as_tensor(out_weights[0, 1:], dtype=dtype))
        else:
            mean.raw_constant.copy_(torch.as_tensor(out_weights[:, 0], dtype=dtype).reshape(mean.raw_constant.shape))
        covar.lengthscale = torch.as_tensor(out_ls, dtype=dtype).reshape(covar.lengthscale.shape)
        if not fixed:
            likelihood.noise = torch.as_tensor(out_noise, dtype=dtype).reshape(likelihood.noise.shape)
