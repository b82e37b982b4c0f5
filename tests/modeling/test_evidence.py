import math

import pytest
import torch

from adaptive.modeling.fit import log_evidence


def _inputs(n=15, d=2, seed=0):
    return torch.rand(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_log_evidence_is_in_the_columns_units():
    X = _inputs()
    y = torch.sin(6 * X[:, :1]) + X[:, 1:]
    # An affine change of units changes the density of the values by its Jacobian only.
    ev = log_evidence(X, torch.cat([y, 3.0 * y + 5.0, -0.5 * y], dim=-1))
    assert ev.shape == (3,)
    assert ev[1].item() == pytest.approx(ev[0].item() - len(y) * math.log(3.0), abs=1e-6)
    assert ev[2].item() == pytest.approx(ev[0].item() - len(y) * math.log(0.5), abs=1e-6)


def test_log_evidence_is_the_gp_density_of_the_values_and_prefers_structure():
    X = _inputs(20)
    y = torch.sin(6 * X[:, :1]) + X[:, 1:]
    shuffled = y[torch.randperm(len(y), generator=torch.Generator().manual_seed(1))]
    smooth, scrambled = log_evidence(X, torch.cat([y, shuffled], dim=-1)).tolist()
    assert smooth > scrambled + 10  # the same values, but as a smooth function of X
    # Values no GP can relate to X: about the density of iid Gaussian values (not more).
    noise = torch.randn(40, 1, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    (ev,) = log_evidence(_inputs(40, seed=3), noise).tolist()
    iid = torch.distributions.Normal(noise.mean(), noise.std()).log_prob(noise).sum().item()
    assert ev == pytest.approx(iid, abs=3.0)
