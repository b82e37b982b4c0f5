"""``adaptive serve`` over loopback HTTP: latency of single assignments, throughput of batches
and decisions, beside the in-process Python calls they stand for.

    python -m benchmarks.service_http [--requests 2000] [--storage sqlite|postgresql URL]

Starts the service as a subprocess (one uvicorn process, as ``adaptive serve`` runs), with an
experiment of 16 observed configs and one export, and a Beta-Bernoulli policy. Sequential
requests from one client over one kept-alive connection (``http.client``), so the numbers
are per-request service cost plus loopback, not a load test. Writes
``benchmarks/results/service_http.{json,md}``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

from benchmarks.bo_compare import write_results

logger = logging.getLogger("benchmarks.service_http")
RESULTS = Path(__file__).parent / "results"
TOKEN = "bench-token-0123456789abcdef"
POLICIES = '[policies.p]\nkind = "beta-bernoulli"\nactions = ["a", "b", "c"]\nrefresh = "1h"\n'


def _experiment(url: str) -> None:
    import adaptive as ad

    exp = ad.create_experiment("bench", storage=url, seed=0,
                               parameters={f"x{i}": ad.Float(0.0, 1.0) for i in range(4)},
                               objectives=[ad.Maximize("y")])
    for i in range(16):
        x = [((i + 1) * (k + 2) * 0.1377) % 1.0 for k in range(4)]
        exp.attach({f"x{k}": v for k, v in enumerate(x)}, {"y": -sum((v - 0.4) ** 2 for v in x)})
    exp.export_distribution(n_draws=500, model_candidates=8)


def _timed(connection: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None) -> float:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    start = time.perf_counter()
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    response.read()
    elapsed = time.perf_counter() - start
    if response.status >= 300:
        raise RuntimeError(f"{method} {path}: {response.status}")
    return elapsed


def _stats(seconds: list[float], items: int = 1) -> dict:
    ordered = sorted(seconds)
    return {
        "requests": len(seconds), "p50_ms": 1e3 * statistics.median(ordered),
        "p99_ms": 1e3 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
        "items_per_s": items * len(seconds) / sum(seconds),
    }


def start_service(storage: str | None) -> tuple[subprocess.Popen, str, int]:
    """The benchmark's experiment (and policy file) in ``storage`` (default: a temporary SQLite
    file), and one ``adaptive serve`` process for it on a free loopback port, answering
    ``/healthz``. Returns the process, the database URL and the port."""
    folder = Path(tempfile.mkdtemp())
    url = storage or f"sqlite:///{folder / 'bench.db'}"
    _experiment(url)
    (folder / "policies.toml").write_text(POLICIES)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "ADAPTIVE_SERVE_WRITE_TOKENS": TOKEN}
    server = subprocess.Popen([sys.executable, "-m", "adaptive", "serve", "--storage", url, "--port", str(port),
                               "--policies", str(folder / "policies.toml")], env=env)
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5):
                return server, url, port
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise RuntimeError("the service did not answer /healthz within 60 s") from None
            time.sleep(0.2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--storage", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--out", type=Path, default=RESULTS / "service_http", help="results path, without suffix")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    server, url, port = start_service(args.storage)
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        import adaptive as ad
        from adaptive import serving

        dist = ad.load_experiment("bench", storage=url).exported()
        rows = []
        n = args.requests
        logger.info("single assignments: %d requests", n)
        single = [_timed(connection, "GET", f"/v1/experiments/bench/assignment?member_id=m-{i}") for i in range(n)]
        rows.append({"route": "GET assignment (one member)", **_stats(single)})
        start = time.perf_counter()
        for i in range(n):
            serving.assign(dist, f"m-{i}")
        rows.append({"route": "in-process serving.assign (one member)", "requests": n, "p50_ms": None, "p99_ms": None,
                     "items_per_s": n / (time.perf_counter() - start)})
        batch = json.dumps({"member_ids": [f"m-{i}" for i in range(10_000)]}).encode()
        logger.info("batches of 10,000 members")
        batches = [_timed(connection, "POST", "/v1/experiments/bench/assignments", batch) for _ in range(max(n // 100, 5))]
        rows.append({"route": "POST assignments (10,000 members)", **_stats(batches, 10_000)})
        logger.info("distribution fetches with and without the ETag")
        full = [_timed(connection, "GET", "/v1/experiments/bench/distribution") for _ in range(n // 4)]
        rows.append({"route": "GET distribution (200, full document)", **_stats(full)})
        connection.request("GET", "/v1/experiments/bench/distribution", headers={
            "Authorization": f"Bearer {TOKEN}", "If-None-Match": f'"{dist.version}"'})
        response = connection.getresponse()
        response.read()
        assert response.status == 304
        logger.info("decisions (each committed to the log before the answer)")
        decisions = [_timed(connection, "POST", "/v1/policies/p/decisions", b"{}") for _ in range(n // 4)]
        rows.append({"route": "POST decision (logged, committed)", **_stats(decisions)})
    finally:
        server.terminate()
        server.wait(timeout=30)
    backend = url.split(":", 1)[0].split("+")[0]
    meta = {
        "command": "python -m benchmarks.service_http " + " ".join(argv if argv is not None else sys.argv[1:]),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}", "backend": backend,
    }
    fmt = lambda v, spec: "–" if v is None else format(v, spec)  # noqa: E731
    table = "\n".join(
        ["| route | requests | p50 ms | p99 ms | items / s |", "|---|---|---|---|---|"]
        + [f"| {r['route']} | {r['requests']} | {fmt(r['p50_ms'], '.2f')} | {fmt(r['p99_ms'], '.2f')} | "
           f"{r['items_per_s']:,.0f} |" for r in rows]
    )
    write_results(args.out, "adaptive serve over loopback HTTP", meta, rows, table, [
        f"Backend: {backend}; one uvicorn process; one client, sequential requests on one kept-alive connection.",
    ])
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
