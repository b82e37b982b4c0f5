"""Figures and the numbers behind them; the HTML report."""

import numpy as np
import pytest

import adaptive as ad
from adaptive import plots
from adaptive.report import write_report


@pytest.fixture
def two_objective(sqlite_url):
    exp = ad.create_experiment(
        "p", storage=sqlite_url, parameters={"x": ad.Float(0, 1), "n": ad.Int(1, 5)},
        objectives=[ad.Maximize("a", threshold=0.0), ad.Minimize("b", threshold=10.0)], outcome_constraints=["c <= 1"],
    )
    for x, n, a, b, c in [(0.1, 1, 1.0, 2.0, 0.0), (0.5, 2, 2.0, 5.0, 0.0), (0.9, 3, 3.0, 4.0, 2.0), (0.3, 4, 0.5, 6.0, 0.0)]:
        exp.attach({"x": x, "n": n}, {"a": (a, 0.1), "b": (b, 0.2), "c": c})
    exp.attach({"x": 0.7, "n": 5}, {"a": 2.5, "b": 3.0, "c": 0.0}, source="simulator")
    return exp


def test_pareto_data_flags(two_objective):
    data = plots.pareto_data(two_objective)
    assert data.set_index("trial_id")["feasible"].to_dict() == {0: True, 1: True, 2: False, 3: True, 4: True}
    assert sorted(data.loc[data["on_frontier"], "trial_id"]) == [0, 1]  # 3 is dominated by 1; 4 is not online


def test_pareto_figure_has_observed_frontier_model_and_thresholds(two_objective):
    fig = plots.plot_pareto(two_objective)
    names = {t.name for t in fig.data}
    assert {"online", "online (infeasible)", "simulator", "observed frontier", "model frontier (±2 sem)"} <= names
    assert len(fig.layout.shapes) == 2  # both thresholds


def test_three_objectives_get_pairwise_panels(sqlite_url):
    exp = ad.create_experiment("three", storage=sqlite_url, parameters={"x": ad.Float(0, 1)},
                               objectives=[ad.Maximize("a"), ad.Maximize("b"), ad.Minimize("c")])
    for x in np.linspace(0, 1, 5):
        exp.attach({"x": float(x)}, {"a": float(x), "b": float(1 - x), "c": float(x * x)})
    fig = plots.plot_pareto(exp, model=False)
    assert len(fig.layout.annotations) == 3  # a-b, a-c, b-c


def test_trace_is_monotone_per_source(two_objective):
    data = plots.trace_data(two_objective)
    online = data[data["source"] == "online"]["value"].to_numpy()
    assert np.all(np.diff(online) >= 0) and online[-1] > 0
    assert len(plots.plot_trace(two_objective).data) == 2


def test_slice_calibration_distribution_and_report(two_objective, tmp_path):
    s = plots.slice_data(two_objective, "x", "a")
    assert s["x"].is_monotonic_increasing and (s["sem"] > 0).all()
    c = plots.calibration_data(two_objective, "a")
    assert set(c["source"]) == {"online", "simulator"} and len(c) == 5
    with pytest.raises(ad.ValidationError):
        plots.slice_data(two_objective, "nope")
    dist = two_objective.export_distribution(prefer="a", model_candidates=0)
    assert plots.distribution_data(dist)["weight"].sum() == pytest.approx(1.0)
    path = write_report(two_objective, tmp_path / "report.html")
    text = path.read_text()
    assert text.count("<h2>") >= 6 and "Plotly.newPlot" in text and "<script src=\"http" not in text
    assert "Trials" in text and "simulator" in text
