"""The schema comes only from the Alembic revisions; old databases upgrade on both backends."""

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import adaptive as ad
from adaptive.storage import Database, migrate
from adaptive.storage.models import VERSION_TABLE, Base
from tests.conftest import DATA


def test_migrated_schema_matches_the_models(storage_url):
    db = Database(storage_url)
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "version_table": VERSION_TABLE})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []
    with db.engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
    assert VERSION_TABLE in tables and "alembic_version" not in tables
    assert {"experiments", "trials", "observations", "rounds", "exports"} <= tables


def test_the_declared_head_is_the_newest_revision_file(storage_url):
    # opening a database compares against HEAD_REVISION without loading Alembic
    assert migrate.head_revision() == migrate.scripted_head_revision()
    with Database(storage_url).engine.connect() as conn:
        alembic_reading = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()
        assert migrate.current_revision(conn) == alembic_reading == migrate.HEAD_REVISION


def test_revisions_import_nothing_from_adaptive():
    for path in (migrate.migrations_path()).rglob("*.py"):
        source = path.read_text()
        assert "import adaptive" not in source and "from adaptive" not in source, path


def _load_revision_0001(url: str) -> None:
    """A database as revision 0001 left it, with its rows (from the saved dump)."""
    engine = sa.create_engine(url)
    migrate.upgrade(engine, "0001")
    with engine.begin() as conn:
        for statement in (DATA / "revision_0001.sql").read_text().splitlines():
            conn.exec_driver_sql(statement)
        if conn.dialect.name == "postgresql":
            for table in ("experiments", "trials", "observations"):
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    engine.dispose()


@pytest.fixture
def old_database(request, storage_url, tmp_path):
    if storage_url.startswith("sqlite"):
        path = tmp_path / "old.db"
        shutil.copy(DATA / "revision_0001.db", path)
        return f"sqlite:///{path}"
    _load_revision_0001(storage_url)
    return storage_url


def test_old_revision_is_refused_with_the_command_that_fixes_it(old_database):
    with pytest.raises(ad.SchemaVersionError) as info:
        ad.load_experiment("legacy", storage=old_database)
    assert info.value.current == "0001" and info.value.head == migrate.head_revision()
    assert "adaptive db upgrade --storage" in str(info.value)


def test_old_revision_upgrades_and_keeps_every_trial(old_database):
    engine = sa.create_engine(old_database)
    assert migrate.upgrade(engine) == migrate.head_revision()
    engine.dispose()
    exp = ad.load_experiment("legacy", storage=old_database)
    trials = exp.trials()
    assert [(t.id, t.status.value) for t in trials] == [(0, "COMPLETED"), (1, "FAILED"), (2, "RUNNING")]
    assert trials[0].observations == {"y": ad.Observation(0.5, 0.1), "cost": ad.Observation(1.0, None)}
    assert trials[1].failure_reason == "old failure"
    assert exp.config.outcome_constraints[0].text == "cost <= 5.0"
    new = exp.suggest(2)
    assert [t.id for t in new] == [3, 4]
    assert trials[0].params not in [t.params for t in new]  # the sequence resumed, not restarted


def test_rounds_stored_before_revision_0005_are_numbered_per_experiment(storage_url):
    engine = sa.create_engine(storage_url)
    migrate.upgrade(engine, "0004")
    with engine.begin() as conn:
        for name in ("a", "b"):
            conn.execute(sa.text("INSERT INTO experiments (name, spec, target_source, seed, trial_count, sobol_position, "
                                 "created_at, updated_at) VALUES (:n, '{}', 'online', 0, 0, 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"), {"n": name})
        ids = dict(conn.execute(sa.text("SELECT name, id FROM experiments")).all())
        for name in ("a", "b", "a", "a", "b"):
            conn.execute(sa.text("INSERT INTO rounds (experiment_id, status, started_at, counts) "
                                 "VALUES (:e, 'DONE', CURRENT_TIMESTAMP, '{}')"), {"e": ids[name]})
    assert migrate.upgrade(engine) == migrate.head_revision()
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT e.name, r.number FROM rounds r JOIN experiments e "
                                    "ON e.id = r.experiment_id ORDER BY r.id")).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [("a", 1), ("b", 1), ("a", 2), ("a", 3), ("b", 2)]


def test_newer_revision_is_refused(storage_url):
    Database(storage_url).close()
    engine = sa.create_engine(storage_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(ad.SchemaVersionError, match="newer adaptive"):
        ad.list_experiments(storage=storage_url)


def test_foreign_tables_without_version_are_refused(storage_url):
    engine = sa.create_engine(storage_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE experiments (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    with pytest.raises(ad.SchemaVersionError, match="no adaptive schema version"):
        ad.list_experiments(storage=storage_url)


def test_reads_create_nothing(storage_url):
    with pytest.raises(ad.NotFoundError, match="no adaptive schema|no database file") as info:
        ad.load_experiment("x", storage=storage_url)
    assert "nothing was created" in str(info.value)
    assert ad.list_experiments(storage=storage_url) == []
    engine = sa.create_engine(storage_url)
    with engine.connect() as conn:
        assert sa.inspect(conn).get_table_names() == []  # no schema made (PostgreSQL), no file (SQLite)
    engine.dispose()
    if storage_url.startswith("sqlite"):
        Path(storage_url.removeprefix("sqlite:///")).unlink()  # the inspection above created it
        with pytest.raises(ad.NoAdaptiveDatabaseError, match="no database file"):
            Database(storage_url, create=False)
        assert not Path(storage_url.removeprefix("sqlite:///")).exists()


def test_upgrade_refuses_a_downgrade_and_a_newer_database(storage_url):
    db = Database(storage_url)
    with pytest.raises(ad.ValidationError, match="downgrades are not supported") as info:
        migrate.upgrade(db.engine, "0001")
    assert info.value.field == "revision"
    with pytest.raises(ad.ValidationError, match="unknown"):
        migrate.upgrade(db.engine, "0099")
    with db.engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = '0099'"))
    with pytest.raises(ad.ValidationError, match="newer adaptive"):
        migrate.upgrade(db.engine)
    db.close()


def test_downgrade_and_upgrade_roundtrip(storage_url):
    db = Database(storage_url)
    from alembic import command

    with db.engine.begin() as conn:
        command.downgrade(migrate.alembic_config(conn), "base")
    with db.engine.connect() as conn:
        assert migrate.current_revision(conn) is None
    assert migrate.upgrade(db.engine) == migrate.head_revision()
    db.close()
