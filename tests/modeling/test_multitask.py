"""Multi-task GPs over sources: model choice by LOO evidence, source report, per-source proposals."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest
import torch
from botorch.models import MultiTaskGP, SingleTaskGP

import adaptive as ad
from adaptive.modeling import MetricData, compare_sources, fit_metric_model, metric_data
from adaptive.modeling.loo import loo_errors, loo_predictions
from adaptive.modeling.multitask import build_multitask


def online(p: dict) -> float:
    return -4 * ((p["x"] - 0.3) ** 2 + (p["y"] - 0.6) ** 2) + math.sin(5 * p["x"])


def make(url: str, simulator, *, n_sim: int = 30, n_online: int = 6, seed: int = 0, name: str = "mt") -> ad.Experiment:
    exp = ad.create_experiment(
        name, parameters={"x": ad.Float(0, 1), "y": ad.Float(0, 1)}, objectives=ad.Maximize("m"), storage=url,
        seed=seed, generation=ad.GenerationSettings(initial_trials=4),
    )
    rng = np.random.default_rng(seed)
    for _ in range(n_sim):
        p = {"x": float(rng.random()), "y": float(rng.random())}
        exp.attach(p, {"m": simulator(p)}, source="simulator")
    for _ in range(n_online):
        p = {"x": float(rng.random()), "y": float(rng.random())}
        exp.attach(p, {"m": online(p)})
    return exp


def shifted(p: dict) -> float:
    return online(p) - 0.5


def useless(p: dict) -> float:
    return math.cos(9 * p["y"] + 3 * p["x"])


def test_loo_errors_match_refitting_without_each_row():
    torch.manual_seed(0)
    X = torch.rand(12, 2, dtype=torch.float64)
    Y = torch.sin(4 * X[:, :1]) + 0.05 * torch.randn(12, 1, dtype=torch.float64)
    data = MetricData("m", X, Y, None, tuple(range(12)))
    model = fit_metric_model(data)
    errors = loo_errors(model)
    same_errors, sds = loo_predictions(model)
    assert torch.equal(errors, same_errors)
    state = {k: v for k, v in model.state_dict().items()}
    for i in (0, 5, 11):
        keep = torch.arange(12) != i
        held = SingleTaskGP(X[keep], Y[keep], outcome_transform=None)
        # Same hyperparameters and the same standardization as the full model.
        mean, std = model.outcome_transform.means, model.outcome_transform.stdvs
        held = SingleTaskGP(X[keep], (Y[keep] - mean) / std, outcome_transform=None)
        held.load_state_dict({k: v for k, v in state.items() if not k.startswith("outcome_transform")}, strict=False)
        held.eval()
        with torch.no_grad():
            posterior = held.posterior(X[i : i + 1])
            predicted = posterior.mean.squeeze() * std.squeeze() + mean.squeeze()
            sd = posterior.variance.squeeze().sqrt() * std.squeeze()  # of the noiseless value
        assert float(errors[i]) == pytest.approx(float(Y[i, 0] - predicted), rel=1e-5, abs=1e-8)
        assert float(sds[i]) == pytest.approx(float(sd), rel=1e-5)


def test_shifted_simulator_helps_and_its_bias_is_measured(sqlite_url):
    exp = make(sqlite_url, shifted)
    report = exp.source_report()
    assert list(report["source"]) == ["simulator"]
    row = report.iloc[0]
    assert row["target_rows"] == 6 and row["source_rows"] == 30
    # A constant shift is exactly what the bias-corrected model describes: offset 0.5, weight 1.
    assert row["model"] == "bias-corrected"
    assert row["scale"] == pytest.approx(1.0, abs=0.05)
    assert row["correlation"] > 0.8
    assert row["bias_mean"] == pytest.approx(0.5, abs=0.05)  # online minus simulator
    assert row["loo_rmse_bias_corrected"] < 0.05 * row["loo_rmse_target_only"]
    assert row["loo_rmse_all_sources"] < 0.5 * row["loo_rmse_target_only"]
    # Predictions of the online metric use the simulator: close to the truth away from online data.
    grid = [{"x": x, "y": y} for x in (0.1, 0.5, 0.9) for y in (0.2, 0.8)]
    predicted = exp.predict(grid)["m_mean"].to_numpy()
    truth = np.array([online(p) for p in grid])
    assert np.abs(predicted - truth).mean() < 0.15
    simulated = exp.predict(grid, source="simulator")["m_mean"].to_numpy()
    assert np.abs(simulated - (truth - 0.5)).max() < 0.15


def test_useless_simulator_is_ignored_and_the_choice_is_logged(sqlite_url, tmp_path, caplog):
    exp = make(sqlite_url, useless, n_online=8)
    with caplog.at_level(logging.INFO, logger="adaptive.modeling.fit"):
        report = exp.source_report()
    row = report.iloc[0]
    assert row["loo_rmse_all_sources"] > row["loo_rmse_target_only"]  # the multi-task model is rejected
    assert f"{row['model']} model" in caplog.text
    assert abs(row["scale"]) < 0.2  # the bias-corrected model gives the simulator almost no weight
    only = ad.create_experiment(
        "only", parameters={"x": ad.Float(0, 1), "y": ad.Float(0, 1)}, objectives=ad.Maximize("m"),
        storage=f"sqlite:///{tmp_path / 'only.db'}", seed=0,
    )
    for t in exp.trials(source="online"):
        only.attach(t.params, {"m": t.observations["m"].mean})
    grid = [{"x": x, "y": y} for x in np.linspace(0, 1, 6) for y in np.linspace(0, 1, 6)]
    if row["model"] == "single-source":  # ignoring the simulator: exactly the online-only predictions
        assert "ignoring them" in row["reason"]
        np.testing.assert_allclose(exp.predict(grid)["m_mean"], only.predict(grid)["m_mean"], rtol=1e-9)
    # Either way, predictions of online are no worse than ignoring the simulator.
    truth = np.array([online(p) for p in grid])
    error = np.sqrt(np.mean((exp.predict(grid)["m_mean"].to_numpy() - truth) ** 2))
    alone = np.sqrt(np.mean((only.predict(grid)["m_mean"].to_numpy() - truth) ** 2))
    assert error <= 1.1 * alone


def test_too_few_online_rows_use_every_source(sqlite_url):
    exp = make(sqlite_url, shifted, n_online=2)
    row = exp.source_report().iloc[0]
    assert row["model"] == "multi-task" and "too few" in row["reason"]
    assert math.isnan(row["loo_rmse_target_only"])


@pytest.mark.parametrize("n_online", [3, 4])
def test_a_few_online_rows_use_the_better_model_with_every_source(sqlite_url, n_online):
    # Over 3-4 rows the leave-one-out errors cannot show that a simulator helps by enough to
    # earn its place (even a useless one is used); they still pick between the two models with it.
    exp = make(sqlite_url, useless, n_online=n_online)
    row = exp.source_report().iloc[0]
    assert row["model"] in ("multi-task", "bias-corrected") and "too few to judge" in row["reason"]
    assert row["target_rows"] == n_online and math.isfinite(row["loo_rmse_target_only"])
    data = metric_data(exp.trials(), exp.search_space, "m", source="online", device=torch.device("cpu"), other_sources=True)
    choice = compare_sources(data, seed=exp.seed).choice
    assert choice.model == row["model"]
    assert choice.model == min(
        ("multi-task", "bias-corrected"), key={"multi-task": choice.loo_rmse_multi, "bias-corrected": choice.loo_rmse_corrected}.get
    )


def test_no_online_rows_yet_is_reported_not_raised(sqlite_url):
    exp = make(sqlite_url, shifted, n_online=0)
    row = exp.source_report().iloc[0]
    assert row["model"] == "none" and row["target_rows"] == 0
    with pytest.raises(ad.ValidationError, match="online"):
        exp.predict([{"x": 0.5, "y": 0.5}])


def test_single_source_experiment_has_an_empty_report(sqlite_url):
    exp = make(sqlite_url, shifted, n_sim=0)
    assert exp.source_report().empty


def test_simulator_proposals_aim_at_the_online_optimum(sqlite_url):
    # The simulator's own optimum is at x = 1 (a steep linear bias); online's is near x = 0.3.
    exp = make(sqlite_url, lambda p: online(p) + 4 * p["x"], n_sim=30, n_online=8)
    first = exp.suggest(2, source="simulator")
    assert [t.source for t in first] == ["simulator", "simulator"]
    assert {t.generator for t in first} == {"botorch"}
    assert all(t.params["x"] < 0.7 for t in first), [t.params for t in first]
    # Running simulator trials are pending for the simulator: the next call goes elsewhere.
    (second,) = exp.suggest(1, source="simulator")
    for t in first:
        assert math.dist(tuple(second.params.values()), tuple(t.params.values())) > 1e-3
    (on,) = exp.suggest(1)
    assert on.source == "online" and on.generator == "botorch"


def test_online_suggestions_use_simulator_knowledge(sqlite_url):
    exp = make(sqlite_url, shifted, n_sim=40, n_online=5)
    for _ in range(3):
        (t,) = exp.suggest(1)
        exp.complete(t.id, {"m": online(t.params)})
    best = max(t.observations["m"].mean for t in exp.trials(source="online"))
    optimum = max(online({"x": x, "y": 0.6}) for x in np.linspace(0, 1, 201))
    assert optimum - best < 0.1


def test_multi_objective_with_constraint_and_sems(sqlite_url):
    exp = ad.create_experiment(
        "moo", parameters={"x": ad.Float(0, 1), "y": ad.Float(0, 1)},
        objectives=[ad.Maximize("a", threshold=-2.0), ad.Maximize("b", threshold=-2.0)],
        outcome_constraints=["c <= 0.8"], storage=sqlite_url, seed=1, generation=ad.GenerationSettings(initial_trials=4),
    )

    def metrics(p: dict, offset: float) -> dict:
        return {
            "a": (online(p) + offset, 0.05), "b": (-((p["x"] - 0.8) ** 2) * 3 + offset, 0.05),
            "c": (p["y"] + offset, 0.02),
        }

    rng = np.random.default_rng(3)
    for _ in range(20):
        p = {"x": float(rng.random()), "y": float(rng.random())}
        exp.attach(p, metrics(p, 0.2), source="simulator")
    for _ in range(5):
        p = {"x": float(rng.random()), "y": float(rng.random())}
        exp.attach(p, metrics(p, 0.0))
    trials = exp.suggest(2)
    assert {t.generator for t in trials} == {"botorch"}
    report = exp.source_report()
    assert sorted(report["metric"]) == ["a", "b", "c"]
    assert (report["correlation"] > 0.5).all()
    assert report.set_index("metric").loc["c", "bias_mean"] == pytest.approx(-0.2, abs=0.05)
    frontier = exp.pareto_frontier(model=True)
    assert {"a_pred", "b_pred", "p_feasible"} <= set(frontier.columns)


def test_compare_sources_with_known_noise_uses_fixed_noise():
    torch.manual_seed(1)
    X = torch.rand(20, 1, dtype=torch.float64)
    task = torch.cat([torch.zeros(6, 1), torch.ones(14, 1)]).double()
    Y = torch.sin(6 * X) + 0.3 * task
    data = MetricData("m", X, Y, torch.full_like(Y, 1e-4), tuple(range(20)), task, ("online", "sim"))
    comparison = compare_sources(data)
    assert isinstance(comparison.multi, MultiTaskGP)
    noise = comparison.multi.likelihood.noise
    assert noise.shape[-1] == 20  # one fixed variance per row, not an inferred level
    assert comparison.choice.rows == {"online": 6, "sim": 14}
    with pytest.raises(ValueError, match="one source"):
        build_multitask(data.only(0), None)


def mll(model) -> float:
    from gpytorch.mlls import ExactMarginalLogLikelihood

    model.train()
    try:
        with torch.no_grad():
            out = model(*model.train_inputs)
            return float(ExactMarginalLogLikelihood(model.likelihood, model)(out, model.train_targets, *model.train_inputs))
    finally:
        model.eval()


def test_warm_starts_reuse_hyperparameters_only_while_data_are_similar():
    from adaptive.modeling import WarmStarts

    def data(n_online: int, seed: int = 2) -> MetricData:
        g = torch.Generator().manual_seed(seed)
        X = torch.rand(n_online + 20, 2, dtype=torch.float64, generator=g)
        task = torch.cat([torch.zeros(n_online, 1), torch.ones(20, 1)]).double()
        Y = torch.sin(5 * X[:, :1]) + 0.3 * task
        return MetricData("m", X, Y, None, tuple(range(n_online + 20)), task, ("online", "sim"))

    warm = WarmStarts()
    first = compare_sources(data(8), warm=warm)
    key = "'m' (multi-task ('online', 'sim'))"
    fresh = build_multitask(data(8), None)
    assert warm.load(key, fresh, rows=30)
    torch.testing.assert_close(fresh.covar_module.kernels[0].lengthscale, first.multi.covar_module.kernels[0].lengthscale)
    assert not warm.load(key, build_multitask(data(8), None), rows=60)  # grown too much: start cold
    assert not warm.load("other", build_multitask(data(8), None), rows=28)
    # Single-source fits never warm-start (they are fast, and warm starts hurt multi-objective runs).
    fit_metric_model(data(8).only(0), warm=warm)
    assert not any("'m' (('online',))" in k for k in warm._states)
    # A warm refit on a few more rows reaches an optimum of the marginal likelihood as good as a cold one's.
    more = data(10, seed=3)
    cold, hot = compare_sources(more).multi, compare_sources(more, warm=warm).multi
    assert mll(hot) >= mll(cold) - 0.05


def test_anti_correlated_simulator_is_used_with_a_negative_weight(sqlite_url):
    # The multi-task fit starts from agreeing sources and does not reach a correlation of -1;
    # the bias-corrected model learns a weight of -1 and predicts online almost exactly.
    exp = make(sqlite_url, lambda p: -online(p), n_online=8)
    row = exp.source_report().iloc[0]
    assert row["correlation"] < 0.5
    assert row["loo_rmse_bias_corrected"] < 0.1 * min(row["loo_rmse_all_sources"], row["loo_rmse_target_only"])
    assert row["model"] == "bias-corrected" and row["scale"] == pytest.approx(-1.0, abs=0.05)
    grid = [{"x": x, "y": y} for x in (0.1, 0.5, 0.9) for y in (0.2, 0.8)]
    truth = np.array([online(p) for p in grid])
    assert np.abs(exp.predict(grid)["m_mean"].to_numpy() - truth).max() < 0.1


def test_other_sources_fits_are_reused_while_their_rows_are_unchanged():
    from adaptive.modeling import WarmStarts

    g = torch.Generator().manual_seed(4)
    sim_X = torch.rand(20, 2, dtype=torch.float64, generator=g)
    online_X = torch.rand(10, 2, dtype=torch.float64, generator=g)

    def data(n_online: int, sim_shift: float = 0.3) -> MetricData:
        X = torch.cat([online_X[:n_online], sim_X])
        task = torch.cat([torch.zeros(n_online, 1), torch.ones(20, 1)]).double()
        Y = torch.sin(5 * X[:, :1]) + sim_shift * task
        return MetricData("m", X, Y, None, tuple(range(n_online + 20)), task, ("online", "sim"))

    warm = WarmStarts()
    first = compare_sources(data(6), warm=warm)
    # One more online trial: the simulator's own GP is the one fitted before ...
    second = compare_sources(data(7), warm=warm)
    assert second.others["sim"] is first.others["sim"]
    # ... and equal to a fresh fit of the same rows (fits depend on data and seed only).
    cold = compare_sources(data(7)).others["sim"]
    torch.testing.assert_close(cold.covar_module.lengthscale, second.others["sim"].covar_module.lengthscale)
    torch.testing.assert_close(cold.likelihood.noise, second.others["sim"].likelihood.noise)
    # Changed simulator rows, or another seed, are fitted anew.
    assert compare_sources(data(7, sim_shift=0.5), warm=warm).others["sim"] is not first.others["sim"]
    assert compare_sources(data(7), warm=warm, seed=1).others["sim"] is not first.others["sim"]


def test_the_fit_cache_evicts_the_least_recently_used_fit():
    from adaptive.modeling import WarmStarts

    def rows(shift: float) -> MetricData:
        X = torch.linspace(0, 1, 5, dtype=torch.float64).unsqueeze(-1)
        return MetricData("m", X, X + shift, None, tuple(range(5)))

    warm = WarmStarts()
    warm.MAX_FITS = 2
    fits: list[float] = []

    def cached(shift: float) -> object:
        return warm.fitted(rows(shift), 0, lambda: fits.append(shift) or torch.nn.Linear(1, 1))

    a, _ = cached(0.0), cached(1.0)
    assert cached(0.0) is a  # a hit: 0.0 becomes the most recently used
    cached(2.0)  # full: evicts 1.0, the least recently used, not 0.0 (the oldest)
    assert cached(0.0) is a
    cached(1.0)
    assert fits == [0.0, 1.0, 2.0, 1.0]


def test_fits_depend_on_data_and_seed_only_not_on_the_global_generator():
    # GPyTorch draws the multi-task kernel's initial values from torch's global generator;
    # fits seed it themselves, so what ran before in the process cannot change a model.
    g = torch.Generator().manual_seed(6)
    X = torch.rand(26, 2, dtype=torch.float64, generator=g)
    task = torch.cat([torch.zeros(6, 1), torch.ones(20, 1)]).double()
    Y = torch.cos(4 * X[:, :1]) + 0.2 * task
    data = MetricData("m", X, Y, None, tuple(range(26)), task, ("online", "sim"))
    fits = []
    for state in (1, 2):
        torch.manual_seed(state)
        before = torch.get_rng_state()
        fits.append(compare_sources(data).multi)
        assert torch.equal(torch.get_rng_state(), before)  # the caller's random state is left alone
    for (name, a), (_, b) in zip(fits[0].named_parameters(), fits[1].named_parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)


def test_the_bias_corrected_prior_carries_the_simulator_gps_uncertainty():
    from adaptive._fastpaths.gp_fit import fit
    from adaptive.modeling.corrected import build_corrected

    g = torch.Generator().manual_seed(8)
    X_sim = torch.rand(15, 2, generator=g, dtype=torch.float64) * 0.5  # simulator trials in one corner only
    simulator = SingleTaskGP(X_sim, torch.sin(6 * X_sim[:, :1]) + X_sim[:, 1:])
    fit(simulator, maxiter=200)
    simulator.eval()
    X = torch.rand(6, 2, generator=g, dtype=torch.float64)
    model = build_corrected(X, torch.sin(6 * X[:, :1]), None, [simulator])
    with torch.no_grad():
        model.mean_module.scale.fill_(0.7)
        points = torch.tensor([[0.25, 0.25], [0.95, 0.95], [0.9, 0.1]], dtype=torch.float64)
        added = model.covar_module.kernels[1](points, X).to_dense()
        joint = simulator.posterior(torch.cat([points, X])).distribution.covariance_matrix
        # b^2 times the simulator GP's posterior covariance (its metric's units) ...
        torch.testing.assert_close(added, 0.49 * joint[:3, 3:])
        # ... small where simulator trials are dense, large where there are none.
        spread = model.covar_module.kernels[1](points, points, diag=True)
        assert spread[0] < 0.05 * spread[1]


def test_stored_fits_restore_without_fitting_and_warm_states_round_trip(monkeypatch):
    import json

    from adaptive.modeling import WarmStarts
    from adaptive.modeling import fit as fit_module

    g = torch.Generator().manual_seed(4)
    X = torch.rand(26, 2, dtype=torch.float64, generator=g)
    task = torch.cat([torch.zeros(6, 1), torch.ones(20, 1)]).double()
    data = MetricData("m", X, torch.sin(5 * X[:, :1]) + 0.3 * task, None, tuple(range(26)), task, ("online", "sim"))
    warm = WarmStarts()
    first = compare_sources(data, warm=warm)
    records = warm.records()
    assert records and all(len(k) <= 200 for k in records)
    assert {k.split(":")[0] for k in records} == {"warm", "fit"}
    # A new process has the JSON records, no models: the simulator's GP is rebuilt, not refitted ...
    again = WarmStarts(json.loads(json.dumps(records)))
    fitted_rows = []
    real = fit_module._fit_single
    monkeypatch.setattr(fit_module, "_fit_single", lambda d, *, seed: fitted_rows.append(d.n) or real(d, seed=seed))
    second = compare_sources(data, warm=again)
    assert fitted_rows == [6]  # the online rows' own GP only; not the 20 simulator rows
    probe = torch.rand(5, 2, dtype=torch.float64, generator=g)
    with torch.no_grad():
        torch.testing.assert_close(second.others["sim"].posterior(probe).mean, first.others["sim"].posterior(probe).mean)
    # ... and the multi-task GP starts from the stored hyperparameters.
    key = "'m' (multi-task ('online', 'sim'))"
    fresh = build_multitask(data, None)
    assert WarmStarts(records).load(key, fresh, rows=26)
    torch.testing.assert_close(fresh.covar_module.kernels[0].lengthscale, first.multi.covar_module.kernels[0].lengthscale)
    assert WarmStarts(records).records() == {}  # nothing changed by loading


def test_a_fresh_load_per_suggest_proposes_what_a_long_lived_object_does(tmp_path):
    """The cron path (a new Experiment per suggest) and a notebook's long-lived object share
    the stored model states, so they make the same proposals."""
    urls = [f"sqlite:///{tmp_path / name}.db" for name in ("kept", "fresh")]
    exps = [make(url, shifted, n_sim=20, n_online=4) for url in urls]
    proposals = {0: [], 1: []}
    for _ in range(3):
        for i, url in enumerate(urls):
            exp = exps[0] if i == 0 else ad.load_experiment("mt", storage=url)
            (t,) = exp.suggest(1)
            proposals[i].append(t.params)
            exp.complete(t.id, {"m": online(t.params)})
    assert proposals[0] == proposals[1]
    db = ad.load_experiment("mt", storage=urls[1]).database
    from adaptive.storage import repository as repo

    states = db.run(lambda s: repo.model_states(s, repo.get_experiment(s, "mt").id), readonly=True)
    assert any(k.startswith("warm:") for k in states) and any(k.startswith("fit:") for k in states)


def test_a_multi_source_suggest_raises_no_third_party_warning(sqlite_url):
    import subprocess
    import sys

    # A fresh interpreter with the default warning filters (what a user sees): torch gives its
    # sparse-tensor notice once per process.
    code = (
        "import numpy as np, adaptive as ad\n"
        f"exp = ad.create_experiment('mt', storage={sqlite_url!r}, parameters={{'x': ad.Float(0, 1)}},"
        " objectives=ad.Maximize('m'), generation=ad.GenerationSettings(initial_trials=3), seed=0)\n"
        "for i in range(12): exp.attach({'x': i / 11}, {'m': np.sin(6 * i / 11)}, source='simulator')\n"
        "for x in (0.1, 0.5, 0.9): exp.attach({'x': x}, {'m': np.sin(6 * x) + 0.2})\n"
        "exp.suggest(1)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr, result.stderr


def test_a_stored_fit_of_another_model_structure_is_refitted_not_fatal():
    from adaptive.modeling import WarmStarts
    from adaptive.modeling.fit import _restore

    X = torch.linspace(0, 1, 6, dtype=torch.float64).unsqueeze(-1)
    data = MetricData("m", X, torch.sin(3 * X), None, tuple(range(6)))
    warm = WarmStarts()
    warm.fitted(data, 0, lambda: torch.nn.Linear(1, 1))
    records = warm.records()
    calls = []
    again = WarmStarts(records)
    model = again.fitted(data, 0, lambda: calls.append(1) or torch.nn.Linear(1, 1),
                         restore=lambda p: _restore(lambda: torch.nn.ParameterDict({"other": torch.nn.Parameter(torch.zeros(1))}), p))
    assert calls == [1] and isinstance(model, torch.nn.Linear)


def test_a_metric_that_never_changes_is_modelled_without_warnings(sqlite_url):
    import warnings

    from botorch.exceptions import InputDataWarning

    exp = ad.create_experiment("flat", storage=sqlite_url, parameters={"x": ad.Float(0, 1)},
                               objectives=[ad.Maximize("m")], outcome_constraints=["r >= 0"], seed=1)
    for i in range(6):  # r is 0 everywhere, online and in the simulator
        exp.attach({"x": i / 6}, {"m": i / 6, "r": 0.0})
        exp.attach({"x": i / 6 + 0.05}, {"m": i / 6, "r": 0.0}, source="simulator")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        prediction = exp.predict([{"x": 0.3}])
    assert not [w for w in caught if issubclass(w.category, InputDataWarning)], [str(w.message) for w in caught]
    assert prediction["r_mean"].iloc[0] == pytest.approx(0.0, abs=1e-6)
