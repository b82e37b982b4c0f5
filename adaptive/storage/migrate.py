"""Run and inspect Alembic migrations for an adaptive database.

The revisions live in ``adaptive/storage/migrations/`` (Alembic's environment and its
``versions/``); they are the only source of the schema.
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

from adaptive.errors import ValidationError
from adaptive.storage.models import VERSION_TABLE

if TYPE_CHECKING:  # alembic is imported to migrate, not to open a database at head
    from alembic.config import Config

logger = logging.getLogger(__name__)

# The newest revision in migrations/versions/ (a test checks it against Alembic's own
# reading): opening a database at head needs only this and one SELECT.
HEAD_REVISION = "0005"

# Any fixed 64-bit key: serializes concurrent upgrades of one PostgreSQL database.
_PG_MIGRATION_LOCK_KEY = 0x0ADA_0001


def migrations_path() -> Path:
    return Path(str(resources.files("adaptive.storage.migrations")))


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_path()))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    return HEAD_REVISION


def scripted_head_revision() -> str:
    """The head as Alembic reads it from the revision files."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the migrations folder holds no revision"
    return head


def ordered_revisions() -> list[str]:
    """Every revision, oldest first."""
    from alembic.script import ScriptDirectory

    return [s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()][::-1]


def known_revisions() -> set[str]:
    return set(ordered_revisions())


def current_revision(connection: Connection) -> str | None:
    """The database's revision, or None when it has no adaptive schema."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    if len(rows) > 1:
        raise RuntimeError(f"{VERSION_TABLE} holds several revisions: {sorted(rows)}")
    return rows[0] if rows else None


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
        from alembic import command

        before = current_revision(connection)
        order = ordered_revisions()
        if before is not None and before not in order:
            raise ValidationError(
                "storage", str(engine.url.render_as_string(hide_password=True)),
                f"is at revision {before!r}, written by a newer adaptive; upgrade the package, not the database",
            )
        if before is None and not inspect(connection).has_table(VERSION_TABLE) and has_any_table(connection):
            raise ValidationError(
                "storage", str(engine.url.render_as_string(hide_password=True)),
                "has adaptive's table names but no adaptive schema version: not an adaptive database; "
                "point adaptive at its own database",
            )
        if revision != "head":
            if revision not in order:
                raise ValidationError("revision", revision, f"unknown; known revisions: {order}")
            if before is not None and order.index(revision) < order.index(before):
                raise ValidationError(
                    "revision", revision,
                    f"is older than the database's {before!r}; downgrades are not supported (restore a backup)",
                )
        command.upgrade(alembic_config(connection), revision)
        after = current_revision(connection)
    if before != after:
        logger.info("upgraded database schema from %s to %s", before, after)
    return after or "base"
