"""The closed-form fit optimizes exactly BoTorch's objective and lands where BoTorch's own fit does."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from botorch.fit import fit_gpytorch_mll
from botorch.models import MultiTaskGP, SingleTaskGP
from botorch.models.transforms import Normalize
from botorch.optim.closures import get_loss_closure
from gpytorch.kernels import MaternKernel
from gpytorch.mlls import ExactMarginalLogLikelihood

from adaptive._fastpaths import gp_fit


def _data(n=18, d=3, m=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.rand(n, d, generator=g, dtype=torch.float64)
    Y = torch.stack([torch.sin(6 * X[:, 0]) + X[:, 1] ** 2, torch.cos(3 * X.sum(-1))], -1)[:, :m]
    return X, Y + 0.05 * torch.randn(n, m, generator=g, dtype=torch.float64)


def _botorch_loss(model):
    model.train()
    return get_loss_closure(ExactMarginalLogLikelihood(model.likelihood, model))().detach().reshape(-1).numpy()


def _our_loss(model):
    X = model.train_inputs[0].detach().numpy()
    Y = model.train_targets.detach().numpy().reshape(-1, X.shape[-2])
    X = X.reshape(-1, *X.shape[-2:])
    covar, likelihood = model.covar_module, model.likelihood
    m, d = Y.shape[0], X.shape[-1]
    fixed = not hasattr(likelihood.noise_covar, "noise_prior")
    out = []
    for i in range(m):
        D = (X[i][:, None] - X[i][None]) ** 2
        theta = [model.mean_module.constant.detach().numpy().reshape(m)[i], *covar.lengthscale.detach().numpy().reshape(m, d)[i]]
        noise = likelihood.noise.detach().numpy().reshape(m, -1)[i]
        prior = None if fixed else (float(likelihood.noise_covar.noise_prior.loc), float(likelihood.noise_covar.noise_prior.scale))
        if not fixed:
            theta.append(noise[0])
        value, _ = gp_fit.neg_log_marginal_likelihood(
            np.array(theta), D, Y[i], noise if fixed else None,
            (float(covar.lengthscale_prior.loc), float(covar.lengthscale_prior.scale)), prior,
        )
        out.append(value)
    return np.array(out)


@pytest.mark.parametrize("m", [1, 2])
@pytest.mark.parametrize("known_noise", [False, True])
def test_the_objective_is_botorchs_and_the_gradient_is_right(m, known_noise):
    X, Y = _data(m=m)
    model = SingleTaskGP(X, Y, train_Yvar=torch.full_like(Y, 0.01) if known_noise else None)
    assert gp_fit.supports(model)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        model.covar_module.lengthscale = 0.1 + torch.rand(model.covar_module.lengthscale.shape, generator=g, dtype=torch.float64)
        model.mean_module.constant = torch.randn(model.mean_module.constant.shape, generator=g, dtype=torch.float64)
        if not known_noise:
            model.likelihood.noise = 0.01 + 0.1 * torch.rand(model.likelihood.noise.shape, generator=g, dtype=torch.float64)
    np.testing.assert_allclose(_our_loss(model), _botorch_loss(model), rtol=1e-7)

    D = (X[:, None] - X[None]).pow(2).numpy()
    y = model.train_targets.detach().numpy().reshape(m, -1)[0]
    theta = np.array([0.3, 0.5, 0.2, 0.9] + ([] if known_noise else [0.05]))
    args = (D, y, np.full(len(y), 0.01) if known_noise else None, (1.5, 1.7), None if known_noise else (-4.0, 1.0))
    _, grad = gp_fit.neg_log_marginal_likelihood(theta, *args)
    numeric = [
        (gp_fit.neg_log_marginal_likelihood(theta + e, *args)[0] - gp_fit.neg_log_marginal_likelihood(theta - e, *args)[0]) / 2e-6
        for e in np.eye(len(theta)) * 1e-6
    ]
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)


def test_the_gradient_is_right_with_source_features_and_covariances():
    # The bias-corrected model: prior mean [1, s_1, s_2] @ weights, covariance plus
    # sum_i weights[1 + i]^2 P_i for fixed positive semi-definite P_i.
    X, Y = _data(m=1)
    n = X.shape[0]
    g = np.random.default_rng(0)
    A = g.standard_normal((2, n, n))
    P = 0.1 * A @ A.transpose(0, 2, 1) / n
    F = np.hstack([np.ones((n, 1)), g.standard_normal((n, 2))])
    D = (X[:, None] - X[None]).pow(2).numpy()
    theta = np.array([0.1, 0.7, -0.4, 0.5, 0.2, 0.9, 0.05])
    args = (D, Y[:, 0].numpy(), None, (1.5, 1.7), (-4.0, 1.0), F, P)
    value, grad = gp_fit.neg_log_marginal_likelihood(theta, *args)
    numeric = [
        (gp_fit.neg_log_marginal_likelihood(theta + e, *args)[0] - gp_fit.neg_log_marginal_likelihood(theta - e, *args)[0]) / 2e-6
        for e in np.eye(len(theta)) * 1e-6
    ]
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)
    # ... and the covariances do enter the objective.
    assert value != pytest.approx(gp_fit.neg_log_marginal_likelihood(theta, *args[:-1])[0])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_fit_reaches_botorchs_optimum(seed):
    X, Y = _data(seed=seed)
    ours, theirs = SingleTaskGP(X, Y), SingleTaskGP(X, Y)
    gp_fit.fit(ours, maxiter=200)
    fit_gpytorch_mll(ExactMarginalLogLikelihood(theirs.likelihood, theirs), optimizer_kwargs={"options": {"maxiter": 200}})
    # Same objective, same start, same optimizer family: the same optimum (ours at least as good).
    assert (_botorch_loss(ours) <= _botorch_loss(theirs) + 1e-6).all()
    np.testing.assert_allclose(
        ours.covar_module.lengthscale.detach().numpy(), theirs.covar_module.lengthscale.detach().numpy(), rtol=0.05,
    )


def test_other_structures_are_left_to_botorch():
    X, Y = _data(m=1)
    assert not gp_fit.supports(SingleTaskGP(X, Y, input_transform=Normalize(3)))
    assert not gp_fit.supports(SingleTaskGP(X, Y, covar_module=MaternKernel(ard_num_dims=3)))
    assert not gp_fit.supports(SingleTaskGP(X.float(), Y.float()))
    task = torch.cat([X, torch.zeros(len(X), 1, dtype=torch.float64)], -1)
    assert not gp_fit.supports(MultiTaskGP(task, Y, task_feature=-1))
    big = torch.rand(gp_fit.MAX_ROWS + 1, 3, dtype=torch.float64)
    assert not gp_fit.supports(SingleTaskGP(big, big[:, :1]))


def test_a_covariance_that_is_not_positive_definite_is_an_error():
    D = np.zeros((3, 3, 1))  # three identical inputs: the kernel matrix is all ones
    with pytest.raises(gp_fit.FastFitError, match="positive definite"):
        gp_fit.neg_log_marginal_likelihood(np.array([0.0, 0.5]), D, np.zeros(3), np.full(3, -0.5), (1.0, 1.0), None)


def test_the_bias_corrected_model_is_fitted_to_the_same_optimum():
    from adaptive.modeling.corrected import build_corrected, source_scales

    g = torch.Generator().manual_seed(3)
    X_sim = torch.rand(40, 2, generator=g, dtype=torch.float64)
    X_on = torch.rand(10, 2, generator=g, dtype=torch.float64)

    def truth(X):
        return torch.sin(5 * X[:, :1]) + X[:, 1:] ** 2

    simulator = SingleTaskGP(X_sim, 0.5 * truth(X_sim) - 0.3)
    gp_fit.fit(simulator, maxiter=200)
    simulator.eval()
    ours = build_corrected(X_on, truth(X_on) + 0.1 * X_on[:, :1], None, [simulator])
    theirs = build_corrected(X_on, truth(X_on) + 0.1 * X_on[:, :1], None, [simulator])
    assert gp_fit.supports(ours)
    gp_fit.fit(ours, maxiter=200)
    fit_gpytorch_mll(ExactMarginalLogLikelihood(theirs.likelihood, theirs), optimizer_kwargs={"options": {"maxiter": 200}})
    assert (_botorch_loss(ours) <= _botorch_loss(theirs) + 1e-6).all()
    # The simulator is half the truth: the learned weight is about 2.
    assert float(source_scales(ours)[0]) == pytest.approx(float(source_scales(theirs)[0]), rel=0.05)
    assert 1.5 < float(source_scales(ours)[0]) < 2.5
