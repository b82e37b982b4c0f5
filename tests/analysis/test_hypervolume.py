import numpy as np
import pytest

import adaptive as ad
from adaptive.analysis.hypervolume import hypervolume, reference_point
from adaptive.analysis.pareto import pareto_mask
from adaptive.objectives import OptimizationConfig


def test_pareto_mask():
    Y = np.array([[1, 5], [2, 4], [1.5, 3], [2, 4], [0, 0]])
    assert pareto_mask(Y).tolist() == [True, True, False, True, False]
    assert pareto_mask(np.zeros((0, 2))).tolist() == []
    assert pareto_mask(Y[:, :1]).tolist() == [False, True, False, True, False]  # one objective: every best row


def test_pareto_mask_is_botorchs_definition():
    import torch
    from botorch.utils.multi_objective.pareto import is_non_dominated

    rng = np.random.default_rng(0)
    for m in (1, 2, 3):
        Y = rng.integers(0, 4, (40, m)).astype(float)  # small integers: many ties and duplicates
        assert pareto_mask(Y).tolist() == is_non_dominated(torch.from_numpy(Y), deduplicate=False).tolist()


def test_the_observed_frontier_loads_no_torch(tmp_path):
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'p.db'}"
    exp = ad.create_experiment("p", storage=url, parameters={"x": ad.Float(0, 1)},
                               objectives=[ad.Maximize("a"), ad.Maximize("b")])
    for i, x in enumerate((0.2, 0.5, 0.8)):
        exp.attach({"x": x}, {"a": x, "b": 1 - x + 0.1 * i})
    code = ("import sys, adaptive as ad; e = ad.load_experiment('p', storage=sys.argv[1]); "
            "print(len(e.pareto_frontier()), 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, url], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["3", "False"]


def test_hypervolume_by_hand():
    ref = np.array([0.0, 0.0])
    # union of [0,1]x[0,3] and [0,2]x[0,1]: 3 + 2 - 1 = 4
    assert hypervolume(np.array([[1.0, 3.0], [2.0, 1.0], [0.5, 0.5]]), ref) == pytest.approx(4.0)
    assert hypervolume(np.array([[-1.0, 3.0]]), ref) == 0.0
    assert hypervolume(np.array([[3.0], [5.0]]), np.array([1.0])) == pytest.approx(4.0)


def test_reference_point_uses_signed_thresholds_and_infers_the_rest():
    config = OptimizationConfig.build([ad.Maximize("a", threshold=1.0), ad.Minimize("b", threshold=10.0)])
    assert reference_point(config, np.zeros((0, 2))).tolist() == [1.0, -10.0]
    partial = OptimizationConfig.build([ad.Maximize("a", threshold=1.0), ad.Minimize("b")])
    ref = reference_point(partial, np.array([[2.0, -4.0], [3.0, -8.0]]))
    assert ref[0] == 1.0 and ref[1] < -8.0


def test_experiment_hypervolume_and_model_frontier(sqlite_url):
    exp = ad.create_experiment(
        "hv", storage=sqlite_url, parameters={"x": ad.Float(0, 1)},
        objectives=[ad.Maximize("a", threshold=0.0), ad.Minimize("b", threshold=10.0)],
        outcome_constraints=["c <= 1"],
    )
    exp.attach({"x": 0.1}, {"a": 1.0, "b": 7.0, "c": 0.0})   # signed (1, -7): box 1 x 3
    exp.attach({"x": 0.5}, {"a": 2.0, "b": 9.0, "c": 0.0})   # signed (2, -9): box 2 x 1
    exp.attach({"x": 0.9}, {"a": 5.0, "b": 1.0, "c": 3.0})   # infeasible
    assert exp.hypervolume() == pytest.approx(3 + 2 - 1)
    front = exp.pareto_frontier(model=True)
    assert set(front["trial_id"]) <= {0, 1}
    assert {"a", "a_sem", "a_pred", "a_pred_sem", "b_pred", "b_pred_sem", "p_feasible"} <= set(front.columns)
    assert front.columns.is_unique


def test_predict_recovers_a_smooth_function(sqlite_url):
    exp = ad.create_experiment("p", storage=sqlite_url, parameters={"x": ad.Float(0, 1)}, objectives=ad.Maximize("y"))
    for x in np.linspace(0, 1, 12):
        exp.attach({"x": float(x)}, {"y": (float(np.sin(3 * x)), 0.01)})
    frame = exp.predict([{"x": 0.25}, {"x": 0.55}])
    assert list(frame.columns) == ["x", "y_mean", "y_sem"]
    assert frame["y_mean"].to_numpy() == pytest.approx(np.sin(3 * np.array([0.25, 0.55])), abs=0.03)
    assert (frame["y_sem"] > 0).all() and (frame["y_sem"] < 0.05).all()
    with pytest.raises(ad.ValidationError) as info:
        exp.predict([{"x": 2.0}])
    assert info.value.field == "params.x"
