"""The lean posterior is the fitted model's posterior, and acquisitions on it take the same values."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from botorch.models import ModelListGP, SingleTaskGP

import adaptive as ad
from adaptive._fastpaths import cached_cholesky, gp_fit, lean_posterior
from adaptive.generation.acquisition import build_acquisition, standardized_outputs
from adaptive.objectives import OptimizationConfig


def _fitted(X, Y, Yvar=None):
    model = SingleTaskGP(X, Y, Yvar)
    gp_fit.fit(model, maxiter=100)
    bare, affine = standardized_outputs(model.eval())
    return bare, affine


def _data(seed=0, n=15):
    g = torch.Generator().manual_seed(seed)
    X = torch.rand(n, 3, generator=g, dtype=torch.float64)
    f0 = 10 + 5 * torch.sin(4 * X[:, 0]) + X[:, 1]
    f1 = 200 - 80 * X[:, 2] * X[:, 0]
    cost = 3 * X.sum(-1)
    return g, X, f0, f1, cost


@pytest.mark.parametrize("fixed_noise", [False, True])
def test_posterior_equals_the_models(fixed_noise):
    g, X, f0, _, cost = _data()
    Y = torch.stack([f0, cost], -1)
    model, _ = _fitted(X, Y, torch.full_like(Y, 0.01) if fixed_noise else None)
    lean = lean_posterior.LeanGP(model)
    assert lean.num_outputs == 2
    Xt = torch.rand(5, 4, 3, generator=g, dtype=torch.float64)
    expected, actual = model.posterior(Xt), lean.posterior(Xt)
    np.testing.assert_allclose(actual.mean.numpy(), expected.mean.detach().numpy(), atol=1e-10)
    # BoTorch's joint covariance is blocked by output (non-interleaved).
    blocks = expected.distribution.covariance_matrix.detach().reshape(5, 2, 4, 2, 4)
    for i in range(2):
        np.testing.assert_allclose(actual.covariance[:, i].numpy(), blocks[:, i, :, i].numpy(), atol=1e-10)
    np.testing.assert_allclose(actual.variance.numpy(), expected.variance.detach().numpy(), atol=1e-10)
    base = torch.randn(16, 5, 4, 2, generator=g, dtype=torch.float64)
    np.testing.assert_allclose(
        actual.rsample_from_base_samples(torch.Size([16]), base).numpy(),
        expected.rsample_from_base_samples(torch.Size([16]), base).detach().numpy(), atol=1e-9,
    )
    # Base samples collapsed over the batch (as samplers make them) give the broadcast draws.
    collapsed = base[:, :1]
    np.testing.assert_allclose(
        actual.rsample_from_base_samples(torch.Size([16]), collapsed).numpy(),
        actual.rsample_from_base_samples(torch.Size([16]), collapsed.expand(16, 5, 4, 2)).numpy(), atol=1e-12,
    )


@pytest.mark.parametrize("objectives", [1, 2])
def test_acquisition_values_and_gradients_equal_the_gpytorch_models(objectives):
    g, X, f0, f1, cost = _data(1)
    if objectives == 1:
        config = OptimizationConfig.build([ad.Maximize("f0")], ["cost <= 4.5"])
        Y, ref = torch.stack([f0, cost], -1), None
    else:
        config = OptimizationConfig.build([ad.Maximize("f0", threshold=8.0), ad.Minimize("f1", threshold=190.0)], ["cost >= 1.5"])
        Y, ref = torch.stack([f0, f1, cost], -1), np.array([8.0, -190.0])
    model, affine = _fitted(X, Y)
    lean = lean_posterior.LeanGP(copy.deepcopy(model))
    kwargs = dict(X_baseline=X, X_pending=torch.rand(2, 3, generator=g, dtype=torch.float64), ref_point=ref,
                  mc_samples=64, seed=3, affine=affine)
    torch.manual_seed(0)
    reference = build_acquisition(model, config, **kwargs)
    torch.manual_seed(0)
    fast = build_acquisition(lean, config, **kwargs)
    candidates = torch.rand(32, 2, 3, generator=g, dtype=torch.float64)
    expected, actual = reference(candidates.requires_grad_()), fast(candidates)
    assert torch.isfinite(expected).all() and expected.max() > -20
    np.testing.assert_allclose(actual.detach().numpy(), expected.detach().numpy(), rtol=1e-8, atol=1e-8)
    (grad_expected,) = torch.autograd.grad(expected.sum(), candidates)
    (grad_actual,) = torch.autograd.grad(actual.sum(), candidates)
    np.testing.assert_allclose(grad_actual.numpy(), grad_expected.numpy(), rtol=1e-6, atol=1e-8)


def test_only_default_single_task_models_are_supported():
    _, X, f0, _, _ = _data()
    model, _ = _fitted(X, f0.unsqueeze(-1))
    assert lean_posterior.supports(model)
    assert not lean_posterior.supports(SingleTaskGP(X, f0.unsqueeze(-1)))  # still has its outcome transform
    assert not lean_posterior.supports(ModelListGP(model))
    with pytest.raises(TypeError, match="default SingleTaskGP"):
        lean_posterior.LeanGP(SingleTaskGP(X, f0.unsqueeze(-1)))
    with pytest.raises(NotImplementedError, match="noise-free"):
        lean_posterior.LeanGP(model).posterior(X, observation_noise=True)


def test_the_optimizer_reads_the_device_off_a_lean_model():
    from adaptive.generation.optimize import _device_of

    _, X, f0, _, cost = _data()
    model, affine = _fitted(X, torch.stack([f0, cost], -1))
    config = OptimizationConfig.build([ad.Maximize("f0")], ["cost <= 4.5"])
    acqf = build_acquisition(lean_posterior.LeanGP(model), config, X_baseline=X, X_pending=None, ref_point=None,
                             mc_samples=16, seed=0, affine=affine)
    assert list(acqf.model.buffers()) and _device_of(acqf) == X.device


def test_bias_corrected_model_posterior_and_acquisition_equal_the_models():
    from adaptive.modeling import MetricData, compare_sources

    g = torch.Generator().manual_seed(5)
    X = torch.rand(30, 2, generator=g, dtype=torch.float64)
    task = torch.cat([torch.zeros(8, 1), torch.ones(22, 1)]).double()
    Y = torch.sin(5 * X[:, :1]) + X[:, 1:] - 0.4 * task
    corrected = compare_sources(MetricData("m", X, Y, None, tuple(range(30)), task, ("online", "sim"))).corrected
    model, affine = standardized_outputs(corrected)
    assert lean_posterior.supports(model)
    lean = lean_posterior.LeanGP(copy.deepcopy(model))
    Xt = torch.rand(6, 3, 2, generator=g, dtype=torch.float64)
    expected, actual = model.posterior(Xt), lean.posterior(Xt)
    np.testing.assert_allclose(actual.mean.numpy(), expected.mean.detach().numpy(), atol=1e-9)
    np.testing.assert_allclose(actual.covariance[:, 0].numpy(), expected.distribution.covariance_matrix.detach().numpy(), atol=1e-10)
    config = OptimizationConfig.build([ad.Maximize("m")])
    kwargs = dict(X_baseline=X[:8], X_pending=None, ref_point=None, mc_samples=64, seed=0, affine=affine)
    torch.manual_seed(0)
    reference = build_acquisition(model, config, **kwargs)
    torch.manual_seed(0)
    fast = build_acquisition(lean, config, **kwargs)
    candidates = torch.rand(16, 1, 2, generator=g, dtype=torch.float64)
    with torch.no_grad():
        np.testing.assert_allclose(fast(candidates).numpy(), reference(candidates).numpy(), rtol=1e-8, atol=1e-8)


def test_a_failed_low_rank_update_samples_the_joint_posterior(monkeypatch):
    _, X, f0, _, cost = _data(2)
    model, affine = _fitted(X, torch.stack([f0, cost], -1))
    config = OptimizationConfig.build([ad.Maximize("f0")], ["cost <= 4.5"])
    acqf = build_acquisition(lean_posterior.LeanGP(model), config, X_baseline=X, X_pending=None, ref_point=None,
                             mc_samples=32, seed=0, affine=affine)
    candidates = torch.rand(4, 1, 3, generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    with torch.no_grad():
        cached = acqf(candidates)
    calls = []
    real = lean_posterior.psd_safe_cholesky

    def failing(A, *args, **kwargs):
        if kwargs.get("max_tries") == 6:  # the corner block of the low-rank update
            calls.append(A.shape)
            raise cached_cholesky.NotPSDError("forced")
        return real(A, *args, **kwargs)

    monkeypatch.setattr(lean_posterior, "psd_safe_cholesky", failing)
    with torch.no_grad():
        joint = acqf(candidates)
    assert calls and torch.isfinite(joint).all()
    # The sampler keeps the incumbents' base samples, so the joint draw is the same draw.
    np.testing.assert_allclose(joint.numpy(), cached.numpy(), rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("outputs", [1, 2])
def test_posterior_and_acquisition_equal_the_models_for_a_space_with_choices(outputs):
    from adaptive._fastpaths import mixed_fit
    from adaptive.modeling import categorical

    g = torch.Generator().manual_seed(3)
    X = torch.rand(18, 5, generator=g, dtype=torch.float64)
    X[:, 2:5] = torch.nn.functional.one_hot(torch.randint(0, 3, (18,), generator=g), 3).double()
    Y = torch.stack([torch.sin(4 * X[:, 0]) + X[:, 3], X[:, 1] - X[:, 4]], -1)[:, :outputs]
    model = categorical.mixed_model(X, Y, None, [[2, 3, 4]])
    mixed_fit.fit(model, maxiter=100)
    model, _ = standardized_outputs(model.eval())
    assert lean_posterior.supports(model)
    lean = lean_posterior.LeanGP(model)
    Xt = torch.rand(6, 3, 5, generator=g, dtype=torch.float64)
    Xt[..., 2:5] = torch.nn.functional.one_hot(torch.randint(0, 3, (6, 3), generator=g), 3).double()
    expected, actual = model.posterior(Xt), lean.posterior(Xt)
    np.testing.assert_allclose(actual.mean.numpy(), expected.mean.detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(actual.variance.numpy(), expected.variance.detach().numpy(), atol=1e-10)
    config = OptimizationConfig.build([ad.Maximize("a")] if outputs == 1 else [ad.Maximize("a"), ad.Minimize("b")], [])
    ref = None if outputs == 1 else np.array([-1.0, -1.0])
    acqs = [build_acquisition(m, config, X_baseline=X, X_pending=None, ref_point=ref, mc_samples=64, seed=0)
            for m in (model, lean)]
    Xc = Xt[:, :1].clone().requires_grad_(True)
    values = [a(Xc) for a in acqs]
    np.testing.assert_allclose(values[1].detach().numpy(), values[0].detach().numpy(), atol=1e-8)
    grads = [torch.autograd.grad(v.sum(), Xc)[0] for v in values]
    np.testing.assert_allclose(grads[1].numpy(), grads[0].numpy(), atol=1e-7)


def test_posterior_over_many_points_equals_the_models():
    """Beyond EXACT_DIFFERENCES_UP_TO points (BoTorch's pruning asks for every incumbent at once)
    the prior covariance comes from the product form, its diagonal exactly one."""
    g, X, f0, _, cost = _data(n=40)
    model, _ = _fitted(X, torch.stack([f0, cost], -1))
    Xt = torch.rand(lean_posterior.EXACT_DIFFERENCES_UP_TO + 72, 3, generator=g, dtype=torch.float64)
    expected, actual = model.posterior(Xt), lean_posterior.LeanGP(model).posterior(Xt)
    blocks = expected.distribution.covariance_matrix.detach().reshape(2, len(Xt), 2, len(Xt))
    for i in range(2):
        np.testing.assert_allclose(actual.covariance[i].numpy(), blocks[i, :, i].numpy(), atol=1e-9)
    np.testing.assert_allclose(actual.mean.numpy(), expected.mean.detach().numpy(), atol=1e-10)
