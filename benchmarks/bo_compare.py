"""adaptive vs Ax vs Optuna vs Sobol on the same problems, seeds and budgets, in one run.

    python -m benchmarks.bo_compare --seeds 3 --batches 1 4 --workers 2

Writes ``benchmarks/results/bo_compare.json`` (every run) and ``bo_compare.md``
(medians over seeds, and adaptive's ratios to Ax) with the command that made them.
Progress is logged per finished run.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

logger = logging.getLogger("benchmarks.bo_compare")
RESULTS = Path(__file__).parent / "results"


def _job(method: str, problem: str, seed: int, batch: int, n_init: int, n_bo: int) -> dict:
    import torch

    torch.set_num_threads(1)  # one job per core; same for every method
    from benchmarks.methods import METHODS
    from benchmarks.problems import problems

    p = problems()[problem]
    start = time.perf_counter()
    result = METHODS[method](p, seed, batch, n_init, n_bo)
    return {
        "method": method, "problem": problem, "seed": seed, "batch": batch,
        "score": p.score(result.outcomes), "n_trials": len(result.outcomes),
        "n_feasible": sum(p.feasible(o) for o in result.outcomes),
        "seconds_per_call": result.seconds, "median_seconds_per_call": statistics.median(result.seconds) if result.seconds else None,
        "wall_seconds": time.perf_counter() - start,
    }


def _versions() -> dict[str, str]:
    out = {}
    for name in ("adaptive-experiments", "ax-platform", "optuna", "botorch", "torch"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def summarize(rows: list[dict], methods: list[str]) -> str:
    lines = []
    keys = sorted({(r["problem"], r["batch"]) for r in rows})
    header = ("| problem | q | " + " | ".join(methods)
              + " | adaptive time / ax time | adaptive quality >= ax | paired by seed vs ax: adaptive better / worse (Wilcoxon p) |")
    lines.append("Median over seeds of the final score (log10 hypervolume gap, or log10 regret of the best feasible value; lower is better) and, in brackets, median seconds per model-based suggest call.\n")
    lines.append(header)
    lines.append("|" + "---|" * (len(methods) + 5))
    for problem, batch in keys:
        cells, med = [], {}
        for m in methods:
            rs = [r for r in rows if r["method"] == m and r["problem"] == problem and r["batch"] == batch]
            if not rs:
                cells.append("–")
                continue
            score = statistics.median(r["score"] for r in rs)
            secs = [r["median_seconds_per_call"] for r in rs if r["median_seconds_per_call"] is not None]
            sec = statistics.median(secs) if secs else None
            med[m] = (score, sec)
            cells.append(f"{score:.2f}" + (f" ({sec:.2f}s)" if sec is not None else ""))
        ratio, better = "–", "–"
        if "adaptive" in med and "ax" in med and med["ax"][1]:
            ratio = f"{med['adaptive'][1] / med['ax'][1]:.2f}"
            ax_best = min(v[0] for k, v in med.items() if k.startswith("ax"))
            better = "yes" if med["adaptive"][0] <= med["ax"][0] + 1e-9 else "no"
            better += f" (vs best Ax variant: {'yes' if med['adaptive'][0] <= ax_best + 1e-9 else 'no'})"
        paired = _paired(rows, problem, batch)
        lines.append(f"| {problem} | {batch} | " + " | ".join(cells) + f" | {ratio} | {better} | {paired} |")
    lines.append(
        "\nThe last column pairs adaptive's and Ax's (as shipped) final scores by seed: on how many seeds adaptive "
        "ended better or worse, and the two-sided Wilcoxon signed-rank p-value of the differences; a large p "
        "means the gap between the medians is within seed-to-seed noise."
    )
    return "\n".join(lines)


def _paired(rows: list[dict], problem: str, batch: int) -> str:
    from scipy.stats import wilcoxon

    def scores(method: str) -> dict[int, float]:
        return {r["seed"]: r["score"] for r in rows if r["method"] == method and r["problem"] == problem and r["batch"] == batch}

    ours, theirs = scores("adaptive"), scores("ax")
    diffs = [ours[s] - theirs[s] for s in ours if s in theirs]
    if not diffs:
        return "–"
    better, worse = sum(d < 0 for d in diffs), sum(d > 0 for d in diffs)
    p = wilcoxon(diffs).pvalue if better + worse >= 2 else float("nan")
    return f"{better} / {worse} of {len(diffs)} (p={p:.2f})"


def write_results(out: Path, title: str, meta: dict, rows: list[dict], table: str, lines: list[str]) -> None:
    """``out``.json (meta and every row) and ``out``.md (title, command, machine, ``lines``, table)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    header = [f"Command: `{meta['command']}`", f"Created: {meta['created']} on {meta['machine']}", *lines]
    out.with_suffix(".md").write_text(f"# {title}\n\n" + "  \n".join(header) + f"\n\n{table}\n")


def main(argv: list[str] | None = None) -> int:
    from benchmarks.methods import METHODS
    from benchmarks.problems import problems

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problems", nargs="+", default=list(problems()))
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--n-init", type=int, default=8)
    parser.add_argument("--n-bo", type=int, default=20)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", default=str(RESULTS / "bo_compare"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)

    jobs = [
        (m, p, s, b, args.n_init, args.n_bo)
        for p in args.problems for b in args.batches for s in range(args.seeds) for m in args.methods
    ]
    # BoTorch compiles a fused C++ kernel for log-EHVI on first use (cached on disk):
    # build it once here so that no method's timing pays for it.
    _job("adaptive", "BraninCurrin", 0, 1, 3, 1)
    rows = []
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        futures = {pool.submit(_job, *job): job for job in jobs}
        for i, future in enumerate(as_completed(futures), 1):
            job = futures[future]
            try:
                row = future.result()
            except Exception as exc:  # noqa: BLE001 - one failing peer must not lose the whole run
                logger.error("[%d/%d] %s failed: %s", i, len(jobs), job[:4], exc)
                continue
            rows.append(row)
            logger.info(
                "[%d/%d] %-13s %-22s seed=%d q=%d score=%.3f median=%.2fs (%.0fs elapsed)",
                i, len(jobs), row["method"], row["problem"], row["seed"], row["batch"], row["score"],
                row["median_seconds_per_call"] or 0.0, time.perf_counter() - started,
            )
    command = "python -m benchmarks.bo_compare " + " ".join(argv if argv is not None else sys.argv[1:])
    meta = {
        "command": command.strip(), "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "versions": _versions(), "n_init": args.n_init, "n_bo": args.n_bo, "torch_threads_per_job": 1,
    }
    table = summarize(rows, [m for m in args.methods])
    write_results(Path(args.out), "BO benchmark", meta, rows, table, [
        f"Versions: {', '.join(f'{k} {v}' for k, v in meta['versions'].items())}",
        f"Budget: {args.n_init} initial + {args.n_bo} model-based trials; one torch thread per run.",
    ])
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
