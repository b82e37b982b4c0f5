"""``adaptive serve`` under load on loopback, measured by ``wrk`` (a C load generator).

    python -m benchmarks.serve_load [--seconds 10] [--connections 32] [--storage URL]

Installs Debian's ``wrk`` where it is absent (apt-get), starts one ``adaptive serve`` process
(SQLite by default) with an experiment, one export and a Beta-Bernoulli policy, and runs
``wrk`` for a bounded time per route: single assignments, batches of 10,000 members, and
decisions (each committed to the log before its answer; afterwards every acknowledged
decision is counted in the database). Reports requests/s, latency percentiles, and the CPU
share of the server and of ``wrk``. Writes ``benchmarks/results/serve_load.{json,md}``.
Targets (issue 28): single assignments >= 3,000/s with p99 < 10 ms; batches >= 1,000,000
members/s; decisions >= 1,000/s with none lost.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from benchmarks.bo_compare import write_results
from benchmarks.service_http import TOKEN, start_service

logger = logging.getLogger("benchmarks.serve_load")
RESULTS = Path(__file__).parent / "results"
BATCH = 10_000


def _wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    logger.info("installing wrk from Debian's packages")
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, capture_output=True)
    return shutil.which("wrk") or "wrk"


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _lua(folder: Path, name: str, body: str | None) -> Path:
    path = folder / f"{name}.lua"
    lines = [f'wrk.headers["Authorization"] = "Bearer {TOKEN}"']
    if body is not None:
        (folder / f"{name}.json").write_text(body)
        lines += ['wrk.method = "POST"', 'wrk.headers["Content-Type"] = "application/json"',
                  f'local f = io.open("{folder / (name + ".json")}", "r")', "wrk.body = f:read(\"*a\")", "f:close()"]
    path.write_text("\n".join(lines) + "\n")
    return path


def _parse(text: str) -> dict:
    def ms(value: str) -> float:
        number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()
        return float(number) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]

    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", text, flags=re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return {
        "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
        "p50_ms": ms(latency["50"]), "p99_ms": ms(latency["99"]),
        "requests": int(re.search(r"(\d+) requests in", text).group(1)),
        "errors": int(errors.group(1)) if errors else 0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10, help="wrk's duration per route")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--storage", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--out", type=Path, default=RESULTS / "serve_load")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    wrk = _wrk()
    server, url, port = start_service(args.storage)
    base = f"http://127.0.0.1:{port}"
    folder = Path(tempfile.mkdtemp())  # wrk's scripts and bodies
    routes = [
        ("GET assignment (one member)", "/v1/experiments/bench/assignment?member_id=m-42", None, 1),
        (f"POST assignments ({BATCH:,} members)", "/v1/experiments/bench/assignments",
         json.dumps({"member_ids": [f"m-{i}" for i in range(BATCH)]}), BATCH),
        ("POST decision (logged, committed)", "/v1/policies/p/decisions", "{}", 1),
    ]
    rows = []
    try:
        for i, (route, path, body, items) in enumerate(routes):
            script = _lua(folder, f"route{i}", body)
            logger.info("%s: wrk -c %d -d %ds", route, args.connections, args.seconds)
            server_cpu = _cpu_seconds(server.pid)
            children = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            out = subprocess.run([wrk, "-t", "1", "-c", str(args.connections), "-d", f"{args.seconds}s", "--latency",
                                  "-s", str(script), base + path], capture_output=True, text=True, check=True).stdout
            wall = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            row = {"route": route, **_parse(out), "items_per_request": items,
                   "server_cpu_share": (_cpu_seconds(server.pid) - server_cpu) / wall,
                   "wrk_cpu_share": (after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime) / wall}
            row["items_per_s"] = row["requests_per_s"] * items
            rows.append(row)
    finally:
        server.terminate()
        server.wait(timeout=30)
    from adaptive.bandits import DecisionLog

    logged = len(DecisionLog(url).joined("p"))
    decision_row = rows[-1]
    decision_row["logged"] = logged
    meta = {
        "command": "python -m benchmarks.serve_load " + " ".join(argv if argv is not None else sys.argv[1:]),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "backend": url.split(":", 1)[0].split("+")[0],
    }
    table = "\n".join(
        ["| route | requests/s | items/s | p50 ms | p99 ms | non-2xx | server CPU | wrk CPU |", "|---|---|---|---|---|---|---|---|"]
        + [f"| {r['route']} | {r['requests_per_s']:,.0f} | {r['items_per_s']:,.0f} | {r['p50_ms']:.2f} | "
           f"{r['p99_ms']:.2f} | {r['errors']} | {r['server_cpu_share']:.0%} | {r['wrk_cpu_share']:.0%} |" for r in rows]
    )
    write_results(args.out, "adaptive serve under load (wrk, loopback)", meta, rows, table, [
        f"Backend: {meta['backend']}; one `adaptive serve` process; wrk 1 thread, {args.connections} connections, "
        f"{args.seconds} s per route.",
        f"Decisions acknowledged (2xx): {decision_row['requests'] - decision_row['errors']}; in the log afterwards: "
        f"{logged} (none lost when the log holds at least as many).",
    ])
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
