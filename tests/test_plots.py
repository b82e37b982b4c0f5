"""Figures and the numbers behind them; the HTML report."""

import numpy as np
import pytest

import adaptive as ad
from adaptive.review import plots
from adaptive.review.report import write_report


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


def test_the_plot_the_api_and_the_cli_agree_on_feasibility_and_the_frontier(two_objective):
    import subprocess
    import sys

    # beyond b's threshold (10) but dominating nothing-better: on no frontier, drawn as missing a threshold
    two_objective.attach({"x": 0.95, "n": 5}, {"a": 9.0, "b": 12.0, "c": 0.0})
    data = plots.pareto_data(two_objective).set_index("trial_id")
    api = two_objective.pareto_frontier()
    assert sorted(data.index[data["on_frontier"]]) == sorted(api["trial_id"]) == [0, 1]
    assert not data.loc[5, "beats_thresholds"] and data.loc[5, "feasible"] and not data.loc[5, "on_frontier"]
    cli = subprocess.run([sys.executable, "-m", "adaptive", "pareto", "p", "--json", "--storage",
                          two_objective.database.masked_url], capture_output=True, text=True, timeout=300)
    assert sorted(row["trial_id"] for row in __import__("json").loads(cli.stdout)) == [0, 1], cli.stderr
    fig = plots.plot_pareto(two_objective, model=False)
    drawn = {t.name: sorted(int(s.split("</b>")[0].split()[-1]) for s in t.text) for t in fig.data if t.mode == "markers"}
    assert drawn == {"online": [0, 1, 3], "online (misses a threshold)": [5], "online (infeasible)": [2], "simulator": [4]}
    front = next(t for t in fig.data if t.name.startswith("observed frontier"))
    assert sorted(zip(front.x, front.y)) == [(1.0, 2.0), (2.0, 5.0)]


def test_pareto_figure_has_observed_frontier_model_thresholds_and_readable_axes(sqlite_url):
    exp = ad.create_experiment(
        "axes", storage=sqlite_url, parameters={"x": ad.Float(0, 1), "r": ad.Choice(["u", "v"])},
        objectives=[ad.Maximize("a", threshold=0.0), ad.Minimize("b", threshold=4.5)], outcome_constraints=["c <= 1"],
        units={"b": "ms"},
    )
    for x, r, a, b, c in [(0.1, "u", 1.0, 2.0, 0.0), (0.5, "v", 2.0, 5.0, 0.0), (0.9, "u", 3.0, 4.0, 2.0), (0.3, "v", 1.5, 3.0, 0.0)]:
        exp.attach({"x": x, "r": r}, {"a": (a, 0.1), "b": (b, 0.2), "c": c})
    exp.attach({"x": 0.7, "r": "u"}, {"a": 2.5, "b": 3.0, "c": 0.0}, source="simulator")
    fig = plots.plot_pareto(exp)
    names = {t.name for t in fig.data}
    assert {"online", "online (infeasible)", "simulator", "model frontier (±2 sem)"} <= names
    assert any(n.startswith("observed frontier (steps") for n in names)
    assert fig.layout.xaxis.title.text == "a, higher is better, threshold 0"
    assert fig.layout.yaxis.title.text == "b [ms], lower is better, threshold 4.5"
    assert fig.layout.xaxis.range[0] > 0.5  # a's threshold 0 lies far below the data: not drawn, axis not stretched
    assert [s.y0 for s in fig.layout.shapes] == [4.5]  # b's threshold lies among the data: drawn
    hover = next(t for t in fig.data if t.name == "online").text[0]
    assert "(online)" in hover and "x = " in hover and "r = " in hover and "b = " in hover


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
    assert sorted(c["trial_id"]) == [0, 1, 2, 3] and set(c["model"]) <= {"single-source", "multi-task", "bias-corrected"}
    with pytest.raises(ad.ValidationError):
        plots.slice_data(two_objective, "nope")
    dist = two_objective.export_distribution(prefer="a", model_candidates=0)
    assert plots.distribution_data(dist)["weight"].sum() == pytest.approx(1.0)
    path = write_report(two_objective, tmp_path / "report.html")
    text = path.read_text()
    assert text.count("<h2>") >= 8 and "Plotly.newPlot" in text and "<script src=\"http" not in text
    assert "Trials" in text and "simulator" in text


def test_calibration_is_leave_one_out(sqlite_url):
    """Each point is predicted without its own trial: a smooth metric is predicted well, a jump
    that only one trial shows is not, where the in-sample fit (the old plot) sat on the line."""
    exp = ad.create_experiment("loo", storage=sqlite_url, parameters={"x": ad.Float(0, 1)}, objectives=[ad.Maximize("y")],
                               outcome_constraints=["z <= 5"])
    for x in np.linspace(0, 1, 12):
        exp.attach({"x": float(x)}, {"y": (float(np.sin(3 * x)), 0.01), "z": (float(x), 0.01)})
    smooth = plots.calibration_data(exp, "y")
    assert (smooth["observed"] - smooth["predicted"]).abs().max() < 0.05 and (smooth["predicted_sem"] > 0).all()
    exp.attach({"x": 0.5}, {"y": (float(np.sin(1.5)) + 1.0, 0.01), "z": (0.5, 0.01)})  # a jump only this trial shows
    data = plots.calibration_data(exp, "y").set_index("trial_id")
    miss = abs(data.loc[12, "observed"] - data.loc[12, "predicted"])
    assert miss > 0.3
    in_sample = exp.predict([{"x": 0.5}])["y_mean"].iloc[0]
    assert abs(in_sample - data.loc[12, "observed"]) < miss / 2
    fig = plots.plot_calibration(exp)
    assert [a.text for a in fig.layout.annotations] == ["y (single-source GP)", "z (single-source GP)"]
    with pytest.raises(ad.ValidationError, match="metric"):
        plots.calibration_data(exp, "nope")


def test_importance_parallel_coordinates_and_slices_for_every_metric(sqlite_url):
    exp = ad.create_experiment("imp", storage=sqlite_url, seed=3,
                               parameters={"x": ad.Float(0, 1), "noise": ad.Float(0, 1), "k": ad.Choice(["a", "b", "c"])},
                               objectives=[ad.Maximize("y")], outcome_constraints=["z <= 5"])
    rng = np.random.default_rng(0)
    for _ in range(20):
        p = {"x": float(rng.uniform()), "noise": float(rng.uniform()), "k": str(rng.choice(["a", "b", "c"]))}
        exp.attach(p, {"y": 3 * p["x"] + 0.01 * rng.normal(), "z": 2.0 * (p["k"] == "c") + 0.01 * rng.normal()})
    imp = plots.importance_data(exp).set_index(["metric", "parameter"])["importance"]
    assert imp["y", "x"] > 0.8 and imp["y", "noise"] < 0.1 and imp["z", "k"] > 0.8 and imp["z", "x"] < 0.1
    par = plots.plot_parallel(exp).data[0]
    assert [d.label for d in par.dimensions] == ["x", "noise", "k", "y", "z"] and list(par.dimensions[2].ticktext) == ["a", "b", "c"]
    fig = plots.plot_slice(exp, "x")
    assert [a.title.text for a in (fig.layout.yaxis, fig.layout.yaxis2)] == ["y, higher is better", "z"]


def test_without_a_browser_figures_stay_interactive_with_one_warning(monkeypatch, caplog):
    import kaleido
    import plotly.io as pio

    from adaptive.review import _static_figures

    def never(*args, **kwargs):
        raise AssertionError("kaleido must not be started without a browser: its server would wait forever")

    monkeypatch.setattr(_static_figures, "_state", {"started": False, "failed": None})
    monkeypatch.setattr(_static_figures, "_browser_path", lambda: None)
    monkeypatch.setattr(kaleido, "start_sync_server", never)
    monkeypatch.setattr(kaleido, "calc_fig_sync", never)
    previous = pio.renderers.default
    try:
        assert plots.use_notebook_renderer() == "plotly_mimetype+notebook+adaptive_png"
        renderer = pio.renderers["adaptive_png"]
        fig = {"data": [{"type": "scatter", "x": [1, 2], "y": [2, 1]}], "layout": {}}
        assert renderer.to_mimebundle(fig) == {} and renderer.to_mimebundle(fig) == {}
        warnings = [r for r in caplog.records if r.name == "adaptive.review._static_figures"]
        assert len(warnings) == 1 and "apt install chromium" in warnings[0].getMessage()
        assert plots.use_notebook_renderer(static=False) == "plotly_mimetype+notebook"
    finally:
        pio.renderers.default = previous


def test_a_browser_that_never_draws_costs_the_timeout_then_figures_stay_interactive(monkeypatch, caplog):
    import threading

    import kaleido

    from adaptive.review import _static_figures

    stuck = threading.Event()
    monkeypatch.setattr(_static_figures, "_state", {"started": False, "failed": None})
    monkeypatch.setattr(_static_figures, "TIMEOUT_S", 0.5)
    monkeypatch.setattr(_static_figures, "_browser_path", lambda: "/usr/bin/chromium")
    monkeypatch.setattr(kaleido, "start_sync_server", lambda **kwargs: None)
    monkeypatch.setattr(kaleido, "calc_fig_sync", lambda *args, **kwargs: stuck.wait())  # kaleido's dead server
    fig = {"data": [{"type": "scatter", "x": [1, 2], "y": [2, 1]}], "layout": {}}
    try:
        assert _static_figures.to_png(fig) is None and _static_figures.to_png(fig) is None
    finally:
        stuck.set()
    warnings = [r.getMessage() for r in caplog.records if r.name == "adaptive.review._static_figures"]
    assert len(warnings) == 1 and "drew nothing in 0.5 s" in warnings[0]
