"""Bayesian optimization behind ``suggest``: switching, validity, pending points, fallbacks."""

import logging
import math

import numpy as np
import pytest
from scipy import stats

import adaptive as ad
from adaptive.generation import GenerationSettings
from adaptive.modeling import fit as fit_module


def quadratic(params):
    """Maximum 1.0 at x=0.7, y=0.2."""
    return 1.0 - (params["x"] - 0.7) ** 2 - (params["y"] - 0.2) ** 2


def make(url, name="q", **kwargs):
    defaults = dict(
        storage=url, parameters={"x": ad.Float(0, 1), "y": ad.Float(0, 1)}, objectives=ad.Maximize("f"), seed=1,
        generation=GenerationSettings(initial_trials=5),
    )
    defaults.update(kwargs)
    return ad.create_experiment(name, **defaults)


def run(exp, n_calls, fn, batch=1):
    for _ in range(n_calls):
        for t in exp.suggest(batch):
            exp.complete(t.id, {"f": fn(t.params)})


def test_switches_from_sobol_to_bo_and_stores_the_setting(sqlite_url):
    exp = make(sqlite_url)
    run(exp, 7, quadratic)
    generators = [t.generator for t in exp.trials()]
    assert generators == ["center"] + ["sobol"] * 4 + ["botorch"] * 2
    assert exp.trials()[0].params == {"x": 0.5, "y": 0.5}
    again = ad.load_experiment("q", storage=sqlite_url)
    assert again.generation.initial_trials == 5 and again.generation.center_first is True


def test_center_first_can_be_turned_off_and_is_skipped_when_infeasible(sqlite_url):
    off = make(sqlite_url, name="off", generation=GenerationSettings(initial_trials=5, center_first=False))
    assert [t.generator for t in off.suggest(3)] == ["sobol"] * 3
    assert ad.load_experiment("off", storage=sqlite_url).generation.center_first is False
    # x + y <= 0.8 excludes the centre (0.5, 0.5): every initial point is quasi-random and feasible.
    constrained = make(sqlite_url, name="constrained", parameter_constraints=["x + y <= 0.8"])
    trials = constrained.suggest(3)
    assert [t.generator for t in trials] == ["sobol"] * 3
    assert all(t.params["x"] + t.params["y"] <= 0.8 + 1e-9 for t in trials)
    # Only a source's first trial is the centre; each source gets its own.
    exp = make(sqlite_url, name="sources")
    assert [t.generator for t in exp.suggest(2)] == ["center", "sobol"]
    assert [t.generator for t in exp.suggest(2)] == ["sobol", "sobol"]
    assert [t.generator for t in exp.suggest(1, source="simulator")] == ["center"]
    with pytest.raises(ad.ValidationError, match="center_first"):
        GenerationSettings(center_first="yes")


def test_default_initial_trials_follow_the_dimension():
    space = ad.SearchSpace({f"p{i}": ad.Float(0, 1) for i in range(6)} | {"f": ad.Fixed(1)})
    assert GenerationSettings().initial_for(space) == 12
    assert GenerationSettings().initial_for(ad.SearchSpace({"a": ad.Float(0, 1)})) == 5


def test_bo_beats_quasi_random_on_a_simple_problem(sqlite_url):
    bo = make(sqlite_url, name="bo")
    run(bo, 14, quadratic)
    sobol = make(sqlite_url, name="sobol", generation=GenerationSettings(initial_trials=1000))
    run(sobol, 14, quadratic)
    best_bo = bo.best().observations["f"].mean
    best_sobol = sobol.best().observations["f"].mean
    assert best_bo > best_sobol
    assert best_bo > 1.0 - 1e-3  # within ~0.03 of the optimum in x and y


def test_batch_and_pending_points_are_not_near_duplicates(sqlite_url):
    exp = make(sqlite_url)
    run(exp, 5, quadratic)
    first = exp.suggest(4)
    second = exp.suggest(2)  # the first batch is still RUNNING: pending
    assert {t.generator for t in first + second} == {"botorch"}
    X = np.array([[t.params["x"], t.params["y"]] for t in first + second])
    distances = [np.linalg.norm(X[i] - X[j]) for i in range(len(X)) for j in range(i)]
    assert min(distances) > 1e-3


def test_linear_and_integer_constraints_hold_for_bo_proposals(sqlite_url):
    exp = ad.create_experiment(
        "c", storage=sqlite_url, seed=3,
        parameters={"x": ad.Float(0, 10), "n": ad.Int(0, 10), "c": ad.Choice(["a", "b", "c"]),
                    "lr": ad.Float(1e-3, 1, log=True), "k": ad.Fixed(2)},
        parameter_constraints=["x + n <= 7.5", "x - n >= -3"],
        objectives=ad.Maximize("f"), generation=GenerationSettings(initial_trials=6),
    )

    def f(p):  # best on the constraint boundary
        return p["x"] + 0.5 * p["n"] + (p["c"] == "b") - abs(math.log10(p["lr"]) + 1)

    run(exp, 4, f, batch=3)
    trials = exp.trials()
    assert [t.generator for t in trials].count("botorch") >= 5
    for t in trials:
        p = t.params
        assert p["x"] + p["n"] <= 7.5 + 1e-9 and p["x"] - p["n"] >= -3 - 1e-9
        assert isinstance(p["n"], int) and p["k"] == 2
        assert exp.search_space.validate(p) == p


def test_outcome_constraints_steer_proposals(sqlite_url):
    exp = make(sqlite_url, outcome_constraints=["cost <= 0.5"])
    # unconstrained optimum (0.7, 0.2) costs 0.7: infeasible; the feasible optimum lies on x = 0.5
    def observe(p):
        return {"f": quadratic(p), "cost": p["x"]}

    for _ in range(12):
        (t,) = exp.suggest(1)
        exp.complete(t.id, observe(t.params))
    best = exp.best()
    assert best.observations["cost"].mean <= 0.5
    assert best.observations["f"].mean > 1.0 - 0.04 - 0.01
    bo = [t for t in exp.trials() if t.generator == "botorch"]
    assert sum(t.params["x"] <= 0.55 for t in bo) >= len(bo) - 2


def test_no_feasible_trial_yet_raises_no_warning_to_the_user(sqlite_url):
    import warnings

    exp = make(sqlite_url, outcome_constraints=["cost <= 0.1"])
    for t in exp.suggest(5):
        exp.complete(t.id, {"f": quadratic(t.params), "cost": 0.5 + t.params["x"]})  # all infeasible
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (t,) = exp.suggest(1)
    assert t.generator == "botorch"
    assert [str(w.message) for w in caught if "adaptive" not in str(w.filename)] == []


def test_fit_failure_falls_back_to_quasi_random_with_a_warning(sqlite_url, monkeypatch, caplog):
    exp = make(sqlite_url)
    run(exp, 5, quadratic)

    def broken(*args, **kwargs):
        raise fit_module.ModelFitError("simulated non-PSD covariance")

    monkeypatch.setattr("adaptive.generation.strategy.fit_models", broken)
    with caplog.at_level(logging.WARNING, logger="adaptive.generation.strategy"):
        trials = exp.suggest(3)
    assert [t.generator for t in trials] == ["sobol-fallback"] * 3
    assert "quasi-random" in caplog.text
    assert len({(t.params["x"], t.params["y"]) for t in exp.trials()}) == 8


def test_a_bug_fails_loudly_instead_of_falling_back(sqlite_url, monkeypatch):
    """A TypeError (an API change in BoTorch, a bug) must not turn the engine into Sobol."""
    exp = make(sqlite_url)
    run(exp, 5, quadratic)
    calls = []

    def changed_api(*args, **kwargs):
        calls.append(1)
        raise TypeError("fit_gpytorch_mll() got an unexpected keyword argument 'closure'")

    monkeypatch.setattr(fit_module, "fit_gpytorch_mll", changed_api)
    monkeypatch.setattr(fit_module._fastpaths, "fit_path", lambda model: "botorch")
    with pytest.raises(TypeError, match="unexpected keyword"):
        exp.suggest(1)
    assert len(calls) == 1  # not retried either
    assert len(exp.trials()) == 5  # and nothing written


def test_degenerate_data_never_fails_a_suggest(sqlite_url):
    exp = make(sqlite_url)
    for t in exp.suggest(5):  # identical observations with zero noise everywhere
        exp.complete(t.id, {"f": (1.0, 0.0)})
    trials = exp.suggest(2)
    assert len(trials) == 2 and all(exp.search_space.validate(t.params) == t.params for t in trials)


def test_fit_retries_then_raises(monkeypatch):
    import torch

    from adaptive.modeling import MetricData

    calls = []

    def fail(*args, **kwargs):
        calls.append(1)
        raise RuntimeError("not PSD")

    monkeypatch.setattr(fit_module, "fit_gpytorch_mll", fail)
    monkeypatch.setattr(fit_module._fastpaths, "fit_closed_form", fail)
    data = MetricData("m", torch.rand(4, 2, dtype=torch.float64), torch.rand(4, 1, dtype=torch.float64), None, (0, 1, 2, 3))
    with pytest.raises(fit_module.ModelFitError, match="3 attempts"):
        fit_module.fit_metric_model(data)
    assert len(calls) == fit_module.FIT_ATTEMPTS


def test_a_metric_without_observations_is_a_clear_error(sqlite_url):
    exp = make(sqlite_url, outcome_constraints=["cost <= 0.5"])
    run(exp, 5, quadratic)  # never reports "cost"
    with pytest.raises(ad.ValidationError) as info:
        exp.suggest(1)
    assert info.value.field == "metrics" and info.value.value == "cost"


def test_bad_generation_settings():
    with pytest.raises(ad.ValidationError) as info:
        GenerationSettings(initial_trials=-1)
    assert info.value.field == "generation.initial_trials"
    with pytest.raises(ad.ValidationError, match="num_restarts"):
        GenerationSettings(optimizer={"num_restarts": 0})


def test_multi_objective_bo_improves_hypervolume(sqlite_url):
    import torch
    from botorch.test_functions.multi_objective import BraninCurrin

    problem = BraninCurrin()

    def evaluate(params):
        y = problem(torch.tensor([[params["x"], params["y"]]], dtype=torch.float64))[0]
        return {"branin": float(y[0]), "currin": float(y[1])}

    def run_mo(name, generation):
        exp = ad.create_experiment(
            name, storage=sqlite_url, parameters={"x": ad.Float(0, 1), "y": ad.Float(0, 1)},
            objectives=[ad.Minimize("branin", threshold=18.0), ad.Minimize("currin", threshold=6.0)],
            seed=5, generation=generation,
        )
        for _ in range(5):
            for t in exp.suggest(2):
                exp.complete(t.id, evaluate(t.params))
        return exp

    bo = run_mo("bo", GenerationSettings(initial_trials=4))
    sobol = run_mo("sobol", GenerationSettings(initial_trials=1000))
    assert {t.generator for t in bo.trials()[4:]} == {"botorch"}
    assert bo.hypervolume() > sobol.hypervolume()
    front = bo.pareto_frontier()
    assert len(front) >= 2 and (front["branin"] <= 18).all() and (front["currin"] <= 6).all()


def test_proposals_are_reproducible_and_leave_the_global_rng_alone(tmp_path):
    import torch

    def proposals(name):
        exp = make(f"sqlite:///{tmp_path}/{name}.db", name=name)
        run(exp, 5, quadratic)
        return [t.params for t in exp.suggest(2)]

    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    first = proposals("a")
    assert torch.rand(1) == expected_next  # the caller's random stream is untouched
    assert proposals("b") == first


@pytest.mark.parametrize("warp", [True, False])
def test_the_single_objective_is_modelled_warped_unless_turned_off(sqlite_url, monkeypatch, warp):
    from adaptive.generation import strategy

    seen = []
    real = strategy.fit_models
    monkeypatch.setattr(strategy, "fit_models", lambda datas, **kw: seen.append(datas) or real(datas, **kw))
    exp = make(sqlite_url, name=f"warp{warp}", generation=GenerationSettings(initial_trials=5, warp_objective=warp))
    run(exp, 6, lambda p: -math.exp(8 * quadratic(p)))  # mostly near 0, a few far better: skewed
    assert exp.trials()[-1].generator == "botorch"
    assert ad.load_experiment(f"warp{warp}", storage=sqlite_url).generation.warp_objective is warp
    ((modelled,),) = seen  # the one BO call, the one metric
    means = {t.id: t.observations["f"].mean for t in exp.trials()}
    raw = np.array([means[i] for i in modelled.trial_ids])
    if warp:
        z = (raw - raw.mean()) / raw.std()
        assert modelled.Y.squeeze(-1).numpy() == pytest.approx(stats.yeojohnson(z)[0])
    else:
        assert modelled.Y.squeeze(-1).tolist() == raw.tolist()
    with pytest.raises(ad.ValidationError, match="warp_objective"):
        GenerationSettings(warp_objective=1)


def test_nearly_duplicated_incumbents_raise_no_warning_to_the_user(sqlite_url):
    import warnings

    from linear_operator.utils.warnings import NumericalWarning

    exp = make(sqlite_url, generation=GenerationSettings(initial_trials=2))
    for i in range(6):  # nearly the same config six times: a near-singular incumbents' covariance
        exp.attach({"x": 0.3 + 1e-7 * i, "y": 0.3}, {"f": 0.5 + 0.01 * i})
    exp.attach({"x": 0.8, "y": 0.1}, {"f": 0.2})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (t,) = exp.suggest(1)
    assert t.generator == "botorch"
    assert not [w for w in caught if issubclass(w.category, NumericalWarning)], [str(w.message) for w in caught]


def test_pending_points_near_observed_ones_raise_no_warning_to_the_user(sqlite_url):
    import warnings

    from linear_operator.utils.warnings import NumericalWarning

    exp = ad.create_experiment(
        "pending", storage=sqlite_url, seed=1, generation=GenerationSettings(initial_trials=2),
        parameters={"x": ad.Float(0, 1), "n": ad.Int(1, 5), "c": ad.Choice(["a", "b", "c"])},
        objectives=[ad.Maximize("m", threshold=0.1), ad.Minimize("k")], outcome_constraints=["r >= 0"],
    )
    caught = []
    for n in range(4):  # flat objectives: batches of two land beside observed configs
        with warnings.catch_warnings(record=True) as batch:
            warnings.simplefilter("always")
            for t in exp.suggest(2):
                exp.complete(t.id, {"m": t.params["x"] if n % 2 else 0.5, "k": 1.0, "r": 0.0})
        caught += batch
    assert not [w for w in caught if issubclass(w.category, NumericalWarning)], [str(w.message) for w in caught]
    assert {t.generator for t in exp.trials()[2:]} == {"botorch"}


def test_on_unverified_library_versions_every_fast_path_steps_aside(sqlite_url, monkeypatch, caplog):
    """The one gate: on a BoTorch series the parity tests never ran on, fits and posteriors take
    BoTorch's own paths (counted), and suggestions still come from the model."""
    from adaptive import _fastpaths

    monkeypatch.setattr(_fastpaths, "version", lambda package: "0.19.0" if package == "botorch" else
                        {"gpytorch": "1.15.2", "linear_operator": "0.6.1"}[package])
    _fastpaths.verified.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="adaptive._fastpaths"):
            assert not _fastpaths.verified()
        assert "botorch 0.19.0 (verified: 0.18.x)" in caplog.text
        mixed = ad.create_experiment(
            "gate", storage=sqlite_url, seed=1, generation=GenerationSettings(initial_trials=4),
            parameters={"x": ad.Float(0, 1), "k": ad.Choice(["a", "b", "c"])},
            objectives=[ad.Maximize("f"), ad.Minimize("g")],
        )
        for t in mixed.suggest(4):
            mixed.complete(t.id, {"f": t.params["x"] + (t.params["k"] == "b"), "g": t.params["x"] ** 2})
        from adaptive import _paths

        with _paths.recording() as taken:
            (t,) = mixed.suggest(1)
        assert t.generator == "botorch"
        assert set(taken) == {"fit:botorch", "posterior:botorch", "optimizer:scipy"}, taken
    finally:
        monkeypatch.undo()
        _fastpaths.verified.cache_clear()
    assert _fastpaths.verified()  # the installed versions are the verified ones (CI checks them)
