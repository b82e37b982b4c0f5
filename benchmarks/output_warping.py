"""adaptive with and without the single objective's Yeo-Johnson warp, same problems and seeds.

    python -m benchmarks.output_warping --seeds 20 --workers 2

Problems: Hartmann6 with an outcome constraint (``benchmarks.problems``), unconstrained
Branin, Hartmann6, Rosenbrock4, Styblinski-Tang4 and Levy4, and Hartmann6 observed with
Gaussian noise (``--noise``, metric units). Noiseless problems are scored like
``bo_compare`` (log10 regret of the best feasible value found); noisy ones by the true value
of the trial with the best observed value, the config a user would ship. Writes
``benchmarks/results/output_warping.{json,md}`` with the command; progress is logged per run.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from datetime import datetime, timezone
from pathlib import Path

from benchmarks.bo_compare import write_results

logger = logging.getLogger("benchmarks.output_warping")
RESULTS = Path(__file__).parent / "results"
NOISY_BASE = "Hartmann6"


def _all_problems() -> dict:
    from benchmarks.problems import problems, single_objective_problems

    return {"Hartmann6-constrained": problems()["Hartmann6-constrained"], **single_objective_problems()}


def _job(problem: str, noise: float, seed: int, batch: int, warp: bool, n_init: int, n_bo: int) -> dict:
    import torch

    torch.set_num_threads(1)
    from benchmarks.methods import run_adaptive
    from benchmarks.problems import noisy

    p = _all_problems()[problem]
    if noise:
        p = noisy(p, noise)
    result = run_adaptive(p, seed, batch, n_init, n_bo, warp=warp)
    # Noisy: the true value of the trial with the best observed value, the config a user would ship.
    shipped = None
    if noise:
        ((metric, _),) = p.objectives
        shipped = result.params[min(range(len(result.outcomes)), key=lambda i: result.outcomes[i][metric])]
    score = p.score(result.params, shipped)
    return {
        "problem": p.name, "noise": noise, "seed": seed, "batch": batch, "warp": warp, "score": score,
        "median_seconds_per_call": statistics.median(result.seconds) if result.seconds else None,
    }


def summarize(rows: list[dict]) -> str:
    from scipy.stats import wilcoxon

    lines = [
        "Median (mean) over seeds of the score (log10 regret; lower is better) without and with the warp, "
        "median seconds per model-based suggest, and the pairing by seed.\n",
        "| problem | q | seeds | unwarped | warped | s / suggest unwarped, warped | warped better / worse (Wilcoxon p) |",
        "|---|---|---|---|---|---|---|",
    ]
    for problem, batch in dict.fromkeys((r["problem"], r["batch"]) for r in rows):
        by = {w: {r["seed"]: r for r in rows if r["problem"] == problem and r["batch"] == batch and r["warp"] is w}
              for w in (False, True)}
        seeds = sorted(set(by[False]) & set(by[True]))
        if not seeds:
            continue
        off, on = ([by[w][s]["score"] for s in seeds] for w in (False, True))
        secs = [statistics.median(by[w][s]["median_seconds_per_call"] or 0.0 for s in seeds) for w in (False, True)]
        better, worse = sum(b < a for a, b in zip(off, on)), sum(b > a for a, b in zip(off, on))
        p = wilcoxon(on, off).pvalue if better + worse >= 2 else float("nan")
        cell = [f"{statistics.median(x):.2f} ({statistics.mean(x):.2f})" for x in (off, on)]
        lines.append(
            f"| {problem} | {batch} | {len(seeds)} | {cell[0]} | {cell[1]} | {secs[0]:.2f}, {secs[1]:.2f} "
            f"| {better} / {worse} (p={p:.2g}) |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problems", nargs="*", default=list(_all_problems()))
    parser.add_argument("--noise", type=float, nargs="*", default=[0.1, 0.3], help=f"noise sds for noisy {NOISY_BASE}")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--batches", type=int, nargs="+", default=[1])
    parser.add_argument("--n-init", type=int, default=8)
    parser.add_argument("--n-bo", type=int, default=20)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", default=str(RESULTS / "output_warping"))
    args = parser.parse_args(argv)
    unknown = set(args.problems) - set(_all_problems())
    if unknown:
        parser.error(f"unknown problems {sorted(unknown)}; known: {sorted(_all_problems())}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    cases = [(p, 0.0) for p in args.problems] + [(NOISY_BASE, sd) for sd in args.noise]
    jobs = [
        (p, sd, s, b, w, args.n_init, args.n_bo)
        for p, sd in cases for b in args.batches for s in range(args.seeds) for w in (False, True)
    ]
    rows, started = [], time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        futures = {pool.submit(_job, *job): job for job in jobs}
        for i, future in enumerate(as_completed(futures), 1):
            row = future.result()
            rows.append(row)
            logger.info("[%d/%d] %-22s seed=%d q=%d warp=%s score=%.3f (%.0fs elapsed)", i, len(jobs), row["problem"],
                        row["seed"], row["batch"], row["warp"], row["score"], time.perf_counter() - started)
    rows.sort(key=lambda r: (r["noise"], r["problem"], r["batch"], r["seed"], r["warp"]))
    command = "python -m benchmarks.output_warping " + " ".join(argv if argv is not None else sys.argv[1:])
    meta = {
        "command": command.strip(), "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "n_init": args.n_init, "n_bo": args.n_bo,
    }
    table = summarize(rows)
    write_results(Path(args.out), "Output warping", meta, rows, table, [
        f"Budget: {args.n_init} initial + {args.n_bo} model-based trials; one torch thread per run.",
    ])
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
