"""Time model fitting and acquisition optimization on the chosen torch device.

    ADAPTIVE_DEVICE=cuda python -m benchmarks.gpu_acquisition
    ADAPTIVE_DEVICE=cpu  python -m benchmarks.gpu_acquisition --sizes 50 200 --batches 1 4

For each number of observations (default 50 to 2,000) and batch size (1 to 32)
it fits the GPs of a noisy, constrained 6-d problem (Hartmann6 objective, an L1
outcome constraint, both observed with sems) exactly as ``Experiment.suggest``
does, then maximizes log-NEI for a batch of ``q`` (on the model as the
acquisition sees it: standardized outputs, lean posterior). Writes
``benchmarks/results/gpu_acquisition_<device>.{json,md}`` with the command.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

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


def synthetic(n: int, device: torch.device, seed: int = 0) -> list[MetricData]:
    generator = torch.Generator().manual_seed(seed)
    X = torch.rand(n, 6, generator=generator, dtype=torch.float64)
    f = Hartmann(dim=6).evaluate_true(X).unsqueeze(-1) + 0.05 * torch.randn(n, 1, generator=generator, dtype=torch.float64)
    c = X.sum(-1, keepdim=True) + 0.01 * torch.randn(n, 1, generator=generator, dtype=torch.float64)
    ids = tuple(range(n))
    # Both metrics with sems, as an A/B pipeline reports them: one batched two-output GP.
    return [
        MetricData("hartmann", X.to(device), f.to(device), torch.full_like(f, 0.05**2).to(device), ids),
        MetricData("l1", X.to(device), c.to(device), torch.full_like(c, 0.01**2).to(device), ids),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 100, 200, 500, 1000, 2000])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4, 16, 32])
    parser.add_argument("--device", default=None, help="overrides $ADAPTIVE_DEVICE")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    device = resolve_device(args.device)
    space = SearchSpace({f"x{i}": Float(0.0, 1.0) for i in range(6)})
    config = OptimizationConfig.build([Minimize("hartmann")], ["l1 <= 3"])
    settings = OptimizerSettings()
    command = "python -m benchmarks.gpu_acquisition " + " ".join(argv if argv is not None else sys.argv[1:])
    meta = {"command": command.strip(), "device": str(device), "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "cuda": torch.cuda.get_device_name(device) if device.type == "cuda" else None, "torch": torch.__version__}

    def fit(n: int) -> tuple[list[MetricData], Model, float]:
        datas = synthetic(n, device)
        start = time.perf_counter()
        model = fit_models(datas)
        _synchronize(device)
        return datas, model, time.perf_counter() - start

    def acquire(datas: list[MetricData], fitted: Model, q: int) -> tuple[float, int]:
        start = time.perf_counter()
        # As Experiment.suggest does it (see strategy._bayesian_seeded).
        model, affine = acquisition_model(copy.deepcopy(fitted))
        acqf = build_acquisition(model, config, X_baseline=datas[0].X, X_pending=None, ref_point=None, mc_samples=128,
                                 seed=0, affine=affine)
        proposals = maximize(acqf, space, q, settings=settings)
        _synchronize(device)
        return time.perf_counter() - start, len(proposals)

    # The first calls pay for CUDA context creation and kernel loading: not part of any row.
    acquire(*fit(min(args.sizes))[:2], 1)
    rows = []
    for n in args.sizes:
        datas, fitted, fit_s = fit(n)
        for q in args.batches:
            acq_s, count = acquire(datas, fitted, q)
            rows.append({"n": n, "q": q, "fit_seconds": fit_s, "acquisition_seconds": acq_s, "proposals": count})
            logger.info("n=%5d q=%2d fit %.2fs acquisition %.2fs (%s)", n, q, fit_s, acq_s, device)
            # Written after every row, so a run stopped at a time limit keeps what it measured.
            _write(f"gpu_acquisition_{device.type}", meta, rows)
    return 0


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _write(name: str, meta: dict, rows: list[dict]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    where = meta["device"] + (f" ({meta['cuda']})" if meta["cuda"] else "")
    lines = [f"# Fit and acquisition time on {where}", "", f"Command: `{meta['command']}`  ",
             f"Created: {meta['created']}, torch {meta['torch']}", "",
             "Fit: every metric's GP; acquisition: building log-NEI and maximizing it for a batch of q.", "",
             "| observations | q | fit (s) | acquisition (s) |", "|---|---|---|---|"]
    lines += [f"| {r['n']} | {r['q']} | {r['fit_seconds']:.2f} | {r['acquisition_seconds']:.2f} |" for r in rows]
    (RESULTS / f"{name}.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
