"""Run and inspect Alembic migrations for an adaptive database.

The revisions live in the repository's ``migrations/`` folder (installed as the
package ``adaptive._migrations``); they are the only source of the schema.
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

from adaptive.storage.models import VERSION_TABLE

logger = logging.getLogger(__name__)

# Any fixed 64-bit key: serializes concurrent upgrades of one PostgreSQL database.
_PG_MIGRATION_LOCK_KEY = 0x0ADA_0001


def migrations_path() -> Path:
    return Path(str(resources.files("adaptive._migrations")))


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_path()))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "migrations/ holds no revision"
    return head


def known_revisions() -> set[str]:
    return {s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


def current_revision(connection: Connection) -> str | None:
    """The database's revision, or None when it has no adaptive schema."""
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def has_any_table(connection: Connection) -> bool:
    return bool(set(inspect(connection).get_table_names()) & {"experiments", "trials", "observations", VERSION_TABLE})


def upgrade(engine: Engine, revision: str = "head") -> str:
    """Bring the database to ``revision`` in one transaction; returns the revision it ends at.

    Safe to run from several processes at once: PostgreSQL takes an advisory
    lock, SQLite an immediate (write) transaction.
    """
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK_KEY})
        before = current_revision(connection)
        command.upgrade(alembic_config(connection), revision)
        after = current_revision(connection)
    if before != after:
        logger.info("upgraded database schema from %s to %s", before, after)
    return after or "base"
