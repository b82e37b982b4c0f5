"""Shared fixtures: real SQLite files and real PostgreSQL schemas.

PostgreSQL tests read ``ADAPTIVE_TEST_POSTGRES_URL``. Without it they skip
locally; under CI (``CI=true``) a missing or unreachable server is an error.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

# Imported here so the xdist controller has it before workers report its warnings: two
# workers reporting one at the same time made the controller import it from two threads,
# which deadlocked on a circular import.
import linear_operator  # noqa: F401
import pytest
import sqlalchemy as sa

POSTGRES_ENV = "ADAPTIVE_TEST_POSTGRES_URL"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _postgres_base_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        if _in_ci():
            pytest.fail(f"{POSTGRES_ENV} is not set; CI must test PostgreSQL")
        pytest.skip(f"PostgreSQL tests need {POSTGRES_ENV} (e.g. postgresql://postgres@127.0.0.1:5432/test)")
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL whose connections see a fresh, empty schema of the test database."""
    base = _postgres_base_url()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        if _in_ci():
            pytest.fail(f"PostgreSQL at {POSTGRES_ENV} is unreachable: {exc}")
        pytest.skip(f"PostgreSQL at {POSTGRES_ENV} is unreachable")
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'adaptive.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def storage_url(request) -> str:
    """Each storage test runs on a SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_url")


DATA = __import__("pathlib").Path(__file__).parent / "data"
