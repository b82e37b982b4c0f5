"""The benchmark drivers run (tiny budgets; the real runs are in benchmarks/results/)."""

import json

from benchmarks import bo_compare


def test_bo_compare_smoke(tmp_path):
    out = tmp_path / "bo"
    assert bo_compare.main(["--problems", "BraninCurrin", "--methods", "adaptive", "sobol", "--seeds", "1",
                            "--batches", "2", "--n-init", "4", "--n-bo", "2", "--workers", "1", "--out", str(out)]) == 0
    rows = json.loads(out.with_suffix(".json").read_text())["rows"]
    assert {r["method"] for r in rows} == {"adaptive", "sobol"}
    assert all(r["n_trials"] == 6 for r in rows)
    assert "| BraninCurrin | 2 |" in out.with_suffix(".md").read_text()


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
