"""Writes the saved old-revision databases used by tests/storage/test_migrations.py.

Run once per schema revision that gains a saved fixture (from the repository root):
    python tests/data/make_fixtures.py
It builds a database with the API at head, downgrades it to the old revision,
and saves both the SQLite file and a dialect-neutral SQL dump of its rows.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from pathlib import Path

from alembic import command

import adaptive as ad
from adaptive.storage import migrate

HERE = Path(__file__).parent
TABLES = ["experiments", "trials", "observations"]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "old.db"
        url = f"sqlite:///{path}"
        exp = ad.create_experiment(
            "legacy", storage=url, seed=1,
            parameters={"x": ad.Float(0, 1), "n": ad.Int(1, 9), "c": ad.Choice(["a", "b"])},
            objectives=[ad.Maximize("y", threshold=0.0)], outcome_constraints=["cost <= 5"],
        )
        trials = exp.suggest(3)
        exp.complete(trials[0].id, {"y": (0.5, 0.1), "cost": 1.0})
        exp.fail(trials[1].id, reason="old failure")
        db = exp.database
        with db.engine.begin() as conn:
            command.downgrade(migrate.alembic_config(conn), "0001")
        db.close()
        shutil.copy(path, HERE / "revision_0001.db")
        con = sqlite3.connect(path)
        lines = []
        for table in TABLES:
            cur = con.execute(f"SELECT * FROM {table} ORDER BY id")
            cols = [d[0] for d in cur.description]
            for row in cur:
                values = ", ".join(_literal(v) for v in row)
                quoted = ", ".join(f'"{c}"' for c in cols)
                lines.append(f"INSERT INTO {table} ({quoted}) VALUES ({values});")
        con.close()
        (HERE / "revision_0001.sql").write_text("\n".join(lines) + "\n")


def _literal(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


if __name__ == "__main__":
    main()
