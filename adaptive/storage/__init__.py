"""SQL storage: one database (SQLite or PostgreSQL), schema by Alembic migrations."""

from adaptive.storage.database import Database, default_url, mask, open_database
from adaptive.storage.migrate import current_revision, head_revision, upgrade

__all__ = ["Database", "current_revision", "default_url", "head_revision", "mask", "open_database", "upgrade"]
