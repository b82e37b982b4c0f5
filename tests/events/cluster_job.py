"""The round host of the cluster tests: one driver process that runs the attribution on the
standalone cluster (``spark://...``) and pickles each result for the test to compare.

    python -m tests.events.cluster_job MASTER_URL SPEC.json

SPEC: ``{"out": path, "jobs": {name: {"kind": "full" | "incremental", "metrics": "golden" |
"agree" | "daily", "settings": [exposure s, attribution s, touch], "logs": {table: path}, ...}}}``;
``"daily"`` (the incremental tests' metrics); ``"agree"`` jobs generate the engines-agree test's logs and hand intents and treatments over
as DataFrames. A job refused with a ValidationError records its message.
"""

from __future__ import annotations

import json
import pickle
import sys
from datetime import datetime, timedelta
from pathlib import Path

from adaptive.demo.event_logs import generate_logs
from adaptive.errors import ValidationError
from adaptive.events import AttributionSettings, SparkEngine, compute_metrics
from adaptive.events.incremental import compute_metrics_incremental
from tests.events import test_engines_agree, test_golden, test_incremental

METRICS = {"golden": test_golden.METRICS, "agree": test_engines_agree.METRICS, "daily": test_incremental.METRICS}


def run(engine: SparkEngine, job: dict) -> object:
    exposure, attribution, touch = job["settings"]
    kwargs = dict(
        metrics=METRICS[job["metrics"]], engine=engine, watermark=datetime.fromisoformat(job["watermark"]),
        settings=AttributionSettings(timedelta(seconds=exposure), timedelta(seconds=attribution), touch=touch),
        **job["logs"],
    )
    if job["metrics"] == "agree":
        logs = generate_logs(3000, seed=7)
        kwargs.update(intents=logs["intents"], treatments=logs["treatments"])
    try:
        if job["kind"] == "incremental":
            return compute_metrics_incremental(**kwargs, state=job["state"])
        since = job.get("since")
        return compute_metrics(**kwargs, since=datetime.fromisoformat(since) if since else None)
    except ValidationError as exc:
        return {"refused": str(exc), "field": exc.field}


def main(master: str, spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    engine = SparkEngine(master, config={
        "spark.driver.host": "127.0.0.1", "spark.executor.memory": "512m", "spark.executor.cores": "1",
        "spark.cores.max": "2", "spark.sql.shuffle.partitions": "2",  # small logs: one shuffle task per executor
    })
    try:
        results = {name: run(engine, job) for name, job in spec["jobs"].items()}
        results["master"] = engine.spark.sparkContext.master
    finally:
        engine.close()
    Path(spec["out"]).write_bytes(pickle.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
