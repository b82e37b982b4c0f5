"""A Spark standalone cluster on loopback for the tests and the event benchmark: a master and
workers started with Spark's own ``spark-class``, each worker with its own work and local
folders, as on separate hosts. The round host (the driver) runs in a process of its own."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

MASTER_AT = re.compile(r"Starting Spark master at (spark://\S+)")
UI_AT = re.compile(r"Bound MasterWebUI to [^,\s]+,? and started at http://[^:/]+:(\d+)")


@dataclass
class Cluster:
    master_url: str
    ui_url: str
    root: Path
    processes: list[subprocess.Popen] = field(default_factory=list)

    def state(self) -> dict:
        with urllib.request.urlopen(f"{self.ui_url}/json/", timeout=5) as response:
            return json.load(response)

    def stop(self) -> None:
        for p in self.processes:
            p.terminate()
        for p in self.processes:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


def start_cluster(root: Path, workers: int = 2, timeout: float = 180.0, memory: str = "1g") -> Cluster:
    import pyspark

    home = Path(pyspark.__file__).parent
    spark_class = str(home / "bin" / "spark-class")
    env = dict(os.environ, SPARK_HOME=str(home), SPARK_LOCAL_IP="127.0.0.1", SPARK_NO_DAEMONIZE="1")
    root.mkdir(parents=True, exist_ok=True)
    # Port 0 everywhere: Spark binds free ports itself and the master's log says which, so no
    # port is picked here and lost to another process before Spark binds it.
    master_log = root / "master.log"
    processes = [subprocess.Popen(
        [spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", "0", "--webui-port", "0"],
        env=env, stdout=master_log.open("w"), stderr=subprocess.STDOUT,
    )]
    deadline = time.monotonic() + timeout
    master = ui = None
    while (master is None or ui is None) and time.monotonic() < deadline and processes[0].poll() is None:
        text = master_log.read_text()
        master, ui = MASTER_AT.search(text), UI_AT.search(text)
        time.sleep(0.2)
    if master is None or ui is None:
        for process in processes:
            process.kill()
        raise RuntimeError(f"the Spark master did not start within {timeout:.0f}s:\n{master_log.read_text()[-2000:]}")
    cluster = Cluster(master.group(1), f"http://127.0.0.1:{ui.group(1)}", root, processes)
    for i in range(workers):
        home_dir = root / f"worker-{i}"
        (home_dir / "work").mkdir(parents=True, exist_ok=True)
        (home_dir / "local").mkdir(exist_ok=True)
        cluster.processes.append(subprocess.Popen(
            [spark_class, "org.apache.spark.deploy.worker.Worker", cluster.master_url, "--host", "127.0.0.1",
             "--cores", "1", "--memory", memory, "--work-dir", str(home_dir / "work"), "--webui-port", "0"],
            env=dict(env, SPARK_LOCAL_DIRS=str(home_dir / "local")),
            stdout=(root / f"worker-{i}.log").open("w"), stderr=subprocess.STDOUT,
        ))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if cluster.state().get("aliveworkers", 0) >= workers:
                return cluster
        except OSError:
            pass
        if any(p.poll() is not None for p in cluster.processes):
            break
        time.sleep(0.5)
    cluster.stop()
    logs = "\n".join(f"--- {p.name}\n{p.read_text()[-2000:]}" for p in sorted(root.glob("*.log")))
    raise RuntimeError(f"the Spark cluster did not start within {timeout:.0f}s:\n{logs}")
