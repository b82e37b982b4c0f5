"""Open a database: engine set-up, schema-revision check, transactions with retry.

SQLite (embedded default) runs in WAL mode and starts every writing transaction
with ``BEGIN IMMEDIATE`` so that two writers queue instead of failing halfway;
row locks do nothing there. PostgreSQL uses ``SELECT ... FOR UPDATE`` on the
experiment row. Transient failures ("database is locked", serialization
failures, deadlocks) are retried with jittered exponential backoff, so they
never reach the user.
"""

from __future__ import annotations

import logging
import os
import random
import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from adaptive.errors import (
    NoAdaptiveDatabaseError,
    SchemaVersionError,
    StorageError,
    StorageUnavailableError,
    ValidationError,
)
from adaptive.storage import migrate

logger = logging.getLogger(__name__)

DEFAULT_URL = "sqlite:///adaptive.db"
_PG_RETRY_CODES = {"40001", "40P01", "55P03"}  # serialization failure, deadlock, lock not available
T = TypeVar("T")


def default_url() -> str:
    """``$ADAPTIVE_DATABASE_URL``, else ``sqlite:///adaptive.db``."""
    return os.environ.get("ADAPTIVE_DATABASE_URL") or DEFAULT_URL


# scheme-like prefix, then everything up to the LAST "@" (a password may hold "@")
_CREDENTIALS = re.compile(r"^([^:/@]*:?/*)(.*)@", re.DOTALL)


def mask(url: str | URL) -> str:
    """The URL with any password replaced by ``***``, for logs and messages.

    A URL that does not parse (a missing ``:``, a bad port, a stray bracket)
    loses everything between its scheme and its last ``@``: a malformed URL
    still holds a real password.
    """
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    text = str(url)
    try:
        parsed = make_url(text)
        masked = parsed.render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - any parse failure: fall back to the textual mask
        parsed = None
    if parsed is not None and text.count("@") <= 1:
        return masked
    return _CREDENTIALS.sub(lambda m: f"{m.group(1)}***@", text, count=1)


def _parse_url(url: str) -> URL:
    if not isinstance(url, str) or not url:
        raise ValidationError("storage", url, "expected a database URL such as 'sqlite:///adaptive.db'")
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        reason = "bad port" if "int()" in str(exc) else "not a database URL"
        raise ValidationError("storage", mask(url), f"{reason}; e.g. 'sqlite:///adaptive.db'") from None
    if parsed.host and "@" in parsed.host:
        raise ValidationError("storage", mask(url), "a password holding '@' must be percent-encoded as %40")
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _is_retryable(exc: DBAPIError) -> bool:
    orig = exc.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if code in _PG_RETRY_CODES:
        return True
    message = str(orig).lower()
    return "database is locked" in message or "database is busy" in message or "database table is locked" in message


class Database:
    """An open adaptive database.

    Args:
        url: SQLAlchemy URL; ``None`` means :func:`default_url`. ``postgresql://``
            uses the psycopg (3) driver.
        upgrade_empty: create the schema (through the migrations) when the
            database has no tables yet. A database at another revision is never
            changed implicitly: :class:`SchemaVersionError` says what to run.

    Raises:
        ValidationError: the URL cannot be parsed or names an unknown driver.
        StorageUnavailableError: the database cannot be reached.
        SchemaVersionError: the schema is older or newer than this code.
    """

    def __init__(
        self, url: str | None = None, *, upgrade_empty: bool = True, check_schema: bool = True, create: bool = True
    ) -> None:
        raw = url if url is not None else default_url()
        self.url: URL = _parse_url(raw)
        self.masked_url = mask(self.url)
        if not create and self.url.get_backend_name() == "sqlite" and self.url.database not in (None, "", ":memory:"):
            if not os.path.exists(self.url.database):  # connecting would create the file
                raise NoAdaptiveDatabaseError(self.masked_url, "there is no database file at this path")
        self.engine = self._create_engine(raw)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._readonly_sessions = sessionmaker(
            self.engine.execution_options(adaptive_readonly=True), expire_on_commit=False
        )
        try:
            with self.engine.connect():
                pass
        except OperationalError as exc:
            self.engine.dispose()
            raise StorageUnavailableError(self.masked_url, str(exc.orig).strip().splitlines()[0]) from None
        if check_schema:
            self._check_schema(upgrade_empty and create)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def _create_engine(self, raw: str) -> Engine:
        kwargs: dict[str, Any] = {}
        is_sqlite = self.url.get_backend_name() == "sqlite"
        if is_sqlite and self.url.database in (None, "", ":memory:"):
            kwargs.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
        elif self.url.get_backend_name() == "postgresql":
            kwargs.update(connect_args={"connect_timeout": 10}, pool_pre_ping=True)
        try:
            engine = create_engine(self.url, **kwargs)
        except (NoSuchModuleError, ArgumentError, ImportError) as exc:
            if self.url.get_backend_name() == "postgresql" and isinstance(exc, ImportError):
                raise ValidationError(
                    "storage", self.masked_url,
                    "the PostgreSQL driver is not installed: pip install 'adaptive-experiments[postgres]'",
                ) from None
            raise ValidationError("storage", self.masked_url, f"unsupported database driver ({exc})") from None
        if is_sqlite:
            _configure_sqlite(engine)
        return engine

    def _check_schema(self, upgrade_empty: bool) -> None:
        head = migrate.head_revision()
        with self.engine.connect() as conn:
            current = migrate.current_revision(conn)
            empty = current is None and not migrate.has_any_table(conn)
        if current == head:
            return
        if empty and upgrade_empty:
            migrate.upgrade(self.engine)
            return
        if empty:
            self.engine.dispose()
            raise NoAdaptiveDatabaseError(self.masked_url, "the database has no adaptive schema yet")
        if current is None:
            raise SchemaVersionError(
                self.masked_url, None, head,
                "it has tables but no adaptive schema version; point adaptive at its own database or schema",
            )
        if current not in migrate.known_revisions():
            raise SchemaVersionError(
                self.masked_url, current, head,
                "the database was written by a newer adaptive; upgrade the package (pip install -U adaptive-experiments)",
            )
        raise SchemaVersionError(
            self.masked_url, current, head, f"run: adaptive db upgrade --storage '{self.masked_url}'"
        )

    def run(self, fn: Callable[[Session], T], *, readonly: bool = False, attempts: int = 12) -> T:
        """Run ``fn(session)`` in one transaction, committed on return, rolled back on error.

        Transient lock and serialization failures restart the whole transaction
        with jittered exponential backoff (at most ``attempts`` times).
        """
        factory = self._readonly_sessions if readonly else self._sessions
        delay = 0.01
        for attempt in range(1, attempts + 1):
            try:
                with factory() as session, session.begin():
                    return fn(session)
            except DBAPIError as exc:
                if not _is_retryable(exc) or attempt == attempts:
                    if isinstance(exc, OperationalError) and _is_retryable(exc):
                        raise StorageError(f"storage={self.masked_url!r}: still locked after {attempts} tries") from exc
                    raise
                logger.debug("retrying transaction after %s (attempt %d)", type(exc.orig).__name__, attempt)
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 2.0)
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Database({self.masked_url!r})"


def open_database(storage: str | Database | None, *, create: bool = True) -> Database:
    """``storage`` itself when it is an open :class:`Database`, else a new one for the URL (or the default).

    ``create=False`` (readers) creates neither a SQLite file nor the schema of an empty database.
    """
    return storage if isinstance(storage, Database) else Database(storage, create=create)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from pysqlite so that BEGIN IMMEDIATE below is what runs.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.execute("PRAGMA foreign_keys = ON")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        readonly = conn.get_execution_options().get("adaptive_readonly", False)
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")
