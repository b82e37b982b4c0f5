"""Export time by number of candidates, and serving throughput.

    python -m benchmarks.export_serving

Export: a 6-parameter experiment with 16 observed configs and two metrics (an
objective and a constrained metric); ``export_distribution`` with 1,000 posterior
draws over 20 to 2,000 candidates (the observed ones plus model-optimized ones),
timed end to end (model fits, candidate search, draws, weights, database write).
Serving: single ``assign`` calls on string ids, and ``assign_many`` on an array
of integer ids. Writes ``benchmarks/results/export_serving.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

import adaptive as ad
from adaptive import serving

logger = logging.getLogger("benchmarks.export_serving")
RESULTS = Path(__file__).parent / "results"
OBSERVED = 16


def experiment() -> ad.Experiment:
    exp = ad.create_experiment(
        "export-bench", storage="sqlite://", seed=0,
        parameters={f"x{i}": ad.Float(0.0, 1.0) for i in range(6)},
        objectives=ad.Maximize("engagement"), outcome_constraints=["cpu_ms <= 100"],
    )
    rng = np.random.default_rng(0)
    for t in exp.suggest(OBSERVED):
        x = np.array([t.params[f"x{i}"] for i in range(6)])
        exp.complete(t.id, {"engagement": (float(-np.sum((x - 0.4) ** 2) + rng.normal(0, 0.02)), 0.02),
                            "cpu_ms": (float(60 + 80 * x[0] + rng.normal(0, 2)), 2.0)})
    return exp


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candidates", type=int, nargs="+", default=[20, 100, 500, 1000, 2000])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-members", type=int, default=10_000_000)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    logging.getLogger("adaptive").setLevel(logging.WARNING)

    exp = experiment()
    exp.export_distribution(model_candidates=4)  # warm-up: imports, first fits
    export_rows = []
    for n in args.candidates:
        seconds = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            dist = exp.export_distribution(model_candidates=n - OBSERVED, min_distance=0.0, n_draws=args.draws)
            seconds.append(time.perf_counter() - start)
        candidates = dist.document["model"]["candidates"]
        export_rows.append({"candidates": candidates, "draws": args.draws, "median_seconds": statistics.median(seconds)})
        logger.info("export: %d candidates x %d draws: %.2fs", candidates, args.draws, statistics.median(seconds))

    start = time.perf_counter()
    n_single = 200_000
    for i in range(n_single):
        serving.assign(dist, f"member-{i}")
    single_rate = n_single / (time.perf_counter() - start)
    ids = np.arange(args.batch_members, dtype=np.int64)
    start = time.perf_counter()
    serving.assign_many(dist, ids)
    batch_rate = args.batch_members / (time.perf_counter() - start)
    logger.info("serving: %.0f single/s, %.0f batch/s", single_rate, batch_rate)

    command = "python -m benchmarks.export_serving " + " ".join(argv if argv is not None else sys.argv[1:])
    meta = {"command": command.strip(), "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "export_serving.json").write_text(json.dumps(
        {"meta": meta, "export": export_rows, "serving": {"single_per_second": single_rate, "batch_per_second": batch_rate}}, indent=1))
    lines = ["# Export and serving", "", f"Command: `{meta['command']}`  ", f"Created: {meta['created']}", "",
             "| candidates | draws | export seconds (median) |", "|---|---|---|"]
    lines += [f"| {r['candidates']} | {r['draws']} | {r['median_seconds']:.2f} |" for r in export_rows]
    lines += ["", "| serving | assignments per second |", "|---|---|",
              f"| single `assign` (string ids) | {single_rate:,.0f} |", f"| batch `assign_many` (int ids) | {batch_rate:,.0f} |"]
    (RESULTS / "export_serving.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
