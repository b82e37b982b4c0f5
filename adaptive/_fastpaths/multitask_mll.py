"""BoTorch's ``MultiTaskGP`` marginal likelihood in plain tensors, for its fit.

The multi-task GP over sources (an RBF kernel over the parameters times BoTorch's
``PositiveIndexKernel`` over sources, a constant mean and a noise level per source, or
fixed noise) was most of a multi-source ``suggest``: GPyTorch spends milliseconds per
marginal-likelihood evaluation on lazy-tensor bookkeeping for a few dozen rows. The loss
here is the same number (the exact Gaussian log likelihood of the standardized targets
plus every registered prior's log density, over the number of rows; tested equal to
BoTorch's loss closure), computed from the same parameters with a dense Cholesky factor,
and differentiated by autograd. BoTorch's own scipy fit runs on it, so the
parameterization, bounds, optimizer and retries are unchanged: only the cost per
evaluation goes down.
"""

from __future__ import annotations

import math

import torch
from botorch.models import MultiTaskGP
from botorch.models.kernels.positive_index import PositiveIndexKernel
from botorch.optim.closures import ForwardBackwardClosure
from botorch.optim.utils import get_parameters
from gpytorch.kernels import RBFKernel
from gpytorch.likelihoods import FixedNoiseGaussianLikelihood
from gpytorch.likelihoods.hadamard_gaussian_likelihood import HadamardGaussianLikelihood
from gpytorch.means import ConstantMean, MultitaskMean
from gpytorch.mlls import ExactMarginalLogLikelihood
from linear_operator.utils.cholesky import psd_safe_cholesky
from torch import Tensor

_LOG_2PI = math.log(2 * math.pi)


def supports(model: object) -> bool:
    """Whether ``model`` is a ``MultiTaskGP`` of BoTorch's default structure, without input transform."""
    if type(model) is not MultiTaskGP or getattr(model, "input_transform", None) is not None:
        return False
    kernels = getattr(model.covar_module, "kernels", ())
    if len(kernels) != 2 or type(kernels[0]) is not RBFKernel or type(kernels[1]) is not PositiveIndexKernel:
        return False
    mean = model.mean_module
    if type(mean) is not MultitaskMean or any(type(m) is not ConstantMean for m in mean.base_means):
        return False
    return type(model.likelihood) in (HadamardGaussianLikelihood, FixedNoiseGaussianLikelihood)


def negative_mll(model: MultiTaskGP) -> Tensor:
    """BoTorch's fitting loss for ``model`` (in train mode): minus the exact marginal log
    likelihood with log priors, per row. A scalar with gradients to the raw parameters."""
    X = model.train_inputs[0]
    y = model.train_targets
    n = y.shape[-1]
    x_before, task, x_after = model._split_inputs(X)
    task = task.squeeze(-1).long()
    features = torch.cat([x_before, x_after], dim=-1)
    data_kernel, task_kernel = model.covar_module.kernels
    Z = features / data_kernel.lengthscale
    sq = (Z.unsqueeze(-2) - Z.unsqueeze(-3)).pow(2).sum(-1)
    B = task_kernel._eval_covar_matrix()
    K = B[task][:, task] * torch.exp(-0.5 * sq)
    likelihood = model.likelihood
    noise = likelihood.noise if type(likelihood) is FixedNoiseGaussianLikelihood else likelihood.noise[task]
    K = K + torch.diag_embed(noise.reshape(n))
    constants = torch.stack([m.constant.reshape(()) for m in model.mean_module.base_means])
    r = (y - constants[task]).unsqueeze(-1)
    L = psd_safe_cholesky(K)
    alpha = torch.cholesky_solve(r, L)
    log_lik = -0.5 * (r * alpha).sum() - torch.log(torch.diagonal(L)).sum() - 0.5 * n * _LOG_2PI
    log_prior = sum(prior.log_prob(closure(module)).sum() for _, module, prior, closure, _ in model.named_priors())
    return -(log_lik + log_prior) / n


def closure(mll: ExactMarginalLogLikelihood) -> ForwardBackwardClosure:
    """A loss closure for ``fit_gpytorch_mll`` (with ``fit_gpytorch_mll_scipy``) over the
    same parameters, in the same order, as BoTorch's own."""
    return ForwardBackwardClosure(forward=lambda: negative_mll(mll.model), parameters=get_parameters(mll, requires_grad=True))
