"""The single-candidate log-EHVI path gives BoTorch's qLogNEHVI values and gradients, and is taken."""

from __future__ import annotations

import os

import botorch.acquisition.multi_objective.logei as botorch_logei
import numpy as np
import pytest
import torch
from botorch.acquisition.multi_objective.logei import qLogNoisyExpectedHypervolumeImprovement
from botorch.acquisition.multi_objective.objective import IdentityMCMultiOutputObjective
from botorch.models import SingleTaskGP
from botorch.sampling import SobolQMCNormalSampler

from adaptive._fastpaths import gp_fit
from adaptive._fastpaths.single_point_ehvi import SinglePointLogEHVI


class _Fast(SinglePointLogEHVI, qLogNoisyExpectedHypervolumeImprovement):
    pass


def _model_and_data():
    g = torch.Generator().manual_seed(4)
    X = torch.rand(18, 3, generator=g, dtype=torch.float64)
    Y = torch.stack([torch.sin(4 * X[:, 0]) + X[:, 1], X[:, 2] * X[:, 0] - X[:, 1], X.sum(-1) - 1.6], -1)
    model = SingleTaskGP(X, Y)
    gp_fit.fit(model, maxiter=100)
    return model.eval(), X, g


def _pair(model, X, constrained: bool, pending):
    kwargs = dict(
        model=model, ref_point=torch.tensor([-0.5, -1.0], dtype=torch.float64), X_baseline=X,
        objective=IdentityMCMultiOutputObjective(outcomes=[0, 1]),
        constraints=[lambda Y: Y[..., 2]] if constrained else None, X_pending=pending,
    )
    out = []
    for cls in (qLogNoisyExpectedHypervolumeImprovement, _Fast):
        torch.manual_seed(0)
        out.append(cls(sampler=SobolQMCNormalSampler(torch.Size([64]), seed=1), **kwargs))
    return out


@pytest.mark.parametrize("constrained", [False, True])
@pytest.mark.parametrize("q", [1, 2])
def test_values_and_gradients_equal_botorch(constrained, q, monkeypatch):
    model, X, g = _model_and_data()
    reference, fast = _pair(model, X, constrained, pending=torch.rand(2, 3, generator=g, dtype=torch.float64))
    if botorch_logei._C is None:
        # CI has a compiler: there a missing kernel means the fast path went untested.
        assert not os.environ.get("CI"), "BoTorch's fused log-EHVI kernel did not build in CI"
        pytest.skip("BoTorch's fused log-EHVI kernel did not build here; the fast path needs it")
    calls = []
    parent = qLogNoisyExpectedHypervolumeImprovement._compute_log_qehvi
    monkeypatch.setattr(
        qLogNoisyExpectedHypervolumeImprovement, "_compute_log_qehvi",
        lambda self, *a, **k: calls.append(type(self)) or parent(self, *a, **k),
    )
    candidates = torch.rand(24, q, 3, generator=g, dtype=torch.float64).requires_grad_()
    expected, actual = reference(candidates), fast(candidates)
    assert torch.isfinite(expected).all() and expected.max() > -10 and expected.std() > 0.1
    np.testing.assert_allclose(actual.detach().numpy(), expected.detach().numpy(), rtol=1e-12, atol=1e-12)
    (grad_expected,) = torch.autograd.grad(expected.sum(), candidates)
    (grad_actual,) = torch.autograd.grad(actual.sum(), candidates)
    assert grad_expected.abs().max() > 0
    np.testing.assert_allclose(grad_actual.numpy(), grad_expected.numpy(), rtol=1e-10, atol=1e-12)
    # One candidate skips BoTorch's batch path; two take it.
    assert calls == ([qLogNoisyExpectedHypervolumeImprovement] if q == 1 else [qLogNoisyExpectedHypervolumeImprovement, _Fast])
