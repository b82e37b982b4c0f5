"""The per-experiment round lock: held for a whole round, released when the holder dies.

PostgreSQL: a session-level advisory lock on a dedicated connection (several cron
hosts, one database). SQLite: an exclusive ``flock`` on a file beside the database
(one host). Both are released by the operating system or server when the process
dies, so a round killed halfway never blocks the next one.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import text

from adaptive.errors import RoundBusyError
from adaptive.storage import Database

__all__ = ["RoundBusyError", "round_lock"]


def _key(experiment: str) -> int:
    """A stable signed 64-bit key (PostgreSQL advisory locks take a bigint)."""
    return int.from_bytes(hashlib.sha256(f"adaptive-round:{experiment}".encode()).digest()[:8], "big", signed=True)


@contextlib.contextmanager
def round_lock(database: Database, experiment: str) -> Iterator[None]:
    """Hold the experiment's round lock, or raise :class:`RoundBusyError` at once."""
    if database.dialect == "postgresql":
        with database.engine.connect() as conn:
            # Advisory locks are per database, not per schema: the key names the schema too, so
            # two adaptive schemas in one database (an experiment name in each) never block each other.
            schema = conn.execute(text("SELECT current_schema()")).scalar()
            key = _key(f"{schema}.{experiment}")
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
            conn.commit()
            if not got:
                raise RoundBusyError(experiment)
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
        return
    path = database.url.database
    if not path or path == ":memory:":
        yield  # one process owns an in-memory database
        return
    # the resolved path: a symlink or another spelling of the same file must find the same lock
    lock_path = Path(f"{os.path.realpath(path)}.round-{_key(experiment) & 0xFFFFFFFF:08x}.lock")
    fd = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RoundBusyError(experiment) from None
        yield
    finally:
        os.close(fd)
