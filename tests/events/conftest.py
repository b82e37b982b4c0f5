"""A Spark session per test worker (``local[2]``), started once: Spark takes seconds to start.

Without PySpark or Java, Spark tests skip locally and fail under CI.
"""

from __future__ import annotations

import os
import shutil

import pytest


def need_spark(what: str) -> None:
    """Skip ``what`` without PySpark or Java locally; fail under CI, which must test it."""
    in_ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    try:
        import pyspark  # noqa: F401
    except ImportError:
        if in_ci:
            pytest.fail(f"PySpark is not installed; CI must test {what}")
        pytest.skip(f"{what} needs PySpark (pip install -e '.[dev]')")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        if in_ci:
            pytest.fail(f"no Java runtime; CI must test {what}")
        pytest.skip(f"{what} needs a Java runtime (17 or newer)")


@pytest.fixture(scope="session")
def spark_engine():
    need_spark("the Spark engine")
    from adaptive.events import SparkEngine

    engine = SparkEngine("local[2]")
    yield engine
    engine.close()


@pytest.fixture(params=["duckdb", "spark"])
def engine(request):
    """Each engine test runs on DuckDB and on Spark."""
    if request.param == "duckdb":
        return "duckdb"
    return request.getfixturevalue("spark_engine")


@pytest.fixture(scope="session")
def spark_cluster(tmp_path_factory):
    """A standalone Spark cluster (a master and two workers) on loopback; skipped only where
    Java or PySpark is absent, and never under CI."""
    need_spark("the Spark cluster")
    from benchmarks.spark_cluster import start_cluster

    cluster = start_cluster(tmp_path_factory.mktemp("spark-cluster"))
    yield cluster
    cluster.stop()
