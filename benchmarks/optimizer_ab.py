"""The acquisition optimizers side by side on the production path: SciPy's L-BFGS-B vs the torch path.

    python -m benchmarks.optimizer_ab --problems Hartmann6-constrained BraninCurrin --seeds 6

Each row is ``benchmarks.bo_compare._job('adaptive', PROBLEM, seed, 1, 8, 20)`` (a fresh
experiment in SQLite, 8 quasi-random + 20 BO trials, batch 1) with the optimizer forced to
``scipy`` or ``torch`` for every proposal (``torch`` covers spaces of floats without linear
constraints; others keep SciPy, so pick such problems). On the CPU ``auto`` means ``scipy``;
the torch path is what ``auto`` takes on CUDA, and this checks on the CPU that it proposes
trials of the same quality. Writes ``benchmarks/results/optimizer_ab.{jsonl,md}``.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
from multiprocessing import get_context
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
ARMS = ("scipy", "torch")


def run(arm: str, problem: str, seed: int) -> dict:
    from adaptive.generation import optimize
    from benchmarks.bo_compare import _job

    logging.getLogger("adaptive").setLevel(logging.WARNING)
    optimize._use_torch = (lambda settings, device, *, box_of_floats: box_of_floats) if arm == "torch" else (
        lambda settings, device, *, box_of_floats: False)
    row = _job("adaptive", problem, seed, 1, 8, 20)
    row["arm"] = arm
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problems", nargs="+", required=True)
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS / "optimizer_ab")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    log = logging.getLogger("benchmarks.optimizer_ab")
    jobs = [(arm, problem, seed) for problem in args.problems for seed in range(args.seeds) for arm in ARMS]
    rows = []
    with get_context("spawn").Pool(args.workers) as pool, args.out.with_suffix(".jsonl").open("w") as out:
        for i, row in enumerate(pool.imap_unordered(_star, jobs), 1):
            rows.append(row)
            out.write(json.dumps({k: row[k] for k in ("arm", "problem", "seed", "score", "n_feasible",
                                                      "median_seconds_per_call", "versions")}) + "\n")
            out.flush()
            log.info("%d/%d %s %s seed %d: score %.4f, %.2f s per suggest", i, len(jobs), row["arm"], row["problem"],
                     row["seed"], row["score"], row["median_seconds_per_call"])
    _report(rows, args.out.with_suffix(".md"), " ".join(argv if argv is not None else sys.argv[1:]))
    return 0


def _star(job: tuple[str, str, int]) -> dict:
    return run(*job)


def _report(rows: list[dict], path: Path, command: str) -> None:
    from scipy.stats import wilcoxon

    lines = ["# Acquisition optimizers on the production path: SciPy vs torch (CPU)", "",
             f"Command: `python -m benchmarks.optimizer_ab {command}`", "",
             "Scores: log10 regret / log10 HV gap of the recommended configs, lower is better; "
             "median over seeds; seconds: median per suggest on one CPU thread.", "",
             "| problem | scipy | torch | torch better on | Wilcoxon p | s / suggest, scipy | s / suggest, torch |",
             "|---|---|---|---|---|---|---|"]
    for problem in dict.fromkeys(r["problem"] for r in rows):
        by = {arm: {r["seed"]: r for r in rows if r["problem"] == problem and r["arm"] == arm} for arm in ARMS}
        seeds = sorted(set(by["scipy"]) & set(by["torch"]))
        a = [by["scipy"][s]["score"] for s in seeds]
        b = [by["torch"][s]["score"] for s in seeds]
        better = sum(y < x for x, y in zip(a, b))
        p = wilcoxon(a, b).pvalue if any(x != y for x, y in zip(a, b)) else 1.0
        t = {arm: statistics.median(by[arm][s]["median_seconds_per_call"] for s in seeds) for arm in ARMS}
        lines.append(f"| {problem} | {statistics.median(a):.3f} | {statistics.median(b):.3f} | {better} of {len(seeds)} | "
                     f"{p:.2f} | {t['scipy']:.2f} | {t['torch']:.2f} |")
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
