"""adaptive vs Ax vs Optuna vs Sobol on the declared suite (``benchmarks.problems``): same
problems, seeds and budgets, scored on true values.

    python -m benchmarks.bo_compare --seeds 10 --batches 1 4 --workers 2 --store benchmarks/results/bo_suite_baselines.jsonl --recheck 2

Batch 4 runs on ``BATCH_PROBLEMS`` only (one problem of each kind and the first four).

The baselines (Ax, Optuna, Sobol) do not change between runs: with ``--store``, each of their
runs is read from that JSON-lines file when it holds one for the same method, problem, seed,
batch and budget, and otherwise run and appended the moment it finishes (so a long baseline
run can be spread over several sittings). ``--recheck N`` re-runs the stored baselines of seeds
0..N-1 (of ``--recheck-methods``: Ax and Optuna's GPSampler) in this sitting: the table's time ratios come from those (the same machine, the same
load as adaptive's runs) and the md says whether each rerun reproduced its stored score.
adaptive's methods always run afresh.

Writes ``--out``.json (every run) and ``--out``.md (medians over seeds, ratios to Ax, the
paired tests and the target check) with the command that made them. Progress is logged per
finished run.

A verdict run takes hours on two cores, so every run of this sitting (adaptive's and the
rechecks) is also appended to ``--out``.runs.jsonl the moment it finishes, tagged with the
engine that made it: the git blob id of every file of ``adaptive/`` (and of the migrations)
loaded by the run. The same command started again takes from there each run whose files are
all unchanged and runs only the rest, so a change to the events pipeline or the service does
not restart a verdict, while any change to code the optimizer ran does. (Files edited while
a run is in flight are not supported: the ids are read as the run ends.)
"""

from __future__ import annotations

import argparse
import hashlib
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
TIME_TARGET = 0.5  # adaptive's seconds per suggest over Ax's


def _job(method: str, problem: str, seed: int, batch: int, n_init: int, n_bo: int) -> dict:
    import torch

    torch.set_num_threads(1)  # one job per core; same for every method
    from benchmarks.methods import METHODS
    from benchmarks.problems import problems

    p = problems()[problem]
    start = time.perf_counter()
    result = METHODS[method](p, seed, batch, n_init, n_bo)
    truths = [p.truth(x) for x in result.params]
    return {
        "engine_files": engine_files(),
        "method": method, "problem": problem, "seed": seed, "batch": batch, "n_init": n_init, "n_bo": n_bo,
        "score": p.score(result.params, result.recommended), "n_trials": len(result.params),
        "n_feasible": sum(p.feasible(x, o) for x, o in zip(result.params, truths)),
        "params": result.params, "recommended": result.recommended,
        "seconds_per_call": result.seconds,
        "median_seconds_per_call": statistics.median(result.seconds) if result.seconds else None,
        "wall_seconds": time.perf_counter() - start,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": _machine(), "versions": _versions(),
    }


def _quiet_worker() -> None:
    """Pool initializer: the per-call log lines of thousands of runs help nobody."""
    for name in ("adaptive", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _machine() -> str:
    """Architecture, CPU model, cores and Python: floating-point results differ across CPUs, and a
    20-step BO loop amplifies the differences (stored baselines do not reproduce bit for bit on
    another CPU model)."""
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    return f"{platform.machine()}{f' ({model})' if model else ''}, {os.cpu_count()} cores, {platform.python_version()}"


def _versions() -> dict[str, str]:
    out = {}
    for name in ("adaptive-experiments", "ax-platform", "optuna", "botorch", "torch"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


ROOT = Path(__file__).resolve().parent.parent


def _blob_id(path: Path) -> str:
    """git's id of the file's content (``git hash-object``), so a file can be matched to commits."""
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def engine_files() -> dict[str, str]:
    """Blob id by path (relative to the repository) of every ``adaptive`` module this process
    has loaded, and of every migration (a fresh database runs them all)."""
    files = {
        Path(module.__file__).resolve()
        for name, module in list(sys.modules.items())
        if (name == "adaptive" or name.startswith("adaptive.")) and getattr(module, "__file__", None)
    }
    files |= set((ROOT / "adaptive" / "storage" / "migrations").rglob("*.py"))
    out = {}
    for path in sorted(files):
        try:
            out[str(path.relative_to(ROOT))] = _blob_id(path)
        except (OSError, ValueError):  # a file outside this checkout (an installed copy): not comparable
            out[str(path)] = "unknown"
    return out


def same_engine(row: dict) -> bool:
    """Whether every file the row's run loaded is unchanged in this checkout."""
    files = row.get("engine_files")
    if not files:
        return False
    if any(str(m.relative_to(ROOT)) not in files for m in (ROOT / "adaptive" / "storage" / "migrations").rglob("*.py")):
        return False  # a migration added since: a fresh database would differ
    for rel, blob in files.items():
        path = ROOT / rel
        if blob == "unknown" or not path.is_file() or _blob_id(path) != blob:
            return False
    return True


def _without_engine(row: dict) -> dict:
    return {k: v for k, v in row.items() if k != "engine_files"}


def load_journal(path: Path) -> dict[tuple, dict]:
    """This verdict's earlier runs by key, those whose every loaded file is unchanged in this
    checkout only (rows journalled without their files never match)."""
    if not path.exists():
        return {}
    return {_key(r): r for r in _read_lines(path) if same_engine(r)}


def _key(row: dict) -> tuple:
    return (row["method"], row["problem"], row["seed"], row["batch"], row.get("n_init", 8), row.get("n_bo", 20))


def _read_lines(path: Path) -> list[dict]:
    """The rows of a JSON-lines file; a last line cut short (a copy taken mid-append) is skipped."""
    rows = []
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    for i, line in enumerate(lines):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            if i < len(lines) - 1:
                raise
            logger.warning("%s: its last line is cut short; skipped", path)
    return rows


def load_store(path: Path) -> dict[tuple, dict]:
    """Stored baseline runs by (method, problem, seed, batch, n_init, n_bo); the last one of a key wins."""
    if not path.exists():
        return {}
    return {_key(r): r for r in _read_lines(path)}


def _append(path: Path, row: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        f.write(json.dumps(row) + "\n")
        f.flush()
        os.fsync(f.fileno())


def rescore(rows: list[dict]) -> list[dict]:
    """Scores recomputed from each run's configs with the problems as defined now (a reference
    optimum refined after a run was stored changes its score, not its configs). Runs stored
    without their configs (imported from an earlier results file) keep their score."""
    from benchmarks.problems import problems

    suite = problems()
    out = []
    for r in rows:
        if r.get("params") is not None and r["problem"] in suite:
            r = dict(r, score=suite[r["problem"]].score(r["params"], r.get("recommended")))
        out.append(r)
    return out


def _cell(rows: list[dict]) -> tuple[float, float | None]:
    score = statistics.median(r["score"] for r in rows)
    secs = [r["median_seconds_per_call"] for r in rows if r["median_seconds_per_call"] is not None]
    return score, (statistics.median(secs) if secs else None)


def _paired(rows: list[dict], other: str) -> str:
    from scipy.stats import wilcoxon

    def scores(method: str) -> dict[int, float]:
        return {r["seed"]: r["score"] for r in rows if r["method"] == method}

    ours, theirs = scores("adaptive"), scores(other)
    diffs = [ours[s] - theirs[s] for s in ours if s in theirs]
    if not diffs:
        return "–"
    better, worse = sum(d < 0 for d in diffs), sum(d > 0 for d in diffs)
    p = wilcoxon(diffs).pvalue if better + worse >= 2 else float("nan")
    return f"{better} / {worse} (p={p:.2f})"


def summarize(rows: list[dict], methods: list[str], timing: list[dict] | None = None) -> str:
    """The table: per problem and batch, each method's median score (and seconds per suggest),
    adaptive's time over Ax's (from ``timing``, this sitting's Ax runs, when given), the pairing
    with Ax and Optuna's GPSampler, and whether the target is met."""
    from benchmarks.problems import problems

    kinds = {name: p.kind for name, p in problems().items()}
    lines = [
        "Median over seeds of the final score (log10 hypervolume gap, or log10 regret of the best feasible "
        "value, or on noisy problems of the recommended config; lower is better) and, in brackets, median "
        "seconds per model-based suggest (adaptive: a fresh load from the database plus the suggest).\n",
        "| problem | kind | q | seeds | " + " | ".join(methods)
        + " | time / Ax | vs Ax: better / worse (p) | vs Optuna GP: better / worse (p) | target met |",
        "|" + "---|" * (len(methods) + 8),
    ]
    order = list(problems())
    keys = sorted({(r["problem"], r["batch"]) for r in rows}, key=lambda k: (k[1], order.index(k[0]) if k[0] in order else 99))
    for problem, batch in keys:
        here = [r for r in rows if r["problem"] == problem and r["batch"] == batch]
        med: dict[str, tuple[float, float | None]] = {}
        cells = []
        for m in methods:
            rs = [r for r in here if r["method"] == m]
            if not rs:
                cells.append("–")
                continue
            med[m] = _cell(rs)
            score, sec = med[m]
            cells.append(f"{score:.2f}" + (f" ({sec:.2f}s)" if sec is not None else ""))
        ours = med.get("adaptive")
        ax_times = [r for r in (timing or here) if r["method"] == "ax" and r["problem"] == problem and r["batch"] == batch]
        ours_times = [r for r in here if r["method"] == "adaptive"]
        ratio = None
        if ours_times and ax_times:
            ratio = _cell(ours_times)[1] / _cell(ax_times)[1] if _cell(ax_times)[1] else None
        bar = [med[m][0] for m in ("ax", "optuna_gp") if m in med]
        met = "–"
        if ours is not None and bar and ratio is not None:
            quality, speed = ours[0] <= min(bar) + 1e-9, ratio <= TIME_TARGET
            met = "yes" if quality and speed else "no (" + ", ".join(
                x for x, ok in (("quality", quality), ("time", speed)) if not ok) + ")"
        seeds = len({r["seed"] for r in here if r["method"] == "adaptive"})
        lines.append(
            f"| {problem} | {kinds.get(problem, '')} | {batch} | {seeds} | " + " | ".join(cells)
            + f" | {'–' if ratio is None else f'{ratio:.2f}'} | {_paired(here, 'ax')} | {_paired(here, 'optuna_gp')} | {met} |"
        )
    lines.append(
        "\nThe target: adaptive's median at least as good as the better of Ax's (as shipped) and Optuna "
        f"GPSampler's, at no more than {TIME_TARGET}x Ax's median seconds per suggest. The paired columns "
        "count the seeds on which adaptive ended better or worse and give the two-sided Wilcoxon signed-rank "
        "p-value of the differences; a large p means the gap is within seed-to-seed noise."
    )
    return "\n".join(lines)


def _recheck_lines(fresh: list[dict], store: dict[tuple, dict]) -> list[str]:
    out = []
    for row in sorted(fresh, key=_key):
        old = store.get(_key(row))
        if old is None:
            continue
        old, row = rescore([old, row])
        same = abs(old["score"] - row["score"]) < 1e-6
        out.append(
            f"| {row['method']} | {row['problem']} | {row['batch']} | {row['seed']} | {old['score']:.4f} | "
            f"{row['score']:.4f} | {'yes' if same else 'NO'} |"
        )
    if not out:
        return []
    return ["", "Stored baselines re-run in this sitting (their times give the ratios above):", "",
            "| method | problem | q | seed | stored score | this run | reproduced |", "|---|---|---|---|---|---|---|", *out]


def _sittings(rows: list[dict]) -> str:
    days = sorted({r["created"][:10] for r in rows if r.get("created")})
    return ", ".join(days) or "unknown"


def write_results(out: Path, title: str, meta: dict, rows: list[dict], table: str, lines: list[str]) -> None:
    """``out``.json (meta and every row) and ``out``.md (title, command, machine, ``lines``, table)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    header = [f"Command: `{meta['command']}`", f"Created: {meta['created']} on {meta['machine']}", *lines]
    out.with_suffix(".md").write_text(f"# {title}\n\n" + "  \n".join(header) + f"\n\n{table}\n")


def main(argv: list[str] | None = None) -> int:
    from benchmarks.methods import BASELINES, METHODS
    from benchmarks.problems import BATCH_PROBLEMS, problems

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problems", nargs="+", default=list(problems()))
    parser.add_argument("--methods", nargs="+", default=["adaptive", *BASELINES])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--all-batches", action="store_true", help="every batch size on every problem")
    parser.add_argument("--n-init", type=int, default=8)
    parser.add_argument("--n-bo", type=int, default=20)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--store", type=Path, help="JSON-lines file of baseline runs, read and appended to")
    parser.add_argument("--recheck", type=int, default=0, help="re-run stored baselines of this many first seeds")
    parser.add_argument("--recheck-methods", nargs="+", default=["ax", "optuna_gp"],
                        help="which stored baselines --recheck re-runs (Ax's give the time ratios)")
    parser.add_argument("--baselines-only", action="store_true", help="only fill the store; write no table")
    parser.add_argument("--out", default=str(RESULTS / "bo_compare"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    unknown = sorted(set(args.problems) - set(problems())) + sorted(set(args.methods) - set(METHODS))
    if unknown:
        parser.error(f"unknown problems or methods {unknown}; problems: {list(problems())}; methods: {list(METHODS)}")

    store = load_store(args.store) if args.store else {}
    journal_path = Path(args.out).with_suffix(".runs.jsonl")
    journal = load_journal(journal_path)
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    wanted = [  # by batch size, then problem in the order given: a long run fills whole rows early
        (m, p, s, b, args.n_init, args.n_bo)
        for b in args.batches for p in args.problems if b == 1 or args.all_batches or p in BATCH_PROBLEMS
        for s in seeds for m in args.methods
        if not (args.baselines_only and m not in BASELINES)
    ]
    stored_rows, jobs, resumed = [], [], []
    for job in wanted:
        row = store.get(job) if job[0] in BASELINES else None
        if row is not None:
            stored_rows.append(row)
        if row is None or (job[2] < args.first_seed + args.recheck and job[0] in args.recheck_methods):
            if job in journal:
                resumed.append(_without_engine(journal[job]))
            else:
                jobs.append(job)
    logger.info("%d runs: %d from the store, %d from %s, %d to run",
                len(wanted), len(stored_rows), len(resumed), journal_path.name, len(jobs))
    # BoTorch compiles a fused C++ kernel for log-EHVI on first use (cached on disk):
    # build it once here so that no method's timing pays for it.
    if any(m.startswith("adaptive") for m in args.methods):
        _job("adaptive", "BraninCurrin", 0, 1, 3, 1)
    fresh: list[dict] = list(resumed)
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.workers, initializer=_quiet_worker) as pool:
        futures = {pool.submit(_job, *job): job for job in jobs}
        for i, future in enumerate(as_completed(futures), 1):
            job = futures[future]
            try:
                row = future.result()
            except Exception as exc:  # noqa: BLE001 - one failing peer must not lose the whole run
                logger.error("[%d/%d] %s failed: %r", i, len(jobs), job[:4], exc)
                continue
            files = row.pop("engine_files")
            fresh.append(row)
            _append(journal_path, dict(row, engine_files=files))
            if args.store and row["method"] in BASELINES and _key(row) not in store:
                _append(args.store, row)
            logger.info(
                "[%d/%d] %-13s %-22s seed=%d q=%d score=%.3f median=%.2fs (%.0fs elapsed)",
                i, len(jobs), row["method"], row["problem"], row["seed"], row["batch"], row["score"],
                row["median_seconds_per_call"] or 0.0, time.perf_counter() - started,
            )
    if args.baselines_only:
        return 0
    # The table's scores: stored baselines where there are any (a recheck does not replace them), fresh runs otherwise.
    fresh_by_key = {_key(r): r for r in fresh}
    rows = [store.get(_key(r), r) if r["method"] in BASELINES else r for r in fresh_by_key.values()]
    rows += [r for r in stored_rows if _key(r) not in fresh_by_key]
    rows = rescore(rows)
    timing = [r for r in fresh if r["method"] in BASELINES and _key(r) in store] or None
    command = "python -m benchmarks.bo_compare " + " ".join(argv if argv is not None else sys.argv[1:])
    meta = {
        "command": command.strip(), "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": _machine(), "versions": _versions(), "n_init": args.n_init, "n_bo": args.n_bo,
        "torch_threads_per_job": 1, "store": str(args.store) if args.store else None,
        "resumed_runs": len(resumed),
    }
    table = summarize(rows, args.methods, timing)
    write_results(Path(args.out), "BO benchmark", meta, rows + [dict(r, recheck=True) for r in fresh if r["method"] in BASELINES and _key(r) in store], table, [
        f"Versions: {', '.join(f'{k} {v}' for k, v in meta['versions'].items())}",
        f"Budget: {args.n_init} initial + {args.n_bo} model-based trials; one torch thread per run.",
        *(["Baselines from the store " + str(args.store) + "; time ratios from this sitting's re-runs."] if timing else []),
        *([f"{len(resumed)} of the runs taken from {journal_path.name} (earlier sittings of this command, every "
           f"file they loaded unchanged); runs dated {_sittings(fresh)}."] if resumed else []),
        *_recheck_lines(fresh, store),
    ])
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
