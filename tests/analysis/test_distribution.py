"""Exported winning distributions: weights that follow the posterior, versions in the database."""

import numpy as np
import pytest

import adaptive as ad


def one_dim(url, name="d", **kwargs):
    return ad.create_experiment(name, storage=url, parameters={"x": ad.Float(0, 1)}, seed=2, **kwargs)


def test_true_best_arm_gets_the_largest_weight(sqlite_url):
    exp = one_dim(sqlite_url, objectives=ad.Maximize("y"))
    rng = np.random.default_rng(0)
    xs = np.linspace(0, 1, 9)
    for x in xs:  # optimum at x = 0.3, between observed 0.25 and 0.375
        exp.attach({"x": float(x)}, {"y": (float(-((x - 0.3) ** 2) + rng.normal(0, 0.005)), 0.005)})
    dist = exp.export_distribution(model_candidates=0)
    best = max(dist.arms, key=lambda a: a.weight)
    assert best.params["x"] == pytest.approx(0.25)
    assert sum(a.weight for a in dist.arms) == pytest.approx(1.0)
    assert {"mean", "lower", "upper"} <= set(best.predictions["y"])
    assert best.predictions["y"]["lower"] < best.predictions["y"]["mean"] < best.predictions["y"]["upper"]
    with_model = exp.export_distribution(model_candidates=4)
    top = max(with_model.arms, key=lambda a: a.weight)
    assert abs(top.params["x"] - 0.3) < 0.06  # a model-optimized config beats the observed ones


def test_constraint_violators_get_no_weight_and_a_clear_winner_gets_almost_all(sqlite_url):
    exp = one_dim(sqlite_url, objectives=ad.Maximize("y"), outcome_constraints=["risk <= 0.5"])
    for x in np.linspace(0, 1, 11):
        exp.attach({"x": float(x)}, {"y": (float(x), 0.01), "risk": (float(x) - 0.05, 0.01)})
    dist = exp.export_distribution(model_candidates=0)
    weights = {a.params["x"]: a.weight for a in dist.arms}
    assert sum(w for x, w in weights.items() if x > 0.55) < 0.01
    assert max(weights, key=weights.get) == pytest.approx(0.5)
    assert max(weights.values()) > 0.9
    tighter = exp.export_distribution(model_candidates=0, constraints=["risk <= 0.25"])
    assert max(tighter.arms, key=lambda a: a.weight).params["x"] == pytest.approx(0.3)


def test_multi_objective_preferences_and_weights(sqlite_url):
    exp = one_dim(
        sqlite_url, objectives=[ad.Maximize("engagement", threshold=0.2), ad.Minimize("cpu_ms", threshold=80.0)]
    )
    for x in np.linspace(0, 1, 11):
        exp.attach({"x": float(x)}, {"engagement": (float(x) + 0.03, 0.01), "cpu_ms": (float(100 * x) - 3, 0.5)})
    with pytest.raises(ad.ValidationError) as info:
        exp.export_distribution()
    assert info.value.field == "prefer"
    most = exp.export_distribution(prefer="engagement", model_candidates=0)
    assert max(most.arms, key=lambda a: a.weight).params["x"] == pytest.approx(0.8)  # cpu_ms threshold binds
    cheap = exp.export_distribution(prefer="cpu_ms", model_candidates=0)
    assert max(cheap.arms, key=lambda a: a.weight).params["x"] == pytest.approx(0.2)  # engagement threshold binds
    weighted = exp.export_distribution(weights={"engagement": 1.0, "cpu_ms": 0.0}, model_candidates=0)
    assert max(weighted.arms, key=lambda a: a.weight).params["x"] == pytest.approx(0.8)
    assert weighted.document["preference"]["constraints"] == ["cpu_ms <= 80.0"]


def test_exports_are_versioned_and_round_trip_through_json(sqlite_url, tmp_path):
    exp = one_dim(sqlite_url, objectives=ad.Maximize("y"))
    for x in np.linspace(0, 1, 6):
        exp.attach({"x": float(x)}, {"y": float(x * (1 - x))})
    first = exp.export_distribution(top_k=2)
    second = exp.export_distribution(min_weight=0.2)
    assert (first.version, second.version) == (1, 2) and exp.export_versions() == [1, 2]
    assert len(first.arms) <= 2 and all(a.weight >= 0.2 for a in second.arms)
    assert exp.exported(1).document == first.document and exp.exported().version == 2
    path = tmp_path / "dist.json"
    first.to_json(path)
    again = ad.serving.load(path)
    assert again.arms == first.arms and again.document["model"]["draws"] == 1000
    assert ad.serving.assign(again, "m-42").name == ad.serving.assign(first, "m-42").name


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        (dict(prefer="nope"), "prefer"),
        (dict(prefer="y", weights={"y": 1.0}), "prefer"),
        (dict(weights={"y": -1.0}), "weights.y"),
        (dict(weights={"z": 1.0}), "weights.z"),
        (dict(top_k=0), "top_k"),
        (dict(min_weight=1.5), "min_weight"),
        (dict(n_draws=0), "n_draws"),
        (dict(constraints="y <= 1"), "constraints"),
        (dict(constraints=["y <= -100"]), "constraints"),
    ],
)
def test_bad_export_arguments_write_nothing(sqlite_url, kwargs, field):
    exp = one_dim(sqlite_url, objectives=ad.Maximize("y"))
    for x in np.linspace(0, 1, 4):
        exp.attach({"x": float(x)}, {"y": (float(x), 0.01)})
    with pytest.raises(ad.ValidationError) as info:
        exp.export_distribution(**kwargs)
    assert info.value.field == field
    assert exp.export_versions() == []
