"""Model-based recommendation: ``Experiment.best(model=True)``."""

import math

import numpy as np
import pytest

import adaptive as ad
from adaptive.errors import ValidationError


def _noisy_line(url, *, constraint: bool = False):
    """Maximize f(x) = -(x - 0.7)^2 observed with noise sd 0.02; one lucky observation at x = 0.05."""
    exp = ad.create_experiment(
        "noisy", storage=url, seed=3, parameters={"x": ad.Float(0.0, 1.0)},
        objectives=[ad.Maximize("f")], outcome_constraints=["c <= 0.0"] if constraint else [],
    )
    rng = np.random.default_rng(0)
    for x in np.linspace(0.0, 1.0, 21):
        f = -((x - 0.7) ** 2) + 0.02 * rng.standard_normal()
        if math.isclose(x, 0.05):
            f = 0.05  # lucky: the true value there is -0.42
        metrics = {"f": f}
        if constraint:
            metrics["c"] = x - 0.6 + 0.01 * rng.standard_normal()  # feasible for x <= 0.6
        exp.attach({"x": float(x)}, metrics)
    return exp


def test_best_by_model_ignores_a_lucky_observation(sqlite_url):
    exp = _noisy_line(sqlite_url)
    assert exp.best().params["x"] == pytest.approx(0.05)  # by observation, the lucky one
    best = exp.best(model=True)
    assert isinstance(best, ad.ModelBest)
    assert abs(best.params["x"] - 0.7) <= 0.1
    assert best.trial.id == best.id and best.p_feasible == 1.0
    mean, sem = best.prediction["f"].mean, best.prediction["f"].sem
    assert -0.03 < mean < 0.03 and 0 < sem < 0.05


def test_best_by_model_respects_outcome_constraints(sqlite_url):
    exp = _noisy_line(sqlite_url, constraint=True)
    best = exp.best(model=True)
    assert best.params["x"] <= 0.6 + 1e-9
    assert best.p_feasible >= 0.9
    loose = exp.best(model=True, min_feasibility=0.5)
    assert loose.p_feasible >= 0.5 and loose.params["x"] >= best.params["x"]  # closer to the boundary, or the same
    assert best.params["x"] >= 0.45  # the best of the feasible side, not the lucky point
    assert set(best.prediction) == {"f", "c"}


def test_best_by_model_needs_one_objective_and_a_bool(sqlite_url):
    exp = _noisy_line(sqlite_url)
    with pytest.raises(ValidationError, match="model"):
        exp.best(model="yes")  # type: ignore[call-overload]
    for bad in (1.5, -0.1, float("nan"), True):
        with pytest.raises(ValidationError, match="min_feasibility"):
            exp.best(model=True, min_feasibility=bad)
    two = ad.create_experiment("two", storage=sqlite_url, parameters={"x": ad.Float(0, 1)},
                               objectives=[ad.Maximize("a"), ad.Maximize("b")])
    with pytest.raises(ValidationError, match="one objective"):
        two.best(model=True)
