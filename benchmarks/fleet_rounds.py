"""One ``adaptive round --all`` pass over a fleet, beside one ``adaptive round NAME`` process
per experiment (what a crontab line per experiment runs).

    python -m benchmarks.fleet_rounds --experiments 200 --workers 2

Each experiment has 3-5 float parameters, 1-3 objectives and 20-200 completed trials (sizes
drawn per experiment, seeded) and two trials running; every round completes those two from
a simulated source and proposes two more by Bayesian optimization. Both methods start from
the same fleet: a copy of one SQLite file, or with ``--backend postgresql`` (``--postgres-url``,
default ``$ADAPTIVE_TEST_POSTGRES_URL``) copies of one schema, each method in a schema of its
own (``fleet_bench_*``, dropped afterwards). Reports wall time, seconds per experiment and peak
memory (resident, summed over the pass's process tree: its worker processes included); writes
``benchmarks/results/fleet_rounds[_postgresql].{md,json}``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"
logger = logging.getLogger("benchmarks.fleet_rounds")


def metrics(experiment: str, trials: list) -> list[tuple[int, str, float, float]]:
    """The fleet's simulated metric source: a smooth function per objective, seeded by trial id."""
    rows = []
    for t in trials:
        x = np.array([v for _, v in sorted(t.params.items())], dtype=float)
        rng = np.random.default_rng(t.id)
        for k in range(3):
            value = float(-np.sum((x - 0.2 * (k + 1)) ** 2) + math.sin(3 * x[0] + k))
            rows.append((t.id, f"m{k}", value + rng.normal(0, 0.01), 0.01))
    return rows


def build(url: str, n: int, seed: int) -> None:
    from adaptive.cron.apply_config import apply_config
    from adaptive.cron.config import parse_config

    rng = np.random.default_rng(seed)
    for i in range(n):
        d, m, size = int(rng.integers(3, 6)), int(rng.integers(1, 4)), int(rng.integers(20, 201))
        config = {
            "name": f"fleet-{i:03d}", "seed": i,
            "parameters": {f"x{j}": {"type": "float", "low": 0.0, "high": 1.0} for j in range(d)},
            "objectives": [{"metric": f"m{k}", "direction": "maximize"} for k in range(m)],
            "generation": {"initial_trials": 8},
            "rounds": {"max_parallel": 2, "every": "1h"},
            "metrics": {"kind": "python", "function": "benchmarks.fleet_rounds:metrics"},
        }
        exp, _ = apply_config(parse_config(config), storage=url)
        X = rng.random((size, d))
        for r, row in enumerate(X):
            params = {f"x{j}": float(v) for j, v in enumerate(row)}
            values = {metric: mean for _, metric, mean, _ in metrics(exp.name, [_Trial(r, params)])}
            exp.attach(params, {f"m{k}": values[f"m{k}"] for k in range(m)})
        exp.suggest(2)  # two running trials: the next round completes them and proposes two
        if (i + 1) % 10 == 0:
            logger.info("built %d/%d experiments", i + 1, n)


class _Trial:
    """What :func:`metrics` reads of a trial, for the completed history."""

    def __init__(self, id_: int, params: dict) -> None:
        self.id, self.params = id_, params


def _machine() -> str:
    from benchmarks.bo_compare import _machine as machine  # architecture, CPU model, cores, Python

    return machine()


def _run(args: list[str], env: dict) -> tuple[float, int]:
    """Runs ``args``; wall seconds and the peak resident bytes of its process tree."""
    from benchmarks.event_throughput import _tree_rss

    start = time.perf_counter()
    child = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    peak = 0
    while child.poll() is None:
        peak = max(peak, _tree_rss(child.pid))
        time.sleep(0.2)
    _, err = child.communicate()
    if child.returncode not in (0, 4):
        raise RuntimeError(err[-2000:])
    return time.perf_counter() - start, peak


def measure(url: str, names: list[str], workers: int, env: dict) -> dict:
    adaptive = [sys.executable, "-m", "adaptive"]
    logger.info("one --all pass over %d experiments, %d worker(s)", len(names), workers)  # all due: never ran
    fleet_wall, fleet_rss = _run([*adaptive, "round", "--all", "--workers", str(workers), "--storage", url], env)
    return {"fleet_seconds": fleet_wall, "fleet_peak_rss_mb": fleet_rss / 2**20}


def _schema_url(base: str, schema: str) -> str:
    """``base`` with every connection's search path set to ``schema``."""
    from sqlalchemy.engine import make_url

    url = make_url(base)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)


def _postgres_copies(base: str, built: str, copies: list[str]) -> list[str]:
    """Each of ``copies`` a schema holding what schema ``built`` holds (same ids, sequences
    moved on); their URLs."""
    import sqlalchemy as sa

    from adaptive.storage import Database
    from adaptive.storage.models import Base

    engine = sa.create_engine(_schema_url(base, "public"))
    urls = []
    for schema in copies:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
        url = _schema_url(base, schema)
        Database(url).engine.dispose()  # creates the schema's tables through the migrations
        with engine.begin() as conn:
            for table in Base.metadata.sorted_tables:
                conn.execute(sa.text(f"INSERT INTO {schema}.{table.name} SELECT * FROM {built}.{table.name}"))
                for column in table.primary_key.columns:
                    if column.autoincrement is True or (column.autoincrement == "auto" and column.type.python_type is int):
                        conn.execute(sa.text(
                            f"SELECT setval(pg_get_serial_sequence('{schema}.{table.name}', '{column.name}'), "
                            f"GREATEST((SELECT MAX({column.name}) FROM {schema}.{table.name}), 1))"
                        ))
        urls.append(url)
    engine.dispose()
    return urls


def _drop_schemas(base: str, schemas: list[str]) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(_schema_url(base, "public"))
    with engine.begin() as conn:
        for schema in schemas:
            conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--postgres-url", default=os.environ.get("ADAPTIVE_TEST_POSTGRES_URL"))
    parser.add_argument("--out", default=None, help="default: benchmarks/results/fleet_rounds[_postgresql]")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    if args.backend == "postgresql" and not args.postgres_url:
        parser.error("--backend postgresql needs --postgres-url or $ADAPTIVE_TEST_POSTGRES_URL")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    names = [f"fleet-{i:03d}" for i in range(args.experiments)]
    schemas = ["fleet_bench_built", "fleet_bench_all", "fleet_bench_separate"]
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        if args.backend == "sqlite":
            source = Path(folder) / "built.db"
            build(f"sqlite:///{source}", args.experiments, args.seed)
            with sqlite3.connect(source) as conn:  # the write-ahead log into the file, so a copy has every row
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            for method in ("fleet", "separate"):
                shutil.copy(source, Path(folder) / f"{method}.db")
            url_fleet, url_separate = (f"sqlite:///{Path(folder) / f'{m}.db'}" for m in ("fleet", "separate"))
        else:
            _drop_schemas(args.postgres_url, schemas)
            import sqlalchemy as sa

            built = _schema_url(args.postgres_url, schemas[0])
            engine = sa.create_engine(_schema_url(args.postgres_url, "public"))
            with engine.begin() as conn:
                conn.execute(sa.text(f"CREATE SCHEMA {schemas[0]}"))
            engine.dispose()
            build(built, args.experiments, args.seed)
            url_fleet, url_separate = _postgres_copies(args.postgres_url, schemas[0], schemas[1:])
        logger.info("built the fleet in %.0fs", time.perf_counter() - start)
        try:
            fleet = measure(url_fleet, names, args.workers, env)
            logger.info("--all: %.1fs", fleet["fleet_seconds"])
            separate, peak = 0.0, 0
            for i, name in enumerate(names):
                wall, rss = _run([sys.executable, "-m", "adaptive", "round", name, "--storage", url_separate], env)
                separate, peak = separate + wall, max(peak, rss)
                if (i + 1) % 10 == 0:
                    logger.info("separate processes: %d/%d, %.0fs so far", i + 1, len(names), separate)
        finally:
            if args.backend == "postgresql":
                _drop_schemas(args.postgres_url, schemas)
    n = args.experiments
    row = {
        "experiments": n, "workers": args.workers, "backend": args.backend, "separate_peak_rss_mb": peak / 2**20,
        "fleet_seconds": fleet["fleet_seconds"], "fleet_seconds_per_experiment": fleet["fleet_seconds"] / n,
        "separate_seconds": separate, "separate_seconds_per_experiment": separate / n,
        "speedup": separate / fleet["fleet_seconds"], "fleet_peak_rss_mb": fleet["fleet_peak_rss_mb"],
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": _machine(),
        "command": "python -m benchmarks.fleet_rounds " + " ".join(a for a in sys.argv[1:] if "://" not in a),
    }
    out = Path(args.out or RESULTS / ("fleet_rounds" if args.backend == "sqlite" else "fleet_rounds_postgresql"))
    out.with_suffix(".json").write_text(json.dumps(row, indent=1) + "\n")
    out.with_suffix(".md").write_text(
        "# Fleet rounds: one `--all` pass vs one process per experiment\n\n"
        f"`{row['command']}` on {row['machine']}, {row['created']}.\n\n"
        "| experiments | backend | `--all` (workers) | per experiment | separate processes | per experiment | speed-up | peak memory |\n"
        "|---|---|---|---|---|---|---|---|\n"
        f"| {n} | {'SQLite' if args.backend == 'sqlite' else 'PostgreSQL'} | {row['fleet_seconds']:.0f} s ({args.workers}) | {row['fleet_seconds_per_experiment']:.2f} s | "
        f"{separate:.0f} s | {row['separate_seconds_per_experiment']:.2f} s | {row['speedup']:.1f}x | "
        f"{row['fleet_peak_rss_mb']:.0f} MB |\n"
    )
    logger.info("wrote %s", out.with_suffix(".md"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
