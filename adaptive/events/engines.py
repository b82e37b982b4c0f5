"""Where the attribution SQL runs: DuckDB (embedded, the default) or Apache Spark.

Both register the three logs as ``raw_<table>`` from a pandas DataFrame, a Parquet
or CSV file (or folder/glob of Parquet files) or a SQL table (:class:`SQLTable`), and run :mod:`adaptive.events.query`'s
SQL. Spark is imported only when used (``pip install adaptive-experiments[spark]``,
and a Java runtime).

On a Spark cluster the executors run on other hosts: a DataFrame is handed to Spark as Arrow
record batches through the driver (no file on the driver's disk), and a log given as a path
must be a URL every executor reaches (``s3a://``, ``hdfs://``, ``abfss://``, ``gs://``, or
``file://`` for a folder mounted at the same place on every host); a bare path is refused
there, because it names a file on the driver only.
"""

from __future__ import annotations

import logging
import warnings
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

DUCKDB = Dialect(micros="epoch_us({0})", not_finite="(NOT isfinite({0}))", string_type="VARCHAR", int_div="({0} // {1})")
SPARK = Dialect(
    micros="unix_micros({0})", not_finite="(isnan({0}) OR {0} IN (double('inf'), double('-inf')))",
    string_type="STRING", int_div="({0} div {1})",
)


class Engine(Protocol):
    name: str
    dialect: Dialect

    def register(self, table: str, data: LogInput) -> list[str]:
        """Register ``data`` as ``raw_<table>``; return its column names."""

    def register_frame(self, name: str, frame: pd.DataFrame) -> None:
        """Register ``frame`` as relation ``name``."""

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
            path = Path(str(data).removeprefix("file://"))
            _check_exists(path, table)
            kind = _kind(path, table)
            # A folder is read with its subfolders: date partitions (dt=2026-01-05/part-0.parquet) included.
            target = str(path / "**" / "*.parquet") if path.is_dir() else str(path)
            source = f"read_parquet('{_escape(target)}')" if kind == "parquet" else f"read_csv_auto('{_escape(target)}', header=true)"
        self.con.execute(f"CREATE OR REPLACE TEMPORARY VIEW raw_{table} AS SELECT * FROM {source}")
        return [row[0] for row in self.con.execute(f"DESCRIBE raw_{table}").fetchall()]

    def register_frame(self, name: str, frame: pd.DataFrame) -> None:
        self.con.register(f"{name}_frame", frame)
        self.con.execute(f"CREATE OR REPLACE TEMPORARY VIEW {name} AS SELECT * FROM {name}_frame")

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
    """Spark SQL on ``master`` (``local[*]`` by default; a cluster URL such as
    ``spark://host:7077`` in production), or on an existing ``session``. DataFrames reach
    the executors as Arrow batches through the driver; paths must be URLs every executor
    reaches unless Spark runs in this process (``local``)."""

    name = "spark"
    dialect = SPARK

    def __init__(self, master: str = "local[*]", *, session: Any = None, config: dict[str, str] | None = None) -> None:
        self._owned = session is None
        try:
            from pyspark.sql import SparkSession
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ValidationError("engine", "spark", "needs PySpark: pip install 'adaptive-experiments[spark]'") from exc
        with warnings.catch_warnings():
            # Imported by PySpark on first use of some DataFrame methods; it warns once per
            # process that pandas 3 is untested. Nothing here converts through pandas.
            warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
            import pyspark.testing.utils  # noqa: F401
        if session is None:
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
        self.local = str(self.spark.sparkContext.master).startswith("local")

    def register(self, table: str, data: LogInput) -> list[str]:
        if isinstance(data, SQLTable):
            data = data.read()
        if isinstance(data, pd.DataFrame):
            df = self._from_pandas(data)
        else:
            text = str(data)
            if "://" in text and not text.startswith("file://"):
                path, url = Path(text.split("://", 1)[1]), text  # remote storage: Spark checks it exists
                kind = "csv" if path.name.lower().endswith((".csv", ".csv.gz")) else "parquet"  # a file or a folder
            else:
                if not self.local and not text.startswith("file://"):
                    raise ValidationError(
                        table, text, "is a path on this host's disk, which executors on other hosts cannot read: give "
                        "a URL every executor reaches (s3a://, hdfs://, abfss://, gs://, or file:///... for a folder "
                        "mounted at the same place on every host)",
                    )
                path = Path(text.removeprefix("file://"))
                _check_exists(path, table)
                url = "file://" + str(path.absolute()) if text.startswith("file://") else str(path)
                kind = _kind(path, table)
            reader = self.spark.read.option("recursiveFileLookup", "true") if kind == "parquet" and "*" not in path.name else self.spark.read
            df = (
                reader.parquet(url) if kind == "parquet"
                else self.spark.read.option("header", True).option("inferSchema", True).csv(url)
            )
        df.createOrReplaceTempView(f"raw_{table}")
        return list(df.columns)

    def register_frame(self, name: str, frame: pd.DataFrame) -> None:
        self._from_pandas(frame).createOrReplaceTempView(name)

    def _from_pandas(self, frame: pd.DataFrame) -> Any:
        """The frame as a Spark DataFrame built from Arrow record batches sent by the driver:
        nothing is written to the driver's disk, so executors on other hosts get the rows."""
        import pyarrow as pa

        table = pa.Table.from_pandas(frame, preserve_index=False)
        # Spark keeps microseconds; Arrow timestamps in other units are converted first. A column
        # with no values at all (an empty log, a column of nulls) has Arrow's null type, which
        # Spark cannot take: it goes over as strings.
        fields = [
            pa.field(f.name, pa.timestamp("us", tz=f.type.tz)) if pa.types.is_timestamp(f.type)
            else pa.field(f.name, pa.string()) if pa.types.is_null(f.type) else f
            for f in table.schema
        ]
        table = table.cast(pa.schema(fields))
        with warnings.catch_warnings():
            # PySpark warns on every conversion that it is not yet tested with pandas 3; the
            # Arrow path used here does not go through pandas (engines-agree test).
            warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
            return self.spark.createDataFrame(table)

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
