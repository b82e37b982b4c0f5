"""What is left to extras (PostgreSQL, DuckDB/Parquet, Spark, the service) is named when missing."""

from __future__ import annotations

import sys

import pytest

import adaptive as ad


def _without(monkeypatch, *modules: str) -> None:
    for name in list(sys.modules):
        if any(name == m or name.startswith(m + ".") for m in modules):
            monkeypatch.delitem(sys.modules, name)
    for m in modules:
        monkeypatch.setitem(sys.modules, m, None)  # import raises ImportError


def test_postgresql_without_its_driver_names_the_extra(monkeypatch):
    from adaptive.storage import Database

    _without(monkeypatch, "psycopg", "psycopg2")
    with pytest.raises(ad.ValidationError) as info:
        Database("postgresql://user:s3cretpw@127.0.0.1:5432/db")
    assert info.value.field == "storage" and "adaptive-experiments[postgres]" in str(info.value)
    assert "s3cretpw" not in str(info.value)


def test_duckdb_without_duckdb_names_the_extra(monkeypatch):
    from adaptive.events.engines import make_engine

    _without(monkeypatch, "duckdb")
    with pytest.raises(ad.ValidationError) as info:
        make_engine("duckdb")
    assert info.value.field == "engine" and "adaptive-experiments[events]" in str(info.value)


def test_parquet_metrics_without_pyarrow_name_the_extra(monkeypatch, tmp_path):
    from adaptive.sources.base import FileSource

    _without(monkeypatch, "pyarrow")
    with pytest.raises(ad.ValidationError) as info:
        list(FileSource(str(tmp_path / "metrics.parquet")).fetch("exp", []))
    assert info.value.field == "metrics.path" and "adaptive-experiments[events]" in str(info.value)


def test_every_extra_is_in_the_development_install():
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    dev = set(extras["dev"])
    for name, requirements in extras.items():
        assert set(requirements) <= dev, f"extra {name!r} has requirements the tests' install lacks"
    assert not any(r.startswith(("psycopg", "duckdb", "pyarrow", "pyspark")) for r in project["dependencies"])
