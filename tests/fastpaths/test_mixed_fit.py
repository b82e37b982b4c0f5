"""Parity: the space-with-choices model's plain-tensor loss and closed-form fit against GPyTorch's."""

import math

import numpy as np
import pytest
import torch
from botorch.fit import fit_gpytorch_mll
from botorch.optim.closures import get_loss_closure
from botorch.optim.fit import fit_gpytorch_mll_scipy
from gpytorch.mlls import ExactMarginalLogLikelihood

from adaptive._fastpaths import mixed_fit as F
from adaptive.modeling import categorical as C
from tests.modeling.test_categorical import _data  # the same mixed-space data as the kernel's tests


@pytest.mark.parametrize("m, fixed", [(1, False), (2, False), (2, True)])
def test_plain_tensor_loss_equals_botorchs(m, fixed):
    X, Y, groups = _data(m=m)
    model = C.mixed_model(X, Y, torch.full_like(Y, 0.01) if fixed else None, groups)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(torch.exp(0.3 * torch.randn_like(p))).add_(0.05)
    mll = ExactMarginalLogLikelihood(model.likelihood, model)
    mll.train()
    with torch.no_grad():
        assert float(F.negative_mll(model)) == pytest.approx(float(get_loss_closure(mll)().sum()), rel=1e-10)


def test_closed_form_gradient_and_fit():
    X, Y, groups = _data(m=1)
    model = C.mixed_model(X, Y, None, groups)
    Xn = X.numpy()
    cont = model.covar_module.continuous
    D = (Xn[:, None, cont] - Xn[None, :, cont]) ** 2
    H = np.stack([1.0 - Xn[:, g] @ Xn[:, g].T for g in groups], -1)
    y = model.train_targets.numpy()
    rng = np.random.default_rng(0)
    theta = np.concatenate([[0.1], rng.uniform(0.3, 2, 3), rng.uniform(0.2, 3, 2 * len(cont)), rng.uniform(0.2, 3, 4), [0.05]])
    priors = ((math.sqrt(2) + 0.5 * math.log(len(cont)), math.sqrt(3)), (-4.0, 1.0))
    value, grad = F._mixed_loss(theta, D, H, y, None, *priors)
    eps = 1e-6
    numeric = [(F._mixed_loss(theta + eps * e, D, H, y, None, *priors)[0]
                - F._mixed_loss(theta - eps * e, D, H, y, None, *priors)[0]) / (2 * eps) for e in np.eye(len(theta))]
    assert np.allclose(grad, numeric, rtol=1e-5, atol=1e-7)
    # The closed-form fit ends at least as low as BoTorch's optimizer on the same loss.
    ours, theirs = C.mixed_model(X, Y, None, groups), C.mixed_model(X, Y, None, groups)
    F.fit(ours, maxiter=200)
    mll = ExactMarginalLogLikelihood(theirs.likelihood, theirs)
    fit_gpytorch_mll(mll, closure=F.closure(mll), optimizer=fit_gpytorch_mll_scipy, optimizer_kwargs={"options": {"maxiter": 200}})
    ours.train(), theirs.train()
    assert float(F.negative_mll(ours)) <= float(F.negative_mll(theirs)) + 1e-4
