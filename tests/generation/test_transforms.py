import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from scipy import stats

import adaptive as ad
from adaptive.analysis.hypervolume import hypervolume
from adaptive.generation.acquisition import outcome_constraint_callables
from adaptive.generation.transforms import (
    bilog,
    bilog_constraint_metrics,
    compress_beyond_reference,
    warp_single_objective,
    yeo_johnson,
    yeo_johnson_slope,
)
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


def _on_grid(metric, function, n=16, d=3, seed=0):
    X = torch.rand(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    Y = function(X).unsqueeze(-1)
    return MetricData(metric, X, Y, None, tuple(range(n)))


def test_bilog_is_chosen_where_a_gp_models_the_values_better_with_it():
    config = OptimizationConfig.build([ad.Maximize("f")], ["stress <= 0", "slack <= 0", "load <= 0"])
    # Exponential away from the limit on both sides: bilog makes it linear.
    stress = _on_grid("stress", lambda X: torch.sign(X[:, 0] - 0.3) * torch.expm1(15 * (X[:, 0] - 0.3).abs()))
    slack = _on_grid("slack", lambda X: 40 * X[:, 0] - 15 * X[:, 1] - 10)  # a linear constraint over a box
    # Smooth but heavy-tailed across the box (a few values far beyond the rest): its values
    # alone look more Gaussian bilogged, yet as a function of the parameters a GP fits it
    # better in its units.
    load = _on_grid("load", lambda X: 1e4 * X[:, 0] ** 4 - 50)
    z = load.Y.squeeze(-1)  # the bound is 0
    t = torch.sign(z) * torch.log1p(z.abs())
    marginal_gain = -0.5 * len(z) * math.log(t.var(unbiased=False) / z.var(unbiased=False)) - float(torch.log1p(z.abs()).sum())
    assert marginal_gain > 0  # the marginal test would have chosen bilog
    out, transformed = bilog_constraint_metrics([stress, slack, load], config)
    assert transformed == {"stress"}
    assert out[1] is slack and out[2] is load  # kept in their units, bounds unchanged
    assert out[0].Y.squeeze(-1).tolist() == pytest.approx(bilog(stress.Y, 0.0).squeeze(-1).tolist())
    _, c_slack, _ = outcome_constraint_callables(config, frozenset(transformed))
    assert c_slack(torch.tensor([[0.0, 0.0, 3.0, 0.0]], dtype=torch.float64)).item() == 3.0


def test_the_bilog_choice_judges_the_modelled_sources_rows():
    config = OptimizationConfig.build([ad.Maximize("f")], ["slack <= 0"])
    slack = _on_grid("slack", lambda X: 40 * X[:, 0] - 15 * X[:, 1] - 8)  # linear: its units
    assert bilog_constraint_metrics([slack], config)[1] == set()
    # A simulator whose values grow exponentially would choose bilog if its rows were pooled.
    sim = _on_grid("slack", lambda X: torch.sign(X[:, 0] - 0.3) * torch.expm1(15 * (X[:, 0] - 0.3).abs()), seed=1)
    assert bilog_constraint_metrics([sim], config)[1] == {"slack"}
    both = replace(
        slack, X=torch.cat([slack.X, sim.X]), Y=torch.cat([slack.Y, sim.Y]), trial_ids=tuple(range(32)),
        task=torch.cat([torch.zeros(16, 1), torch.ones(16, 1)]).double(), sources=("online", "sim"),
    )
    out, transformed = bilog_constraint_metrics([both], config)
    assert transformed == set() and out[0] is both


def test_yeo_johnson_is_increasing_identity_at_power_one_and_its_slope_is_the_derivative():
    z = np.linspace(-5.0, 5.0, 201)
    for lam in (-1.5, 0.0, 0.5, 1.0, 2.0, 3.0):
        t = yeo_johnson(z, lam)
        assert np.all(np.diff(t) > 0)
        h = 1e-6
        numeric = (yeo_johnson(z + h, lam) - yeo_johnson(z - h, lam)) / (2 * h)
        assert yeo_johnson_slope(z, lam) == pytest.approx(numeric, rel=1e-6)
    assert yeo_johnson(z, 1.0) == pytest.approx(z)


def _skewed(n=30, seed=0):
    """Hartmann-like values: mostly near 0, a few far better (lower)."""
    return (-np.random.default_rng(seed).exponential(0.3, n) ** 2).tolist()


def test_a_single_objective_is_warped_towards_symmetry_in_the_same_order():
    y = np.array(_skewed())
    config = OptimizationConfig.build([ad.Minimize("f")], ["c <= 1"])
    datas = [_data("f", y.tolist()), _data("c", [0.5] * len(y))]
    out = warp_single_objective(datas, config)
    assert out[1] is datas[1]
    warped = out[0].Y.squeeze(-1).numpy()
    z = (y - y.mean()) / y.std()
    assert warped == pytest.approx(stats.yeojohnson(z)[0])
    assert np.array_equal(np.argsort(warped), np.argsort(y))  # the optimum stays where it was
    assert abs(stats.skew(warped)) < 0.2 * abs(stats.skew(y))
    assert torch.equal(out[0].X, datas[0].X) and out[0].trial_ids == datas[0].trial_ids


def test_known_sems_follow_the_warp_by_the_delta_method():
    y = np.array(_skewed(12, seed=1))
    yvar = np.full(len(y), 1e-4)
    config = OptimizationConfig.build([ad.Maximize("f")], [])
    (out,) = warp_single_objective([_data("f", y.tolist(), yvar.tolist())], config)
    z = (y - y.mean()) / y.std()
    lam = stats.yeojohnson_normmax(z)
    h = 1e-7
    slope = (yeo_johnson(z + h / y.std(), lam) - yeo_johnson(z - h / y.std(), lam)) / (2 * h)  # d warped / d y
    assert out.Yvar.squeeze(-1).numpy() == pytest.approx(yvar * slope**2, rel=1e-5)


def test_the_objective_stays_in_its_units_where_a_warp_would_be_wrong_or_meaningless():
    y = _skewed(10)
    # Several objectives: hypervolume of warped values is not the hypervolume that counts.
    two = OptimizationConfig.build([ad.Minimize("f"), ad.Minimize("g")], [])
    datas = [_data("f", y), _data("g", y)]
    assert all(a is b for a, b in zip(warp_single_objective(datas, two), datas))
    one = OptimizationConfig.build([ad.Minimize("f")], [])
    # Too few rows, constant values, several sources.
    for short in (_data("f", y[:2]), _data("f", [0.3] * 6)):
        assert warp_single_objective([short], one)[0] is short
    multi = replace(_data("f", y), task=torch.zeros(len(y), 1, dtype=torch.float64), sources=("online", "sim"))
    assert warp_single_objective([multi], one)[0] is multi


def test_objectives_beyond_the_reference_point_are_compressed_and_every_hypervolume_kept():
    config = OptimizationConfig.build([ad.Minimize("deflection", threshold=0.015), ad.Maximize("stiffness", threshold=2.0)], [])
    ref = np.array([-0.015, 2.0])  # signed: larger is better
    deflection = [0.001, 0.004, 0.012, 0.02, 3.0, 17500.0]
    stiffness = [1.0, 2.5, 3.0, 5.0, -400.0, 2.2]
    datas = [_data("deflection", deflection, [1e-6] * 6), _data("stiffness", stiffness)]
    out, compressed = compress_beyond_reference(datas, config, ref)
    assert compressed == {"deflection", "stiffness"}
    d, s = out[0].Y.squeeze(), out[1].Y.squeeze()
    # Values that beat the reference point are untouched; the rest keep their order and side.
    assert d[:3].tolist() == deflection[:3] and s[1:4].tolist() == stiffness[1:4] and s[5].item() == 2.2
    assert torch.all(torch.diff(d) > 0) and torch.equal(torch.argsort(s), torch.argsort(torch.tensor(stiffness)))
    assert bool((d[3:] > 0.015).all()) and bool((s[[0, 4]] < 2.0).all())
    # Decades beyond the threshold shrink to a few of the good side's spans (0.014 here).
    assert d[-1].item() < 0.015 + 0.014 * math.log1p(17500 / 0.014) + 1e-9 and d[-1].item() < 0.3
    # Slope 1 at the reference point: the sems there are kept, far out they shrink.
    assert out[0].Yvar.squeeze()[3].item() == pytest.approx(1e-6, rel=0.5) and out[0].Yvar.squeeze()[5].item() < 1e-12
    # Every subset's hypervolume is the same in the compressed values.
    before = np.stack([-np.array(deflection), np.array(stiffness)], -1)
    after = np.stack([-d.numpy(), s.numpy()], -1)
    rng = np.random.default_rng(0)
    for _ in range(20):
        rows = rng.random(6) < 0.6
        assert hypervolume(after[rows], ref) == pytest.approx(hypervolume(before[rows], ref), rel=1e-12)
    assert hypervolume(before, ref) > 0


def test_compression_leaves_single_objectives_few_rows_and_nearby_bad_values_alone():
    one = OptimizationConfig.build([ad.Minimize("f", threshold=1.0)], [])
    datas = [_data("f", [0.5, 2.0, 900.0])]
    assert compress_beyond_reference(datas, one, np.array([-1.0]))[1] == set()
    two = OptimizationConfig.build([ad.Minimize("f", threshold=1.0), ad.Minimize("g", threshold=1.0)], [])
    ref = np.array([-1.0, -1.0])
    assert compress_beyond_reference([_data("f", [0.5, 900.0]), _data("g", [0.5, 900.0])], two, ref)[1] == set()
    # Nothing beyond the reference point, or bad values within 100 good-side spans (0.5 here): as they are.
    datas = [_data("f", [0.5, 0.7, 0.9]), _data("g", [0.5, 20.0, 50.9])]
    out, compressed = compress_beyond_reference(datas, two, ref)
    assert compressed == set() and out[0] is datas[0] and out[1] is datas[1]
    out, compressed = compress_beyond_reference([datas[0], _data("g", [0.5, 20.0, 51.1])], two, ref)
    assert compressed == {"g"}
