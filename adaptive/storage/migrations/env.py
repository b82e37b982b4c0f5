"""Alembic environment for adaptive.

Imports nothing from ``adaptive``: revisions must keep working after the
library changes. The library passes an open connection in
``config.attributes["connection"]``; the ``alembic`` command line uses
``sqlalchemy.url`` from its config instead.
"""

from alembic import context
from sqlalchemy import create_engine

VERSION_TABLE = "adaptive_alembic_version"  # our own name: never clash with another tool's alembic_version


def run_with(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=None,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


config = context.config
connection = config.attributes.get("connection")
if connection is not None:
    run_with(connection)
else:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("alembic: set sqlalchemy.url in the config (or use `adaptive db upgrade`)")
    engine = create_engine(url)
    with engine.connect() as conn:
        run_with(conn)
        conn.commit()
