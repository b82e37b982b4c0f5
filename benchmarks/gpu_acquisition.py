"""Time model fitting and acquisition optimization on the chosen torch device.

    ADAPTIVE_DEVICE=cuda python -m benchmarks.gpu_acquisition
    ADAPTIVE_DEVICE=cpu  python -m benchmarks.gpu_acquisition --sizes 50 200 --batches 1 4

For each number of observations (default 50 to 2,000) and batch size (1 to 32)
it fits the per-metric GPs of a noisy, constrained 6-d problem (Hartmann6
objective, an L1 outcome constraint) exactly as ``Experiment.suggest`` does,
then maximizes log-NEI for a batch of ``q``. Writes
``benchmarks/results/gpu_acquisition_<device>.{json,md}`` with the command.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import torch
from botorch.test_functions import Hartmann

from adaptive.generation.acquisition import build_acquisition
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
    c = X.sum(-1, keepdim=True)
    ids = tuple(range(n))
    return [
        MetricData("hartmann", X.to(device), f.to(device), torch.full_like(f, 0.05**2).to(device), ids),
        MetricData("l1", X.to(device), c.to(device), None, ids),
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
    rows = []
    for n in args.sizes:
        datas = synthetic(n, device)
        start = time.perf_counter()
        model = fit_models(datas)
        if device.type == "cuda":
            torch.cuda.synchronize()
        fit_s = time.perf_counter() - start
        for q in args.batches:
            start = time.perf_counter()
            acqf = build_acquisition(model, config, X_baseline=datas[0].X, X_pending=None, ref_point=None, mc_samples=128, seed=0)
            proposals = maximize(acqf, space, q, settings=settings)
            if device.type == "cuda":
                torch.cuda.synchronize()
            acq_s = time.perf_counter() - start
            rows.append({"n": n, "q": q, "fit_seconds": fit_s, "acquisition_seconds": acq_s, "proposals": len(proposals)})
            logger.info("n=%5d q=%2d fit %.2fs acquisition %.2fs (%s)", n, q, fit_s, acq_s, device)
    command = "python -m benchmarks.gpu_acquisition " + " ".join(argv if argv is not None else sys.argv[1:])
    name = f"gpu_acquisition_{device.type}"
    meta = {"command": command.strip(), "device": str(device), "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "cuda": torch.cuda.get_device_name(device) if device.type == "cuda" else None}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    lines = [f"# Fit and acquisition time on {device}", "", f"Command: `{meta['command']}`  ", f"Created: {meta['created']}", "",
             "| observations | q | fit (s) | acquisition (s) |", "|---|---|---|---|"]
    lines += [f"| {r['n']} | {r['q']} | {r['fit_seconds']:.2f} | {r['acquisition_seconds']:.2f} |" for r in rows]
    (RESULTS / f"{name}.md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
