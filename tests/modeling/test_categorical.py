"""The categorical covariance for unordered choices and its closed-form fit."""

import math

import numpy as np
import pytest
import torch
from botorch.fit import fit_gpytorch_mll
from botorch.optim.closures import get_loss_closure
from botorch.optim.fit import fit_gpytorch_mll_scipy
from gpytorch.mlls import ExactMarginalLogLikelihood

import adaptive as ad
from adaptive.modeling import categorical as C
from adaptive.modeling import fit_models, metric_data
from adaptive.trial import Observation, Trial, TrialStatus


def _data(n=24, m=1, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.rand(n, 7, dtype=torch.float64, generator=g)
    X[:, 2:5] = torch.nn.functional.one_hot(torch.randint(0, 3, (n,), generator=g), 3).double()
    X[:, 5:7] = torch.nn.functional.one_hot(torch.randint(0, 2, (n,), generator=g), 2).double()
    f = torch.sin(5 * X[:, 0]) + X[:, 1] ** 2 + X[:, 3] * X[:, 0] - X[:, 4] + 0.5 * X[:, 5]
    Y = torch.stack([f + 0.05 * torch.randn(n, dtype=torch.float64, generator=g) for _ in range(m)], -1)
    return X, Y, [[2, 3, 4], [5, 6]]


def test_kernel_is_a_function_of_the_categories():
    X, _, groups = _data()
    k = C.MixedCovariance(7, groups).to(X)
    with torch.no_grad():
        k.raw_category_lengthscale.copy_(torch.tensor([[0.3, 1.5], [2.0, 0.7]]))
        k.raw_outputscale.copy_(torch.tensor([0.2, -0.5, 1.0]))
        K = k.forward(X, X)
        assert torch.allclose(K, K.T) and torch.linalg.eigvalsh(K).min() > -1e-10
        assert torch.allclose(k.forward(X, X, diag=True), torch.diagonal(K))
        # Two rows with the same continuous values: the covariance follows the categories alone.
        a, b = X[:1].clone(), X[:1].clone()
        b[0, 2:5] = torch.tensor([0.0, 0.0, 1.0]) if a[0, 4] == 0 else torch.tensor([1.0, 0.0, 0.0])
        s, cls = k.outputscale, k.category_lengthscale
        expected = s[0] * (1 + s[1] * math.exp(-(1 / cls[0, 0]) / 2)) + s[2] * math.exp(-(1 / cls[1, 0]) / 2)
        assert float(k.forward(a, b)) == pytest.approx(float(expected))


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
        assert float(C.negative_mll(model)) == pytest.approx(float(get_loss_closure(mll)().sum()), rel=1e-10)


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
    value, grad = C._mixed_loss(theta, D, H, y, None, *priors)
    eps = 1e-6
    numeric = [(C._mixed_loss(theta + eps * e, D, H, y, None, *priors)[0]
                - C._mixed_loss(theta - eps * e, D, H, y, None, *priors)[0]) / (2 * eps) for e in np.eye(len(theta))]
    assert np.allclose(grad, numeric, rtol=1e-5, atol=1e-7)
    # The closed-form fit ends at least as low as BoTorch's optimizer on the same loss.
    ours, theirs = C.mixed_model(X, Y, None, groups), C.mixed_model(X, Y, None, groups)
    C.fit(ours, maxiter=200)
    mll = ExactMarginalLogLikelihood(theirs.likelihood, theirs)
    fit_gpytorch_mll(mll, closure=C.closure(mll), optimizer=fit_gpytorch_mll_scipy, optimizer_kwargs={"options": {"maxiter": 200}})
    ours.train(), theirs.train()
    assert float(C.negative_mll(ours)) <= float(C.negative_mll(theirs)) + 1e-4


def test_spaces_with_choices_get_the_categorical_model():
    space = ad.SearchSpace({"x": ad.Float(0, 1), "kind": ad.Choice(["a", "b", "c"]), "n": ad.Int(1, 4)})
    rng = np.random.default_rng(0)
    trials = []
    for i in range(12):
        params = {"x": float(rng.random()), "kind": ["a", "b", "c"][i % 3], "n": int(rng.integers(1, 5))}
        trials.append(Trial(i, "e", TrialStatus.COMPLETED, "online", params, "manual", None,
                            observations={"y": Observation(params["x"] + (params["kind"] == "b"), None)}))
    data = metric_data(trials, space, "y", source="online", device=torch.device("cpu"))
    assert data.categorical == ((1, 2, 3),)
    model = fit_models([data], seed=0)
    assert type(model.covar_module) is C.MixedCovariance
    with torch.no_grad():
        b = space.encode([{"x": 0.5, "kind": "b", "n": 2}])
        a = space.encode([{"x": 0.5, "kind": "a", "n": 2}])
        assert float(model.posterior(b).mean) > float(model.posterior(a).mean) + 0.5
    plain = ad.SearchSpace({"x": ad.Float(0, 1), "n": ad.Int(1, 4)})
    assert metric_data(trials, plain, "y", source="online", device=torch.device("cpu")).categorical == ()
