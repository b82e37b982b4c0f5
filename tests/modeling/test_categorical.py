"""The categorical covariance for unordered choices (its fits: tests/fastpaths/test_mixed_fit.py)."""

import math

import numpy as np
import pytest
import torch

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
