"""Exported winning distributions: weights that follow the posterior, versions in the database."""

import json

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


def test_export_to_a_path_that_cannot_be_written_stores_no_version(sqlite_url, tmp_path, monkeypatch):
    exp = one_dim(sqlite_url, objectives=ad.Maximize("y"))
    for x in np.linspace(0, 1, 4):
        exp.attach({"x": float(x)}, {"y": float(x)})
    for bad in (tmp_path / "no" / "such" / "x.json", tmp_path):
        with pytest.raises(ad.ValidationError) as info:
            exp.export_distribution(path=bad)
        assert info.value.field == "path" and str(bad) in str(info.value)
    # a failure while writing (disk full, permissions) rolls the version back too
    def full_disk(path, text):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ad.serving, "stage_file", full_disk)
    with pytest.raises(ad.ValidationError, match="No space left"):
        exp.export_distribution(path=tmp_path / "x.json")
    assert exp.export_versions() == [] and not [p for p in tmp_path.iterdir() if "x.json" in p.name]
    monkeypatch.undo()
    written = exp.export_distribution(path=tmp_path / "x.json")
    assert written.version == 1 and ad.serving.load(tmp_path / "x.json").document == written.document
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".x.json")]  # no staged file left


def test_export_file_is_replaced_atomically_while_being_read(tmp_path):
    import os
    import threading

    path = tmp_path / "dist.json"
    docs = [{"schema_version": 1, "filler": "x" * 200_000 * (i % 2 + 1), "i": i} for i in range(2)]
    ad.serving.to_json(docs[0], path)
    assert path.stat().st_mode & 0o777 == 0o644
    inode = path.stat().st_ino
    ad.serving.to_json(docs[1], path)
    assert path.stat().st_ino != inode  # a new file renamed over the old one, not rewritten in place
    errors, stop = [], threading.Event()

    def read():
        while not stop.is_set():
            try:
                json.loads(path.read_text())
            except ValueError as exc:  # a half-written file
                errors.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    for i in range(200):
        ad.serving.to_json(docs[i % 2], path)
    stop.set()
    reader.join()
    assert errors == []
    assert json.loads(path.read_text())["i"] == 1 and not [p for p in tmp_path.iterdir() if p.name != "dist.json"]
    os.chmod(path, 0o640)  # the mode of a replaced file is kept
    ad.serving.to_json(docs[0], path)
    assert path.stat().st_mode & 0o777 == 0o640


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


def test_nearly_singular_draws_reach_the_log_not_the_user(sqlite_url, caplog):
    import logging
    import warnings

    exp = one_dim(sqlite_url, objectives=ad.Maximize("y"))
    for i, y in enumerate([0.5, 0.5, 0.51, 0.2]):  # one config three times, nearly: a near-singular joint covariance
        exp.attach({"x": 0.4 + 1e-9 * i if i < 3 else 0.9}, {"y": y})
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.DEBUG, "adaptive.analysis.distribution"):
        warnings.simplefilter("always")
        dist = exp.export_distribution(model_candidates=2, n_draws=200)
    assert [str(w.message) for w in caught] == []
    assert "added jitter" in caplog.text
    assert sum(a.weight for a in dist.arms) == pytest.approx(1.0)


def test_a_preview_stores_and_writes_nothing(sqlite_url, tmp_path):
    exp = one_dim(sqlite_url, objectives=ad.Maximize("y"))
    for x in (0.1, 0.5, 0.9):
        exp.attach({"x": x}, {"y": x})
    preview = exp.export_distribution(model_candidates=0, n_draws=200, store=False)
    assert preview.version == 0 and sum(preview.weights) == pytest.approx(1.0)
    assert exp.export_versions() == []
    with pytest.raises(ad.ValidationError, match="path"):
        exp.export_distribution(model_candidates=0, store=False, path=tmp_path / "x.json")
    with pytest.raises(ad.ValidationError, match="store"):
        exp.export_distribution(model_candidates=0, store="no")
    published = exp.export_distribution(model_candidates=0, n_draws=200)
    assert published.version == 1 and published.weights == preview.weights  # the same draws, now stored
