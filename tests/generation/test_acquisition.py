"""Acquisition on standardized outputs gives the same values as on the model in metric units."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from botorch.models import SingleTaskGP

import adaptive as ad
from adaptive._fastpaths import gp_fit
from adaptive.generation.acquisition import build_acquisition, standardized_outputs
from adaptive.objectives import OptimizationConfig


def _model(X, Y):
    model = SingleTaskGP(X, Y)
    gp_fit.fit(model, maxiter=100)
    return model.eval()


@pytest.mark.parametrize("objectives", [1, 2])
def test_standardized_outputs_leave_acquisition_values_unchanged(objectives):
    g = torch.Generator().manual_seed(0)
    X = torch.rand(15, 3, generator=g, dtype=torch.float64)
    f0 = 10 + 5 * torch.sin(4 * X[:, 0]) + X[:, 1]
    f1 = 200 - 80 * X[:, 2] * X[:, 0]
    cost = 3 * X.sum(-1)
    if objectives == 1:
        config = OptimizationConfig.build([ad.Maximize("f0")], ["cost <= 4.5"])
        Y = torch.stack([f0, cost], -1)
        ref = None
    else:
        config = OptimizationConfig.build([ad.Maximize("f0", threshold=8.0), ad.Minimize("f1", threshold=190.0)], ["cost >= 1.5"])
        Y = torch.stack([f0, f1, cost], -1)
        ref = np.array([8.0, -190.0])
    model = _model(X, Y)
    pending = torch.rand(2, 3, generator=g, dtype=torch.float64)
    kwargs = dict(X_baseline=X, X_pending=pending, ref_point=ref, mc_samples=64, seed=3)
    # Pruning the baseline draws from torch's global generator: the same seed for both.
    torch.manual_seed(0)
    plain = build_acquisition(copy.deepcopy(model), config, **kwargs)
    bare, affine = standardized_outputs(copy.deepcopy(model))
    assert affine is not None and not hasattr(bare, "outcome_transform")
    np.testing.assert_allclose(affine[0].numpy(), Y.mean(0).numpy())
    torch.manual_seed(0)
    folded = build_acquisition(bare, config, affine=affine, **kwargs)
    candidates = torch.rand(32, 2, 3, generator=g, dtype=torch.float64)
    with torch.no_grad():
        expected, actual = plain(candidates), folded(candidates)
    assert torch.isfinite(expected).all()
    np.testing.assert_allclose(actual.numpy(), expected.numpy(), rtol=1e-8, atol=1e-8)


def test_only_plain_standardized_single_task_models_are_changed():
    from botorch.models import ModelListGP

    X = torch.rand(6, 2, dtype=torch.float64)
    listed = ModelListGP(SingleTaskGP(X, X[:, :1]))
    assert standardized_outputs(listed) == (listed, None)
    raw = SingleTaskGP(X, X[:, :1], outcome_transform=None)
    assert standardized_outputs(raw) == (raw, None)
