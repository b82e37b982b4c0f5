"""Time model fitting, acquisition and export draws on the chosen torch device.

    ADAPTIVE_DEVICE=cuda python -m benchmarks.gpu_acquisition
    python -m benchmarks.gpu_acquisition --device cpu --sizes 50 200 500 --batches 1 4

For each number of observations (default 50 to 2,000) it fits the GPs of a noisy,
constrained 6-d problem (Hartmann6 objective, an L1 outcome constraint, both observed
with sems) exactly as ``Experiment.suggest`` does, then maximizes log-NEI for batches of
``q`` with each optimizer asked for (``--methods``: ``scipy`` = L-BFGS-B, one host round
trip per iteration; ``torch`` = every restart in one tensor program, CUDA graphs on a GPU;
``torch-joint`` = the same with the ``q`` points optimized together; ``torch-eager`` =
``torch`` without CUDA graphs). Every proposed batch is scored by the same acquisition
function (its joint log-NEI value, higher is better), so the optimizers are compared on
quality as well as time.

Further rows, each switched on by its option: ``--cpu-sizes`` times the SciPy path on
this host's CPU with the models fitted on the device (the crossover points of
``ADAPTIVE_DEVICE=auto``); ``--fit-sizes`` times fits alone; ``--mo N`` times
qLogNEHVI (2 objectives, ``N`` observations); ``--export N`` times the joint posterior
draws of ``export_distribution`` over ``N`` candidates; ``--many-metrics K`` times fitting
``K`` metrics at once.

Writes ``<out>/gpu_acquisition_<device>.{json,md}`` (default ``benchmarks/results``) after
every row, so a run stopped at a time limit keeps what it measured.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import platform
import sys
import time
import traceback
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
from botorch.models.model import Model
from botorch.test_functions import Hartmann

from adaptive.generation.acquisition import acquisition_model, build_acquisition
from adaptive.generation.optimize import OptimizerSettings, maximize
from adaptive.modeling import MetricData, fit_models, resolve_device
from adaptive.objectives import Minimize, OptimizationConfig
from adaptive.space import Float, SearchSpace

logger = logging.getLogger("benchmarks.gpu_acquisition")
RESULTS = Path(__file__).parent / "results"
METHODS = {
    "scipy": OptimizerSettings(method="scipy"),
    "torch": OptimizerSettings(method="torch", batch="sequential"),
    "torch-joint": OptimizerSettings(method="torch", batch="joint", num_restarts=64, raw_samples=2048),
    "torch-eager": OptimizerSettings(method="torch", batch="sequential"),
}
SPACE = SearchSpace({f"x{i}": Float(0.0, 1.0) for i in range(6)})
CONFIG = OptimizationConfig.build([Minimize("hartmann")], ["l1 <= 3"])
MO_CONFIG = OptimizationConfig.build([Minimize("hartmann"), Minimize("distance")], [])


def synthetic(n: int, device: torch.device, seed: int = 0, metrics: int = 2) -> list[MetricData]:
    """Hartmann6 (sd 0.05), the L1 norm (sd 0.01) and, from the third metric on, distances to random points."""
    generator = torch.Generator().manual_seed(seed)
    X = torch.rand(n, 6, generator=generator, dtype=torch.float64)
    noise = lambda sd: sd * torch.randn(n, 1, generator=generator, dtype=torch.float64)  # noqa: E731
    columns = [("hartmann", Hartmann(dim=6).evaluate_true(X).unsqueeze(-1) + noise(0.05), 0.05),
               ("l1", X.sum(-1, keepdim=True) + noise(0.01), 0.01)]
    for k in range(2, metrics):
        anchor = torch.rand(6, generator=generator, dtype=torch.float64)
        columns.append((f"m{k}", (X - anchor).norm(dim=-1, keepdim=True) + noise(0.02), 0.02))
    ids = tuple(range(n))
    return [MetricData(name, X.to(device), y.to(device), torch.full_like(y, sd**2).to(device), ids) for name, y, sd in columns]


def mo_synthetic(n: int, device: torch.device) -> list[MetricData]:
    """Hartmann6 and the distance to (0.8, ..., 0.8): two conflicting objectives to minimize."""
    hartmann, _ = synthetic(n, device)
    X = hartmann.X
    distance = (X - 0.8).norm(dim=-1, keepdim=True)
    return [hartmann, MetricData("distance", X, distance, torch.full_like(distance, 1e-4), hartmann.trial_ids)]


class Run:
    def __init__(self, device: torch.device, out: Path, argv: list[str]) -> None:
        self.device = device
        self.rows: list[dict[str, Any]] = []
        self.out = out
        import botorch
        import gpytorch

        self.meta = {
            "command": ("python -m benchmarks.gpu_acquisition " + " ".join(argv)).strip(), "device": str(device),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "cuda": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
            "torch": torch.__version__, "botorch": botorch.__version__, "gpytorch": gpytorch.__version__,
            "cpu_threads": torch.get_num_threads(), "host": platform.processor() or platform.machine(),
        }

    def sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        logger.info("%s", " ".join(f"{k}={_short(v)}" for k, v in row.items()))
        _write(self.out / f"gpu_acquisition_{self.device.type}", self.meta, self.rows)

    def attempt(self, what: str, job: Callable[[], None]) -> None:
        """A failing measurement is reported as a row and the run goes on."""
        try:
            job()
        except Exception as error:  # noqa: BLE001 - one broken row must not lose the others
            logger.error("%s failed:\n%s", what, traceback.format_exc())
            self.add({"kind": "error", "what": what, "error": f"{type(error).__name__}: {error}"[:500]})


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def fit(datas: list[MetricData], run: Run) -> tuple[Model, float]:
    run.sync()
    start = time.perf_counter()
    model = fit_models(datas)
    run.sync()
    return model, time.perf_counter() - start


def acquisition(fitted: Model, datas: list[MetricData], config: OptimizationConfig, seed: int = 0) -> Any:
    """As ``Experiment.suggest`` builds it (see ``strategy._bayesian_seeded``)."""
    model, affine = acquisition_model(copy.deepcopy(fitted))
    ref = None
    if len(config.objectives) > 1:
        signed = torch.cat([-d.Y for d in datas[: len(config.objectives)]], dim=-1)
        ref = signed.min(0).values.cpu().numpy()  # the worst observed value of each objective
    return build_acquisition(model, config, X_baseline=datas[0].X, X_pending=None, ref_point=ref, mc_samples=128,
                             seed=seed, affine=affine)


def propose(fitted: Model, datas: list[MetricData], config: OptimizationConfig, q: int, method: str, run: Run,
            seed: int = 0) -> tuple[float, float]:
    """Seconds to build the acquisition and propose ``q`` points; the batch's joint acquisition value."""
    import os

    previous = os.environ.get("ADAPTIVE_CUDA_GRAPHS")
    os.environ["ADAPTIVE_CUDA_GRAPHS"] = "0" if method == "torch-eager" else "1"
    try:
        torch.manual_seed(seed)
        run.sync()
        start = time.perf_counter()
        acqf = acquisition(fitted, datas, config, seed)
        proposals = maximize(acqf, SPACE, q, settings=METHODS[method])
        run.sync()
        seconds = time.perf_counter() - start
    finally:
        if previous is None:
            os.environ.pop("ADAPTIVE_CUDA_GRAPHS", None)
        else:
            os.environ["ADAPTIVE_CUDA_GRAPHS"] = previous
    judge = acquisition(fitted, datas, config, seed=12345)
    with torch.no_grad():
        value = float(judge(SPACE.encode(proposals).to(datas[0].X).unsqueeze(0)))
    return seconds, value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[50, 100, 200, 500, 1000, 2000])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4, 32])
    parser.add_argument("--methods", nargs="+", default=["torch", "scipy"], choices=sorted(METHODS))
    parser.add_argument("--max-q", nargs="*", default=[], metavar="METHOD=Q",
                        help="largest batch timed for a method, e.g. scipy=4 (the rest are skipped)")
    parser.add_argument("--max-seconds", type=float, default=60.0,
                        help="skip a (method, q) at larger sizes once one call took longer than this")
    parser.add_argument("--cpu-sizes", type=int, nargs="*", default=[], help="SciPy on this host's CPU, models from the device")
    parser.add_argument("--cpu-batches", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--fit-sizes", type=int, nargs="*", default=[])
    parser.add_argument("--mo", type=int, nargs="*", default=[], help="observations for qLogNEHVI rows")
    parser.add_argument("--mo-batches", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--mo-methods", nargs="+", default=None, choices=sorted(METHODS), help="default: --methods")
    parser.add_argument("--export", type=int, nargs="*", default=[], help="candidates for export draw rows")
    parser.add_argument("--many-metrics", type=int, nargs="*", default=[], help="metrics fitted at once")
    parser.add_argument("--phases", action="store_true", help="log the torch optimizer's phase times (DEBUG)")
    parser.add_argument("--device", default=None, help="overrides $ADAPTIVE_DEVICE")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stderr)
    if args.phases:
        logging.getLogger("adaptive.generation.batched").setLevel(logging.DEBUG)
    device = resolve_device(args.device)
    run = Run(device, args.out, argv if argv is not None else sys.argv[1:])
    if device.type == "cuda":
        # BoTorch compiles a CPU-only C++ kernel for qLogNEHVI on first use (~30 s); the device never uses it.
        import botorch.acquisition.multi_objective.logei as mo_logei

        mo_logei._load_attempted = True

    # The first calls pay for CUDA context creation and kernel loading: not part of any row.
    # A fresh process (a cron round) pays them once: shown as the warm-up row.
    start = time.perf_counter()
    warm_datas = synthetic(20, device)
    warm_model, _ = fit(warm_datas, run)
    for method in args.methods:
        run.attempt(f"warm-up {method}", lambda m=method: propose(warm_model, warm_datas, CONFIG, 2, m, run))
    run.add({"kind": "warm-up", "device": device.type, "seconds": time.perf_counter() - start})

    slow: set[tuple[str, int]] = set()
    max_q = {m: int(q) for m, q in (item.split("=") for item in args.max_q)}
    for n in args.sizes:
        datas = synthetic(n, device)
        fitted, fit_s = fit(datas, run)
        run.add({"kind": "fit", "n": n, "metrics": len(datas), "device": device.type, "seconds": fit_s})
        for q in args.batches:
            for method in args.methods:
                if (method, q) in slow or q > max_q.get(method, q):
                    continue

                def job(method: str = method, q: int = q, n: int = n, fitted: Model = fitted, datas: list = datas) -> None:
                    seconds, value = propose(fitted, datas, CONFIG, q, method, run)
                    run.add({"kind": "acquisition", "n": n, "q": q, "method": method, "device": device.type,
                             "seconds": seconds, "value": value})
                    if seconds > args.max_seconds:
                        slow.add((method, q))

                run.attempt(f"acquisition n={n} q={q} {method}", job)
        if n in args.cpu_sizes:
            cpu = torch.device("cpu")
            cpu_model = copy.deepcopy(fitted).to(cpu)
            cpu_datas = [MetricData(d.metric, d.X.cpu(), d.Y.cpu(), d.Yvar.cpu(), d.trial_ids) for d in datas]
            cpu_run = Run(cpu, args.out, [])
            for q in args.cpu_batches:
                def cpu_job(q: int = q, n: int = n, cpu_model: Model = cpu_model, cpu_datas: list = cpu_datas, cpu_run: Run = cpu_run) -> None:
                    seconds, value = propose(cpu_model, cpu_datas, CONFIG, q, "scipy", cpu_run)
                    run.add({"kind": "acquisition", "n": n, "q": q, "method": "scipy", "device": "cpu",
                             "seconds": seconds, "value": value})

                run.attempt(f"cpu acquisition n={n} q={q}", cpu_job)
        del datas, fitted

    for n in args.fit_sizes:
        def fit_job(n: int = n) -> None:
            datas = synthetic(n, device)
            _, seconds = fit(datas, run)
            run.add({"kind": "fit", "n": n, "metrics": len(datas), "device": device.type, "seconds": seconds})

        run.attempt(f"fit n={n}", fit_job)

    for k in args.many_metrics:
        def many_job(k: int = k) -> None:
            datas = synthetic(1000, device, metrics=k)
            _, seconds = fit(datas, run)
            run.add({"kind": "fit", "n": 1000, "metrics": k, "device": device.type, "seconds": seconds})

        run.attempt(f"fit {k} metrics", many_job)

    for n in args.mo:
        datas = mo_synthetic(n, device)
        fitted, fit_s = fit(datas, run)
        run.add({"kind": "fit", "n": n, "metrics": 2, "device": device.type, "seconds": fit_s, "problem": "mo"})
        for q in args.mo_batches:
            for method in args.mo_methods or args.methods:
                if q > max_q.get(method, q):
                    continue

                def mo_job(method: str = method, q: int = q, n: int = n, fitted: Model = fitted, datas: list = datas) -> None:
                    seconds, value = propose(fitted, datas, MO_CONFIG, q, method, run)
                    run.add({"kind": "mo-acquisition", "n": n, "q": q, "method": method, "device": device.type,
                             "seconds": seconds, "value": value})

                run.attempt(f"mo n={n} q={q} {method}", mo_job)

    for count in args.export:
        def export_job(count: int = count) -> None:
            from adaptive.analysis.distribution import posterior_draws

            datas = synthetic(200, device)
            models = {d.metric: fit_models([d]) for d in datas}
            X = torch.quasirandom.SobolEngine(6, scramble=True, seed=0).draw(count, dtype=torch.float64).to(device)
            for where, ms, Xw in (("device", models, X), ("cpu", {k: copy.deepcopy(v).to("cpu") for k, v in models.items()}, X.cpu())):
                if where == "cpu" and device.type == "cpu":
                    continue
                run.sync()
                start = time.perf_counter()
                draws = posterior_draws(ms, Xw, n_draws=1000, seed=0)
                run.sync()
                seconds = time.perf_counter() - start
                run.add({"kind": "export-draws", "candidates": count, "draws": 1000, "metrics": len(ms),
                         "device": device.type if where == "device" else "cpu", "seconds": seconds,
                         "finite": bool(all(torch.isfinite(d).all() for d in draws.values()))})

        run.attempt(f"export {count}", export_job)
    return 0


def _write(stem: Path, meta: dict, rows: list[dict]) -> None:
    stem.parent.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    where = meta["device"] + (f" ({meta['cuda']})" if meta["cuda"] else "")
    lines = [f"# Fit, acquisition and export draws on {where}", "", f"Command: `{meta['command']}`  ",
             f"Created: {meta['created']}; torch {meta['torch']}, BoTorch {meta['botorch']}, GPyTorch {meta['gpytorch']}; "
             f"{meta['cpu_threads']} CPU threads", "",
             "Acquisition: building log-NEI (or log-NEHVI) and proposing a batch of q; value: the batch's joint "
             "acquisition value under one fixed acquisition function (higher is better).", "",
             "| kind | observations | q | method | device | seconds | value |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["kind"] == "warm-up":
            lines.append(f"| first calls in a process (context, kernels; every method once) | | | | {r['device']} | {r['seconds']:.3f} | |")
        elif r["kind"] == "error":
            lines.append(f"| error | | | | | | {r['what']}: {r['error'][:120]} |")
        elif r["kind"] == "fit":
            lines.append(f"| fit ({r['metrics']} metrics{', 2 objectives' if r.get('problem') else ''}) | {r['n']} | | | "
                         f"{r['device']} | {r['seconds']:.3f} | |")
        elif r["kind"] == "export-draws":
            lines.append(f"| export draws ({r['draws']} x {r['candidates']} candidates, {r['metrics']} metrics) | 200 | | | "
                         f"{r['device']} | {r['seconds']:.3f} | finite: {r['finite']} |")
        else:
            lines.append(f"| {r['kind']} | {r['n']} | {r['q']} | {r['method']} | {r['device']} | {r['seconds']:.3f} | "
                         f"{r['value']:.4f} |")
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
