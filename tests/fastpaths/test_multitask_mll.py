"""The multi-task GP's loss in plain tensors is BoTorch's loss, and fits land on the same optimum."""

from __future__ import annotations

import copy

import pytest
import torch
from botorch.fit import fit_gpytorch_mll
from botorch.models import MultiTaskGP, SingleTaskGP
from botorch.models.transforms.input import Normalize
from botorch.optim.closures import get_loss_closure_with_grads
from botorch.optim.fit import fit_gpytorch_mll_scipy
from botorch.optim.utils import get_parameters
from gpytorch.mlls import ExactMarginalLogLikelihood

from adaptive._fastpaths import multitask_mll
from adaptive.modeling.data import MetricData
from adaptive.modeling.multitask import build_multitask


def _data(fixed_noise: bool, seed: int = 0) -> MetricData:
    g = torch.Generator().manual_seed(seed)
    X = torch.rand(30, 3, dtype=torch.float64, generator=g)
    task = (torch.arange(30) >= 8).double().unsqueeze(-1)
    Y = torch.sin(4 * X[:, :1]) + 0.3 * task * X[:, 1:2] + 0.05 * torch.randn(30, 1, generator=g, dtype=torch.float64)
    return MetricData("m", X, Y, torch.full_like(Y, 0.02) if fixed_noise else None, tuple(range(30)), task, ("a", "b"))


def _loss_and_grads(closure):
    value, grads = closure()
    return float(value), [None if g is None else g.clone() for g in grads]


@pytest.mark.parametrize("fixed_noise", [False, True])
def test_loss_and_gradient_equal_botorchs(fixed_noise):
    data = _data(fixed_noise)
    model = build_multitask(data, data.Yvar)
    assert multitask_mll.supports(model)
    mll = ExactMarginalLogLikelihood(model.likelihood, model).train()
    # Away from the initial values, so that every term (priors, task covariance) matters.
    with torch.no_grad():
        for p in get_parameters(mll, requires_grad=True).values():
            p.add_(0.3 * torch.randn(p.shape, generator=torch.Generator().manual_seed(1), dtype=p.dtype))
    expected, expected_grads = _loss_and_grads(get_loss_closure_with_grads(mll, get_parameters(mll, requires_grad=True)))
    actual, actual_grads = _loss_and_grads(multitask_mll.closure(mll))
    assert actual == pytest.approx(expected, rel=1e-10)
    for e, a in zip(expected_grads, actual_grads):
        torch.testing.assert_close(a, e, rtol=1e-8, atol=1e-10)


def test_fit_reaches_botorchs_optimum():
    data = _data(False, seed=2)
    model = build_multitask(data, None)
    reference = copy.deepcopy(model)
    options = {"options": {"maxiter": 200}}
    fit_gpytorch_mll(ExactMarginalLogLikelihood(reference.likelihood, reference), optimizer_kwargs=options)
    mll = ExactMarginalLogLikelihood(model.likelihood, model)
    fit_gpytorch_mll(mll, closure=multitask_mll.closure(mll), optimizer=fit_gpytorch_mll_scipy, optimizer_kwargs=options)

    def botorch_loss(m):
        m_mll = ExactMarginalLogLikelihood(m.likelihood, m).train()
        return _loss_and_grads(get_loss_closure_with_grads(m_mll, get_parameters(m_mll, requires_grad=True)))[0]

    # The same optimum: equal loss (BoTorch's), and equal parameters up to the optimizer's
    # stopping point in flat directions (a lengthscale of an almost irrelevant input).
    assert botorch_loss(model) == pytest.approx(botorch_loss(reference), abs=1e-5)
    for (name, expected), (_, actual) in zip(reference.named_parameters(), model.named_parameters()):
        torch.testing.assert_close(actual, expected, rtol=1e-2, atol=1e-3, msg=name)


def test_only_the_default_multitask_structure_is_supported():
    data = _data(False)
    assert not multitask_mll.supports(SingleTaskGP(data.X, data.Y))
    train_X = torch.cat([data.X, data.task], dim=-1)
    normalized = MultiTaskGP(train_X, data.Y, task_feature=-1, input_transform=Normalize(d=4))
    assert not multitask_mll.supports(normalized)
