import math

import pytest
import torch

import adaptive as ad
from adaptive.generation.acquisition import outcome_constraint_callables
from adaptive.generation.transforms import bilog, bilog_constraint_metrics
from adaptive.modeling import MetricData
from adaptive.objectives import OptimizationConfig


def test_bilog_is_monotone_zero_at_the_bound_and_keeps_feasibility():
    y = torch.linspace(-50, 50, 1001, dtype=torch.float64)
    z = bilog(y, 3.0)
    assert torch.all(torch.diff(z) > 0)
    assert bilog(torch.tensor([3.0]), 3.0).item() == 0.0
    assert torch.equal(z <= 0, y <= 3.0)
    assert z.abs().max() < 4.0  # far values are compressed


def _data(metric, Y, Yvar=None):
    Y = torch.tensor(Y, dtype=torch.float64).unsqueeze(-1)
    X = torch.rand(len(Y), 1, dtype=torch.float64)
    return MetricData(metric, X, Y, None if Yvar is None else torch.tensor(Yvar, dtype=torch.float64).unsqueeze(-1), tuple(range(len(Y))))


def test_only_singly_constrained_metrics_are_transformed():
    config = OptimizationConfig.build([ad.Maximize("f")], ["c <= 1", "r >= 0", "r <= 5"])
    datas = [_data("f", [1.0, 2.0]), _data("c", [0.0, 3.0], [0.04, 0.04]), _data("r", [1.0, 2.0])]
    out, transformed = bilog_constraint_metrics(datas, config)
    assert transformed == {"c"}
    assert out[0] is datas[0] and out[2] is datas[2]
    assert out[1].Y.squeeze().tolist() == pytest.approx([-math.log(2.0), math.log(3.0)])
    assert out[1].Yvar.squeeze().tolist() == pytest.approx([0.04 / 4, 0.04 / 9])  # delta method: var / (1 + |y - b|)^2
    c_upper, r_lower, r_upper = outcome_constraint_callables(config, frozenset(transformed))
    samples = torch.tensor([[5.0, 0.2, 1.0]], dtype=torch.float64)  # outputs ordered f, c, r
    assert c_upper(samples).item() == 0.2  # transformed: bound 0
    assert r_lower(samples).item() == -1.0 and r_upper(samples).item() == -4.0
