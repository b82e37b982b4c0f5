"""What linear parameter constraints cost a suggest: the same experiments with and without them.

    python -m benchmarks.linear_constraints --seeds 5 --steps 6

For each space (the README's feed-ranking space with ``viral_weight + 0.5*posts_to_load <= 20``,
the suite's Hartmann6-linear and BraninCurrin-linear) and seed, two experiments get the same
8 quasi-random trials (drawn within the constraints, so both models see the same data), then
``--steps`` model-based suggests each on the production path (a fresh ``load_experiment`` per
suggest, which is timed with the suggest), alternating between the two so that both see the
same load on the machine. Writes ``benchmarks/results/linear_constraints.{json,md}`` with the
command; progress is logged per seed.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from benchmarks.bo_compare import write_results

logger = logging.getLogger("benchmarks.linear_constraints")
RESULTS = Path(__file__).parent / "results"
README_CONSTRAINT = "viral_weight + 0.5*posts_to_load <= 20"


def _spaces() -> dict:
    """name -> (parameters, constraints, objectives, metric function of (params, rng))."""
    import adaptive as ad
    from adaptive.demo import simulate_feed
    from benchmarks.methods import adaptive_parameters
    from benchmarks.problems import problems

    readme = {
        "viral_weight": ad.Float(0.0, 1.0), "learning_rate": ad.Float(1e-4, 1e-1, log=True),
        "posts_to_load": ad.Int(5, 50), "ranker": ad.Choice(["gbdt", "dnn", "linear"]), "region": ad.Fixed("us"),
    }
    out = {
        "README feed-ranking": (
            readme, [README_CONSTRAINT],
            [ad.Maximize("engagement", threshold=0.0), ad.Minimize("cpu_ms", threshold=120.0)],
            lambda params, rng: simulate_feed(params, rng),
        )
    }
    for name in ("Hartmann6-linear", "BraninCurrin-linear"):
        p = problems()[name]
        out[name] = (
            adaptive_parameters(p), p.linear_texts(), [ad.Minimize(m, threshold=t) for m, t in p.objectives],
            lambda params, rng, p=p: p.observe(params, rng),
        )
    return out


def run(name: str, seed: int, steps: int) -> dict:
    import adaptive as ad

    parameters, constraints, objectives, metrics = _spaces()[name]
    folder = tempfile.mkdtemp()
    urls = {k: f"sqlite:///{folder}/{k}.db" for k in ("with", "without")}
    for key, url in urls.items():
        ad.create_experiment("x", storage=url, seed=seed, parameters=parameters, objectives=objectives,
                             parameter_constraints=constraints if key == "with" else [],
                             generation=ad.GenerationSettings(initial_trials=8))
    rng = np.random.default_rng(seed)
    for t in ad.load_experiment("x", storage=urls["with"]).suggest(8):
        result = metrics(t.params, rng)
        for url in urls.values():
            exp = ad.load_experiment("x", storage=url)
            exp.attach(t.params, result) if url == urls["without"] else exp.complete(t.id, result)
    seconds: dict[str, list[float]] = {"with": [], "without": []}
    for _ in range(steps):
        for key, url in urls.items():
            start = time.perf_counter()
            exp = ad.load_experiment("x", storage=url)
            (t,) = exp.suggest(1)
            seconds[key].append(time.perf_counter() - start)
            exp.complete(t.id, metrics(t.params, rng))
    return {"space": name, "seed": seed, "seconds_with": seconds["with"], "seconds_without": seconds["without"]}


def main(argv: list[str] | None = None) -> int:
    import torch

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--spaces", nargs="+", default=["README feed-ranking", "Hartmann6-linear", "BraninCurrin-linear"])
    parser.add_argument("--out", default=str(RESULTS / "linear_constraints"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    for noisy in ("adaptive", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    torch.set_num_threads(1)
    rows = []
    for name in args.spaces:
        for seed in range(args.seeds):
            rows.append(run(name, seed, args.steps))
            logger.info("%s seed %d: median %.2fs with, %.2fs without", name, seed,
                        statistics.median(rows[-1]["seconds_with"]), statistics.median(rows[-1]["seconds_without"]))
    lines = ["| space | seeds x suggests | median s / suggest with | without | ratio |", "|---|---|---|---|---|"]
    for name in args.spaces:
        mine = [r for r in rows if r["space"] == name]
        w = statistics.median(s for r in mine for s in r["seconds_with"])
        wo = statistics.median(s for r in mine for s in r["seconds_without"])
        lines.append(f"| {name} | {len(mine)} x {args.steps} | {w:.3f} | {wo:.3f} | {w / wo:.2f} |")
    table = "\n".join(lines)
    command = "python -m benchmarks.linear_constraints " + " ".join(argv if argv is not None else sys.argv[1:])
    meta = {"command": command.strip(), "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}"}
    write_results(Path(args.out), "Linear parameter constraints: seconds per suggest", meta, rows, table, [
        "Each suggest on the production path (fresh load + suggest), one torch thread; with and without "
        "the constraints alternating on the same data.",
    ])
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
