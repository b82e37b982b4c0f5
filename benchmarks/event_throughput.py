"""Event-log attribution throughput and peak memory, DuckDB vs Spark.

    python -m benchmarks.event_throughput --events 1000000 10000000 --engines duckdb spark

Generates synthetic logs (``adaptive.events.synthetic``: about 1.2 decisions and 9.6
activity events per member, duplicates, late arrivals, orphans) as Parquet files,
then runs the full computation (validation, attribution in both views, three event
metrics and a ratio, per-decision rewards, diagnostics) once per engine and size, each
in a fresh process whose process tree (the JVM included, for Spark) is sampled for
peak resident memory. Throughput counts activity events per second of wall time.
Target: 10M events on DuckDB in under 60 s on this machine.

Writes ``benchmarks/results/event_throughput.{json,md}`` with the command that made them.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

logger = logging.getLogger("benchmarks.event_throughput")
RESULTS = Path(__file__).parent / "results"
EVENTS_PER_MEMBER = 9.6  # 8 per decision x 1.2 decisions per member


def generate(events: int, folder: Path) -> Path:
    from adaptive.events.synthetic import generate_logs

    target = folder / f"logs_{events}"
    if (target / "done").exists():
        return target
    target.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    logs = generate_logs(int(events / EVENTS_PER_MEMBER), seed=0)
    for name, frame in logs.items():
        frame.to_parquet(target / f"{name}.parquet", index=False)
    (target / "done").write_text(json.dumps({name: len(frame) for name, frame in logs.items()}))
    logger.info("generated %s activity events in %.1fs -> %s", f"{len(logs['activity']):,}", time.perf_counter() - start, target)
    return target


def run_one(engine: str, folder: Path) -> dict:
    """Runs in the child process: one full computation, timed."""
    from adaptive.events import AttributionSettings, EventMetric, RatioMetric, compute_metrics

    metrics = [EventMetric("minutes", "play"), EventMetric("sessions", "session", "count"),
               EventMetric("played", "play", "any"), RatioMetric("minutes_per_session", "minutes", "sessions")]
    options = {"master": "local[*]", "config": {"spark.driver.memory": "8g"}} if engine == "spark" else {}
    start = time.perf_counter()
    result = compute_metrics(
        intents=folder / "intents.parquet", treatments=folder / "treatments.parquet",
        activity=folder / "activity.parquet", metrics=metrics, engine=engine, engine_options=options,
        settings=AttributionSettings(timedelta(minutes=30), timedelta(hours=4)),
        watermark=datetime(2026, 1, 3, tzinfo=timezone.utc),
    )
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "counts": result.counts, "metric_rows": len(result.metrics), "decisions": len(result.rewards)}


def _tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and its descendants (Linux /proc)."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            with open(f"/proc/{p}/task/{p}/children") as f:
                stack += [int(c) for c in f.read().split()]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def measure(engine: str, folder: Path) -> dict:
    child = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.event_throughput", "--child", engine, str(folder)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    peak = 0
    while child.poll() is None:
        peak = max(peak, _tree_rss(child.pid))
        time.sleep(0.1)
    out = child.stdout.read() if child.stdout else ""
    if child.returncode != 0:
        raise RuntimeError(f"{engine} run on {folder} failed with exit code {child.returncode}")
    row = json.loads(out.strip().splitlines()[-1])
    row["peak_rss_mb"] = peak / 2**20
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--engines", nargs="+", default=["duckdb", "spark"], choices=["duckdb", "spark"])
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/adaptive-event-bench"))
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--child", nargs=2, metavar=("ENGINE", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_one(args.child[0], Path(args.child[1]))))  # noqa: T201 - read by the parent
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    rows = []
    for events in args.events:
        folder = generate(events, args.data_dir)
        sizes = json.loads((folder / "done").read_text())
        for engine in args.engines:
            row = measure(engine, folder)
            row.update(engine=engine, target_events=events, activity_events=sizes["activity"],
                       intents=sizes["intents"], treatments=sizes["treatments"],
                       events_per_second=sizes["activity"] / row["seconds"])
            rows.append(row)
            logger.info("%s, %s activity events: %.1fs (%s events/s), peak %.0f MB", engine,
                        f"{sizes['activity']:,}", row["seconds"], f"{row['events_per_second']:,.0f}", row["peak_rss_mb"])
    command = "python -m benchmarks.event_throughput " + " ".join(argv if argv is not None else sys.argv[1:])
    meta = {
        "command": command.strip(), "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
    }
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "event_throughput.json").write_text(json.dumps({"meta": meta, "runs": rows}, indent=1))
    lines = [
        "| engine | activity events | intents | treatments | seconds | events / s | peak memory (MB) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['engine']} | {r['activity_events']:,} | {r['intents']:,} | {r['treatments']:,} | {r['seconds']:.1f} | "
            f"{r['events_per_second']:,.0f} | {r['peak_rss_mb']:,.0f} |"
        )
    ten = [r for r in rows if r["engine"] == "duckdb" and r["target_events"] >= 10_000_000]
    verdict = (
        f"\nTarget (10M events on DuckDB under 60 s): {'met' if all(r['seconds'] < 60 for r in ten) else 'NOT met'} "
        "(" + ", ".join(f"{r['seconds']:.1f} s" for r in ten) + ").\n" if ten else ""
    )
    table = "\n".join(lines)
    (args.output / "event_throughput.md").write_text(
        f"# Event-log attribution throughput\n\nCommand: `{meta['command']}` ({meta['date']}; {meta['machine']})\n\n"
        f"Full computation per run: validation, both views, 3 event metrics + 1 ratio, per-decision rewards and "
        f"diagnostics; wall time includes engine start-up (the JVM for Spark). Peak memory: resident set of the "
        f"process tree.\n\n{table}\n{verdict}"
    )
    print(table + verdict)  # noqa: T201 - a command-line report
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
