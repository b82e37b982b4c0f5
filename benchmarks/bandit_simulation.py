"""Contextual bandit with a safety metric: regret and constraint violations of
Gaussian TS (no context), linear TS, and constrained linear TS.

    python -m benchmarks.bandit_simulation --seeds 5 --horizon 3000

World: 3 context features; 5 actions; mean reward ``x . theta_a`` and mean safety
change vs the baseline action 0 ``x . gamma_a`` (action 0 has safety 0). Two
actions earn more than any safe one but hurt safety. Regret is measured against
the best *safe* action in each context (what a constrained policy should play);
a violation is playing an action whose true safety change is below 0. Policies
are updated every 50 rounds from the logged rewards. Writes
``benchmarks/results/bandit_simulation.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from adaptive.bandits import ConstrainedLinearTS, GaussianTS, LinearTS

logger = logging.getLogger("benchmarks.bandit_simulation")
RESULTS = Path(__file__).parent / "results"
K, D = 5, 3
THETA = np.array([[0.5, 0.0, 0.0], [0.6, 0.3, -0.2], [0.4, -0.3, 0.4], [0.9, 0.4, 0.3], [0.8, -0.4, 0.5]])
GAMMA = np.array([[0.0, 0.0, 0.0], [0.1, 0.05, 0.0], [0.05, 0.0, 0.1], [-0.4, 0.0, 0.0], [-0.3, 0.1, 0.0]])


def contexts(n: int, rng: np.random.Generator) -> np.ndarray:
    X = rng.normal(0, 0.5, size=(n, D))
    X[:, 0] = 1.0  # intercept
    return X


def run(policy_name: str, seed: int, horizon: int, batch: int = 50) -> dict:
    rng = np.random.default_rng(seed)
    actions = list(range(K))
    policy = {
        "gaussian_ts": lambda: GaussianTS(sigma=0.5, seed=seed, tolerance=0.02),
        "linear_ts": lambda: LinearTS(actions=actions, context_dim=D, sigma=0.5, seed=seed, tolerance=0.02),
        "constrained_linear_ts": lambda: ConstrainedLinearTS(
            baseline=0, actions=actions, context_dim=D, sigma=0.5, seed=seed, tolerance=0.02
        ),
    }[policy_name]()
    X = contexts(horizon, rng)
    regret = violations = 0.0
    pending: list[tuple] = []
    for t in range(horizon):
        x = X[t]
        decision = policy.select(x, actions)
        a = decision.action
        means, safety = THETA @ x, GAMMA @ x
        safe = safety >= 0
        regret += means[safe].max() - means[a]
        violations += safety[a] < 0
        pending.append((x, a, means[a] + rng.normal(0, 0.5), safety[a] + rng.normal(0, 0.5)))
        if len(pending) == batch:
            xs, acts, rs, ss = zip(*pending)
            policy.update(list(xs), list(acts), list(rs), auxiliary=list(ss))
            pending = []
    return {"policy": policy_name, "seed": seed, "regret": float(regret), "violation_rate": violations / horizon}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--horizon", type=int, default=3000)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    rows = []
    for name in ("gaussian_ts", "linear_ts", "constrained_linear_ts"):
        for seed in range(args.seeds):
            rows.append(run(name, seed, args.horizon))
            logger.info("%s seed=%d regret=%.1f violations=%.3f", name, seed, rows[-1]["regret"], rows[-1]["violation_rate"])
    command = "python -m benchmarks.bandit_simulation " + " ".join(argv if argv is not None else sys.argv[1:])
    meta = {"command": command.strip(), "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "horizon": args.horizon}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "bandit_simulation.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    lines = ["# Contextual bandit with a safety constraint", "", f"Command: `{meta['command']}`  ", f"Created: {meta['created']}", "",
             f"Horizon {args.horizon} rounds, {args.seeds} seeds; regret against the best safe action per context.", "",
             "| policy | cumulative regret (mean ± sd) | violation rate (mean) |", "|---|---|---|"]
    for name in ("gaussian_ts", "linear_ts", "constrained_linear_ts"):
        r = np.array([x["regret"] for x in rows if x["policy"] == name])
        v = np.array([x["violation_rate"] for x in rows if x["policy"] == name])
        lines.append(f"| {name} | {r.mean():.1f} ± {r.std():.1f} | {v.mean():.3f} |")
    (RESULTS / "bandit_simulation.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
