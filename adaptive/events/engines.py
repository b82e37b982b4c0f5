"""Where the attribution SQL runs: DuckDB (embedded, the default) or Apache Spark.

Both register the three logs as ``raw_<table>`` from a pandas DataFrame, a Parquet
or CSV file (or folder/glob of Parquet files) or a SQL table (:class:`SQLTable`), and run :mod:`adaptive.events.query`'s
SQL. Spark is imported only when used (``pip install adaptive-experiments[spark]``,
and a Java runtime).
"""

from __future__ import annotations

import logging
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeAlias

import pandas as pd
import sqlalchemy as sa

from adaptive.errors import ValidationError
from adaptive.events.query import Dialect

logger = logging.getLogger(__name__)



@dataclass(frozen=True)
class SQLTable:
    """A log held in a SQL database: ``table`` (or a ``query``) read through SQLAlchemy ``url``."""

    url: str
    table: str | None = None
    query: str | None = None

    def read(self) -> pd.DataFrame:
        if (self.table is None) == (self.query is None):
            raise ValidationError("SQLTable", self, "give exactly one of table or query")
        engine = sa.create_engine(self.url)
        try:
            with engine.connect() as conn:
                if self.table is not None:
                    return pd.read_sql_table(self.table, conn)
                return pd.read_sql_query(sa.text(self.query or ""), conn)
        finally:
            engine.dispose()


LogInput: TypeAlias = "pd.DataFrame | SQLTable | str | Path"

DUCKDB = Dialect(micros="epoch_us({0})", not_finite="(NOT isfinite({0}))", string_type="VARCHAR")
SPARK = Dialect(
    micros="unix_micros({0})", not_finite="(isnan({0}) OR {0} IN (double('inf'), double('-inf')))",
    string_type="STRING",
)


class Engine(Protocol):
    name: str
    dialect: Dialect

    def register(self, table: str, data: LogInput) -> list[str]:
        """Register ``data`` as ``raw_<table>``; return its column names."""

    def execute(self, sql: str) -> None: ...

    def materialize(self, name: str, select: str) -> None:
        """Compute ``select`` once and keep it as relation ``name`` for later queries."""

    def fetch(self, sql: str) -> pd.DataFrame: ...

    def close(self) -> None: ...


def _kind(path: Path, table: str) -> str:
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")) or path.is_dir() or "*" in name:
        return "parquet"
    if name.endswith((".csv", ".csv.gz")):
        return "csv"
    raise ValidationError(f"{table}", str(path), "expected a DataFrame, a .parquet/.csv file or a folder of Parquet files")


def _check_exists(path: Path, table: str) -> None:
    if "*" not in path.name and not path.exists():
        raise ValidationError(f"{table}", str(path), "no such file or folder")


class DuckDBEngine:
    """DuckDB in this process; ``threads``/``memory_limit`` are passed to DuckDB when given."""

    name = "duckdb"
    dialect = DUCKDB

    def __init__(self, *, threads: int | None = None, memory_limit: str | None = None) -> None:
        try:
            import duckdb
        except ImportError:
            raise ValidationError("engine", "duckdb", "needs DuckDB: pip install 'adaptive-experiments[events]'") from None

        self.con = duckdb.connect(":memory:")
        self.con.execute("SET TimeZone = 'UTC'")
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        if memory_limit:
            self.con.execute("SET memory_limit = ?", [memory_limit])

    def register(self, table: str, data: LogInput) -> list[str]:
        if isinstance(data, SQLTable):
            data = data.read()
        if isinstance(data, pd.DataFrame):
            self.con.register(f"raw_{table}_frame", data)
            source = f"raw_{table}_frame"
        else:
            path = Path(data)
            _check_exists(path, table)
            kind = _kind(path, table)
            target = str(path / "*.parquet") if path.is_dir() else str(path)
            source = f"read_parquet('{_escape(target)}')" if kind == "parquet" else f"read_csv_auto('{_escape(target)}', header=true)"
        self.con.execute(f"CREATE OR REPLACE TEMPORARY VIEW raw_{table} AS SELECT * FROM {source}")
        return [row[0] for row in self.con.execute(f"DESCRIBE raw_{table}").fetchall()]

    def execute(self, sql: str) -> None:
        self.con.execute(sql)

    def materialize(self, name: str, select: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMPORARY TABLE {name} AS {select}")

    def fetch(self, sql: str) -> pd.DataFrame:
        cursor = self.con.execute(sql)
        columns = [d[0] for d in cursor.description]
        return pd.DataFrame(cursor.fetchall(), columns=columns)

    def close(self) -> None:
        self.con.close()


class SparkEngine:
    """Spark SQL on ``master`` (``local[*]`` by default; a cluster URL in production), or on
    an existing ``session``. DataFrames are handed over as Parquet files in a temporary folder."""

    name = "spark"
    dialect = SPARK

    def __init__(self, master: str = "local[*]", *, session: Any = None, config: dict[str, str] | None = None) -> None:
        self._owned = session is None
        if session is None:
            try:
                from pyspark.sql import SparkSession
            except ImportError as exc:  # pragma: no cover - depends on the install
                raise ValidationError("engine", "spark", "needs PySpark: pip install 'adaptive-experiments[spark]'") from exc
            builder = (
                SparkSession.builder.master(master).appName("adaptive-events")
                .config("spark.ui.enabled", "false").config("spark.sql.session.timeZone", "UTC")
                .config("spark.sql.shuffle.partitions", "8")
            )
            for key, value in (config or {}).items():
                builder = builder.config(key, value)
            session = builder.getOrCreate()
            session.sparkContext.setLogLevel("ERROR")
        self.spark = session
        self.spark.conf.set("spark.sql.session.timeZone", "UTC")
        self._tmp = tempfile.TemporaryDirectory(prefix="adaptive-spark-")

    def register(self, table: str, data: LogInput) -> list[str]:
        if isinstance(data, SQLTable):
            data = data.read()
        if isinstance(data, pd.DataFrame):
            # A new file per call: Spark caches file listings of earlier reads.
            path = Path(self._tmp.name) / f"{table}-{uuid.uuid4().hex}.parquet"
            frame = data.copy()
            for column in frame.columns:
                if pd.api.types.is_datetime64_any_dtype(frame[column]):
                    # Spark reads Parquet timestamps in microseconds.
                    frame[column] = frame[column].astype("datetime64[us, UTC]") if getattr(frame[column].dt, "tz", None) else frame[column].astype("datetime64[us]")
            frame.to_parquet(path, index=False)
            df = self.spark.read.parquet(str(path))
        else:
            path = Path(data)
            _check_exists(path, table)
            kind = _kind(path, table)
            df = (
                self.spark.read.parquet(str(path)) if kind == "parquet"
                else self.spark.read.option("header", True).option("inferSchema", True).csv(str(path))
            )
        df.createOrReplaceTempView(f"raw_{table}")
        return list(df.columns)

    def execute(self, sql: str) -> None:
        self.spark.sql(sql)

    def materialize(self, name: str, select: str) -> None:
        self.spark.sql(f"UNCACHE TABLE IF EXISTS {name}")
        self.spark.sql(f"CREATE OR REPLACE TEMPORARY VIEW {name} AS {select}")
        self.spark.sql(f"CACHE TABLE {name}")

    def fetch(self, sql: str) -> pd.DataFrame:
        df = self.spark.sql(sql)
        return pd.DataFrame([tuple(r) for r in df.collect()], columns=df.columns)

    def close(self) -> None:
        self._tmp.cleanup()
        if self._owned:
            self.spark.stop()


def make_engine(engine: str | Engine = "duckdb", **options: Any) -> Engine:
    """``"duckdb"``, ``"spark"`` or an engine instance."""
    if not isinstance(engine, str):
        return engine
    if engine == "duckdb":
        return DuckDBEngine(**options)
    if engine == "spark":
        return SparkEngine(**options)
    raise ValidationError("engine", engine, "expected 'duckdb' or 'spark'")


def _escape(text: str) -> str:
    return text.replace("'", "''")
