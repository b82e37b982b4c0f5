"""Multi-task (simulator + online) vs online-only vs Ax's multi-task GP, on biased-simulator problems.

    python -m benchmarks.multitask_compare --seeds 5 --workers 2

Every method gets the same simulator trials (a Sobol design, already observed) and
the same online budget: ``--online-init`` quasi-random online trials, then
``--online-bo`` model-based ones, one per call. Reported per problem, median over
seeds: the best true online value among the online trials (regret to the optimum),
the online leave-one-out RMSE of adaptive's models on the same final data (online
rows only vs every source), the RMSE on 512 held-out random points, and the median
seconds per model-based suggest call.

Writes ``benchmarks/results/multitask_compare.json`` (every run) and ``multitask_compare.md``
with the command that made them. Progress is logged per finished run.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from benchmarks.multitask_problems import DIM, OPTIMUM, PROBLEMS, BiasedProblem, online_true

logger = logging.getLogger("benchmarks.multitask_compare")
RESULTS = Path(__file__).parent / "results"
NAMES = [f"x{i}" for i in range(DIM)]
METHODS = ["adaptive_multitask", "adaptive_online_only", "ax_multitask"]


def simulator_design(n: int, seed: int) -> np.ndarray:
    import torch

    return torch.quasirandom.SobolEngine(DIM, scramble=True, seed=10_000 + seed).draw(n, dtype=torch.float64).numpy()


def test_points(seed: int) -> np.ndarray:
    return np.random.default_rng(20_000 + seed).random((512, DIM))


def run_adaptive(problem: BiasedProblem, seed: int, n_sim: int, n_init: int, n_bo: int, *, use_simulator: bool) -> dict:
    import adaptive as ad
    from adaptive.modeling import fit_each_metric

    rng = np.random.default_rng(seed)
    exp = ad.create_experiment(
        "bench", storage="sqlite://", seed=seed, parameters={n: ad.Float(0.0, 1.0) for n in NAMES},
        objectives=ad.Maximize("m"), generation=ad.GenerationSettings(initial_trials=n_init),
    )
    if use_simulator:
        for x in simulator_design(n_sim, seed):
            exp.attach(dict(zip(NAMES, map(float, x))), {"m": problem.observe_simulator(x, rng)}, source="simulator")
    seconds, online_x = [], []
    for i in range(n_init + n_bo):
        start = time.perf_counter()
        (trial,) = exp.suggest(1)
        if i >= n_init:
            seconds.append(time.perf_counter() - start)
        x = np.array([trial.params[n] for n in NAMES])
        online_x.append(x)
        exp.complete(trial.id, {"m": problem.observe_online(x, rng)})
    values = [online_true(x) for x in online_x]
    out = {"best": max(values), "values": values, "x": [x.tolist() for x in online_x], "seconds": seconds}
    if use_simulator:
        row = exp.source_report().iloc[0]
        out.update(loo_online_only=row["loo_rmse_target_only"], loo_multitask=row["loo_rmse_all_sources"], model=row["model"])
    grid = test_points(seed)
    models = fit_each_metric(exp.search_space, exp.trials(), ["m"], source="online", seed=seed, device=exp.device)
    import torch

    with torch.no_grad():
        pred = models["m"].posterior(exp.search_space.encode([dict(zip(NAMES, map(float, x))) for x in grid])).mean
    out["test_rmse"] = float(np.sqrt(np.mean((pred.squeeze(-1).numpy() - np.array([online_true(x) for x in grid])) ** 2)))
    return out


def run_ax(problem: BiasedProblem, seed: int, n_sim: int, n_init: int, n_bo: int) -> dict:
    from benchmarks.ax_multitask import AxMultiTask

    rng = np.random.default_rng(seed)
    ax = AxMultiTask(NAMES, seed=seed, n_init=n_init)
    for x in simulator_design(n_sim, seed):
        ax.attach_simulator(dict(zip(NAMES, map(float, x))), problem.observe_simulator(x, rng))
    seconds, online_x = [], []
    for i in range(n_init + n_bo):
        start = time.perf_counter()
        index, params = ax.suggest_online()
        if i >= n_init:
            seconds.append(time.perf_counter() - start)
        x = np.array([params[n] for n in NAMES])
        online_x.append(x)
        ax.complete(index, problem.observe_online(x, rng))
    grid = test_points(seed)
    pred = ax.predict_online([dict(zip(NAMES, map(float, x))) for x in grid])
    test_rmse = float(np.sqrt(np.mean((pred - np.array([online_true(x) for x in grid])) ** 2))) if pred is not None else None
    values = [online_true(x) for x in online_x]
    return {
        "best": max(values), "values": values, "x": [x.tolist() for x in online_x], "seconds": seconds, "test_rmse": test_rmse,
    }


def _job(method: str, problem: str, seed: int, n_sim: int, n_init: int, n_bo: int) -> dict:
    import torch

    torch.set_num_threads(1)  # one job per core, the same for every method
    p = PROBLEMS[problem]
    start = time.perf_counter()
    if method == "ax_multitask":
        out = run_ax(p, seed, n_sim, n_init, n_bo)
    else:
        out = run_adaptive(p, seed, n_sim, n_init, n_bo, use_simulator=method == "adaptive_multitask")
    out.update(
        method=method, problem=problem, seed=seed, regret=OPTIMUM - out["best"],
        median_seconds_per_call=statistics.median(out["seconds"]) if out["seconds"] else None,
        wall_seconds=time.perf_counter() - start,
    )
    return out


def _median(rows: list[dict], key: str) -> float | None:
    values = [r[key] for r in rows if r.get(key) is not None]
    return statistics.median(values) if values else None


def _fmt(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def summarize(rows: list[dict]) -> str:
    lines = [
        "Median over seeds. Regret: optimum minus the best true online value among the online trials "
        "(lower is better). Test RMSE: the final online model on 512 random points. LOO RMSE: adaptive's "
        "online leave-one-out error on the multi-task run's final online trials, from a model of the online rows "
        "only vs the multi-task model over both sources. Seconds: median per model-based suggest call.\n",
        "| problem | method | regret | test RMSE | LOO RMSE online-only | LOO RMSE multi-task | s / suggest |",
        "|---|---|---|---|---|---|---|",
    ]
    for problem in PROBLEMS:
        for method in METHODS:
            rs = [r for r in rows if r["problem"] == problem and r["method"] == method]
            if not rs:
                continue
            lines.append(
                f"| {problem} | {method} | {_fmt(_median(rs, 'regret'))} | {_fmt(_median(rs, 'test_rmse'))} | "
                f"{_fmt(_median(rs, 'loo_online_only'))} | {_fmt(_median(rs, 'loo_multitask'))} | "
                f"{_fmt(_median(rs, 'median_seconds_per_call'), 2)} |"
            )
    lines += ["", "Targets (informative problems: multi-task vs online-only and vs Ax; useless: vs online-only):", ""]
    for problem in PROBLEMS:
        by = {m: [r for r in rows if r["problem"] == problem and r["method"] == m] for m in METHODS}
        if not all(by.values()):
            continue
        mt, on, ax = by["adaptive_multitask"], by["adaptive_online_only"], by["ax_multitask"]
        loo_cut = 1 - _median(mt, "loo_multitask") / _median(mt, "loo_online_only")
        test_cut = 1 - _median(mt, "test_rmse") / _median(on, "test_rmse")
        time_ratio = _median(mt, "median_seconds_per_call") / _median(ax, "median_seconds_per_call")
        lines.append(
            f"- {problem}: LOO RMSE {100 * loo_cut:+.0f}% lower, test RMSE {100 * test_cut:+.0f}% lower than online-only; "
            f"regret {_fmt(_median(mt, 'regret'))} vs online-only {_fmt(_median(on, 'regret'))} vs Ax "
            f"{_fmt(_median(ax, 'regret'))}; time per suggest {time_ratio:.2f}x Ax's; models used: "
            + ", ".join(sorted({str(r.get('model')) for r in mt}))
            + f"; paired by seed, multi-task vs online-only {_paired(mt, on)}, vs Ax {_paired(mt, ax)}"
        )
    lines += _traces(rows)
    return "\n".join(lines)


def _traces(rows: list[dict]) -> list[str]:
    """Median regret after each online trial (the first ``--online-init`` are quasi-random), per
    problem and method: when the optimum's basin is found and how the refinement goes."""
    traced = [r for r in rows if r.get("values")]
    if not traced:
        return []
    n = min(len(r["values"]) for r in traced)
    lines = [
        "", "Median regret after each online trial:", "",
        "| problem | method | " + " | ".join(str(i + 1) for i in range(n)) + " |", "|---|---|" + "---|" * n,
    ]
    for problem in PROBLEMS:
        for method in METHODS:
            rs = [r for r in traced if r["problem"] == problem and r["method"] == method]
            if not rs:
                continue
            best = [[OPTIMUM - max(r["values"][: i + 1]) for r in rs] for i in range(n)]
            lines.append(f"| {problem} | {method} | " + " | ".join(_fmt(statistics.median(b)) for b in best) + " |")
    return lines


def _paired(rows: list[dict], others: list[dict]) -> str:
    """Seeds where ``rows`` had lower / higher regret than ``others``, and the two-sided
    Wilcoxon signed-rank p-value of the paired differences (is a gap beyond seed noise?)."""
    from scipy.stats import wilcoxon

    theirs = {r["seed"]: r["regret"] for r in others}
    diffs = [r["regret"] - theirs[r["seed"]] for r in rows if r["seed"] in theirs]
    better, worse = sum(d < 0 for d in diffs), sum(d > 0 for d in diffs)
    p = wilcoxon(diffs).pvalue if better + worse >= 2 else float("nan")
    return f"lower regret on {better}, higher on {worse} of {len(diffs)} seeds (Wilcoxon p={p:.2f})"


def _versions() -> dict[str, str]:
    out = {}
    for name in ("adaptive-experiments", "ax-platform", "botorch", "torch"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--simulator-trials", type=int, default=60)
    parser.add_argument("--online-init", type=int, default=4)
    parser.add_argument("--online-bo", type=int, default=10)
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS), choices=list(PROBLEMS))
    parser.add_argument("--methods", nargs="+", default=METHODS, choices=METHODS)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    jobs = [
        (m, p, s, args.simulator_trials, args.online_init, args.online_bo)
        for p in args.problems for s in range(args.seeds) for m in args.methods
    ]
    rows, start = [], time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        futures = {pool.submit(_job, *job): job for job in jobs}
        for done, future in enumerate(as_completed(futures), start=1):
            row = future.result()
            rows.append(row)
            logger.info(
                "[%d/%d] %s %s seed %d: regret %.3f, %.2fs/suggest (%.0fs elapsed)", done, len(jobs), row["problem"],
                row["method"], row["seed"], row["regret"], row["median_seconds_per_call"] or 0, time.perf_counter() - start,
            )
    args.output.mkdir(parents=True, exist_ok=True)
    command = "python -m benchmarks.multitask_compare " + " ".join(argv if argv is not None else sys.argv[1:])
    meta = {
        "command": command.strip(), "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, torch threads per job 1",
        "versions": _versions(), "settings": vars(args) | {"output": str(args.output)},
    }
    (args.output / "multitask_compare.json").write_text(json.dumps({"meta": meta, "runs": rows}, indent=1, default=str))
    table = summarize(rows)
    (args.output / "multitask_compare.md").write_text(
        f"# Multi-task vs online-only vs Ax multi-task\n\nCommand: `{meta['command']}` ({meta['date']}; "
        f"{meta['machine']}; {', '.join(f'{k} {v}' for k, v in meta['versions'].items())})\n\n{table}\n"
    )
    print(table)  # noqa: T201 - a command-line report
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
