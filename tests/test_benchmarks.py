"""The benchmark drivers run (tiny budgets; the real runs are in benchmarks/results/)."""

import json

import pytest

from benchmarks import bo_compare


def test_bo_compare_smoke(tmp_path):
    out = tmp_path / "bo"
    assert bo_compare.main(["--problems", "BraninCurrin", "--methods", "adaptive", "sobol", "--seeds", "1",
                            "--batches", "2", "--n-init", "4", "--n-bo", "2", "--workers", "1", "--out", str(out)]) == 0
    rows = json.loads(out.with_suffix(".json").read_text())["rows"]
    assert {r["method"] for r in rows} == {"adaptive", "sobol"}
    assert all(r["n_trials"] == 6 for r in rows)
    assert "| BraninCurrin | multi-objective | 2 | 1 |" in out.with_suffix(".md").read_text()


def test_bo_compare_resumes_runs_whose_engine_files_are_unchanged(tmp_path):
    """A verdict cut off mid-way resumes from its journal: a run is reused while every file of
    adaptive/ it loaded is unchanged, and runs again once one of them changes."""
    out = tmp_path / "bo"
    argv = ["--problems", "BraninCurrin", "--methods", "adaptive", "sobol", "--seeds", "1", "--batches", "1",
            "--n-init", "3", "--n-bo", "1", "--workers", "1", "--out", str(out)]
    journal = out.with_suffix(".runs.jsonl")
    assert bo_compare.main(argv) == 0
    first = [json.loads(line) for line in journal.read_text().splitlines()]
    by_method = {r["method"]: r for r in first}
    assert set(by_method) == {"adaptive", "sobol"}
    loaded = by_method["adaptive"]["engine_files"]
    assert "adaptive/experiment.py" in loaded and "adaptive/generation/strategy.py" in loaded
    assert any(f.startswith("adaptive/storage/migrations/versions/") for f in loaded)
    assert "engine_files" not in json.loads(out.with_suffix(".json").read_text())["rows"][0]

    assert bo_compare.main(argv) == 0  # nothing changed: nothing runs again
    assert len(journal.read_text().splitlines()) == 2
    rows = json.loads(out.with_suffix(".json").read_text())
    assert rows["meta"]["resumed_runs"] == 2
    assert sorted(r["created"] for r in rows["rows"]) == sorted(r["created"] for r in first)

    # the same journal seen from a checkout where a file the adaptive run loaded differs
    edited = dict(by_method["adaptive"], engine_files=dict(loaded, **{"adaptive/experiment.py": "0" * 40}))
    journal.write_text(json.dumps(edited) + "\n" + json.dumps(by_method["sobol"]) + "\n")
    assert bo_compare.main(argv) == 0
    assert json.loads(out.with_suffix(".json").read_text())["meta"]["resumed_runs"] == 1  # sobol's only
    assert [json.loads(line)["method"] for line in journal.read_text().splitlines()][2:] == ["adaptive"]


def test_output_warping_smoke(tmp_path):
    from benchmarks import output_warping

    out = tmp_path / "warp"
    assert output_warping.main(["--problems", "Branin", "--noise", "0.1", "--seeds", "2", "--n-init", "4",
                                "--n-bo", "2", "--workers", "1", "--out", str(out)]) == 0
    rows = json.loads(out.with_suffix(".json").read_text())["rows"]
    assert {(r["problem"], r["warp"]) for r in rows} == {
        (p, w) for p in ("Branin", "Hartmann6, noise sd 0.1") for w in (False, True)
    }
    assert all(r["score"] < 2.5 for r in rows if r["problem"] == "Branin")  # log10 regret; Branin's range is ~300
    table = out.with_suffix(".md").read_text()
    assert "| Branin | 1 | 2 |" in table and "| Hartmann6, noise sd 0.1 | 1 | 2 |" in table


def test_suite_problem_definitions():
    """Every declared problem evaluates, has feasible points, and no quasi-random point beats its optimum."""
    import math

    import numpy as np

    from adaptive.space import SearchSpace
    from benchmarks.methods import adaptive_parameters
    from benchmarks.problems import BATCH_PROBLEMS, problems

    suite = problems()
    assert len(suite) >= 14 and set(BATCH_PROBLEMS) <= set(suite)
    kinds = {p.kind for p in suite.values()}
    for kind in ("3+ objectives", "multi-objective, 3+ constraints", "mixed", "noisy", "linear-constrained",
                 "10+ parameters"):
        assert sum(p.kind == kind for p in suite.values()) >= 2, kind
    assert kinds >= {"multi-objective", "outcome-constrained"}
    for name, p in suite.items():
        space = SearchSpace(adaptive_parameters(p), p.linear_texts())
        configs, _ = space.sample(64, seed=0)
        truths = [p.truth(c) for c in configs]
        metrics = {m for m, _ in p.objectives} | {m for m, _ in p.constraints}
        assert all(set(t) >= metrics and all(math.isfinite(v) for v in t.values()) for t in truths), name
        assert any(p.feasible(c, t) for c, t in zip(configs, truths)), name
        assert all(p.feasible(c, t) or p.constraints for c, t in zip(configs, truths)), name  # linear: sampled inside
        assert math.isfinite(p.optimum), name
        score = p.score(configs, configs[0] if p.noisy else None)
        assert -12 < score < 8, (name, score)
        if len(p.objectives) == 1:
            (metric, _), = p.objectives
            best = min(t[metric] for c, t in zip(configs, truths) if p.feasible(c, t))
            assert p.optimum <= best < p.worst, name
        observed = p.observe(configs[0], np.random.default_rng(0))
        assert (observed != truths[0]) == p.noisy, name


def test_mixed_problems_best_choice_is_last():
    from benchmarks.problems import problems

    suite = problems()
    hartmann = suite["Hartmann6-mixed"]
    x = {"x0": 0.20169, "x1": 0.150011, "x2": 0.476874, "x3": 0.275332, "n4": 3}
    by_choice = {c: hartmann.truth({**x, "c5": c})["f"] for c in ("a", "b", "c")}
    assert min(by_choice, key=by_choice.get) == "c" and by_choice["c"] < -3.3 < hartmann.optimum + 0.02
    st = suite["StyblinskiTang-mixed"]
    z = -2.903534
    best = st.truth({"x0": z - 1.5, "x1": z + 1.5, "x2": z + 1.0, "n3": -4, "c4": "c"})["f"]
    assert best == pytest.approx(st.optimum, abs=1e-3)
    assert st.truth({"x0": z, "x1": z, "x2": z, "n3": -3, "c4": "a"})["f"] == pytest.approx(st.optimum + 8.0, abs=1e-3)


def test_bo_compare_production_path_on_new_kinds(tmp_path):
    """adaptive runs mixed, noisy (scored at its model-based recommendation) and linearly constrained
    problems through fresh loads; baselines come from the store and are appended to it."""
    from benchmarks.bo_compare import load_store

    out, store = tmp_path / "bo", tmp_path / "store.jsonl"
    argv = ["--problems", "Hartmann6-mixed", "Gramacy-noisy", "Hartmann6-linear", "--methods", "adaptive", "sobol",
            "--seeds", "1", "--batches", "1", "--n-init", "4", "--n-bo", "2", "--workers", "1",
            "--store", str(store), "--out", str(out)]
    assert bo_compare.main(argv) == 0
    stored = load_store(store)
    assert {k[0] for k in stored} == {"sobol"} and len(stored) == 3
    rows = json.loads(out.with_suffix(".json").read_text())["rows"]
    noisy = next(r for r in rows if r["method"] == "adaptive" and r["problem"] == "Gramacy-noisy")
    assert noisy["recommended"] in noisy["params"]
    linear = next(r for r in rows if r["method"] == "adaptive" and r["problem"] == "Hartmann6-linear")
    assert all(sum(p[f"x{i}"] for i in range(4)) <= 1.2 + 1e-9 for p in linear["params"])
    # A second run reads sobol from the store (nothing appended) and re-runs adaptive.
    assert bo_compare.main(argv) == 0
    assert len(store.read_text().splitlines()) == 3


def test_service_http_smoke(tmp_path):
    from benchmarks import service_http

    assert service_http.main(["--requests", "20", "--out", str(tmp_path / "service")]) == 0
    rows = json.loads((tmp_path / "service.json").read_text())["rows"]
    assert [r["route"].split(" (")[0] for r in rows] == [
        "GET assignment", "in-process serving.assign", "POST assignments", "GET distribution", "POST decision"]
    assert all(r["items_per_s"] > 0 for r in rows)


def test_a_store_copied_mid_append_loses_only_its_cut_last_line(tmp_path):
    store = tmp_path / "store.jsonl"
    store.write_text('{"method": "ax", "problem": "P", "seed": 0, "batch": 1, "score": 1.5}\n{"method": "ax", "pro')
    assert bo_compare.load_store(store) == {("ax", "P", 0, 1, 8, 20): {
        "method": "ax", "problem": "P", "seed": 0, "batch": 1, "score": 1.5}}
    store.write_text('{"method": "ax", "pro\n{"method": "ax", "problem": "P", "seed": 0, "batch": 1}\n')
    with pytest.raises(json.JSONDecodeError):  # damage inside the file is not a cut-off copy
        bo_compare.load_store(store)


def test_engine_parity_pairs_runs_and_counts_identical_proposals(tmp_path):
    from benchmarks import engine_parity

    def run(seed, score, params, created="2026-12-04T00:00:00"):
        return {"method": "adaptive", "problem": "P", "batch": 1, "seed": seed, "score": score, "params": params,
                "median_seconds_per_call": 0.5, "created": created}

    journal = tmp_path / "j.runs.jsonl"
    rows = [run(0, 1.0, [{"x": 0.1}], "2026-12-03T00:00:00"), run(0, 0.5, [{"x": 0.2}]), run(1, 2.0, [{"x": 0.3}]),
            {**run(0, 9.0, []), "method": "ax"}]
    journal.write_text("\n".join(json.dumps(r) for r in rows) + '\n{"method": "adap')  # a cut-short last line
    before = engine_parity.journal_rows(journal)
    assert set(before) == {("P", 1, 0), ("P", 1, 1)} and before[("P", 1, 0)]["score"] == 0.5  # the latest run
    after = {("P", 1, 0): run(0, 0.5, [{"x": 0.2}]), ("P", 1, 1): run(1, 1.5, [{"x": 0.4}])}
    (line,) = engine_parity.compare(before, after)
    assert (line["runs"], line["identical"]) == (2, 1)
    assert line["max_abs_score_difference"] == 0.5 and line["median_before"] == 1.25 and line["median_after"] == 1.0
