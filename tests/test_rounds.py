"""Cron rounds, in process and as real ``adaptive round`` subprocesses, with faults."""

import os
import random
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

import adaptive as ad
from adaptive.cron.apply_config import apply_config
from adaptive.cron.config import parse_config
from adaptive.cron.rounds import run_round
from adaptive.storage import Database
from adaptive.storage.locks import round_lock

CONFIG = {
    "name": "cron",
    "parameters": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
    "objectives": [{"metric": "y", "direction": "maximize"}],
    "generation": {"initial_trials": 1000},  # quasi-random: rounds are under test, not BO
    "rounds": {"max_parallel": {"online": 3, "simulator": 2}},
    "metrics": {"kind": "python", "function": "tests.round_support:metrics"},
}


def setup(url, **changes):
    return apply_config(parse_config({**CONFIG, **changes}), storage=url)[0]


def test_a_round_completes_proposes_and_is_recorded(sqlite_url):
    exp = setup(sqlite_url)
    first = run_round("cron", storage=sqlite_url)
    assert first.status == "DONE" and first.counts["proposed"] == {"online": 3, "simulator": 2}
    second = run_round("cron", storage=sqlite_url)
    assert second.counts["completed"] == 5 and second.counts["proposed"] == {"online": 3, "simulator": 2}
    third = run_round("cron", storage=sqlite_url)
    assert third.counts["completed"] == 5
    trials = exp.trials()
    assert [t.id for t in trials] == list(range(15))
    assert sum(t.status == ad.TrialStatus.COMPLETED for t in trials) == 10
    assert all(t.observations["y"].mean == t.params["x"] for t in trials if t.status == ad.TrialStatus.COMPLETED)
    db = Database(sqlite_url)
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT status, counts FROM rounds ORDER BY id")).all()
    assert [r[0] for r in rows] == ["DONE"] * 3


def test_rounds_are_numbered_within_each_experiment(sqlite_url):
    setup(sqlite_url)
    setup(sqlite_url, name="other")
    numbers = [(name, run_round(name, storage=sqlite_url).round_number) for name in ("cron", "other", "cron", "other", "other")]
    assert numbers == [("cron", 1), ("other", 1), ("cron", 2), ("other", 2), ("other", 3)]


def test_rounds_count_fallbacks_and_the_paths_fits_took(sqlite_url, monkeypatch):
    from adaptive.errors import ModelFitError

    setup(sqlite_url, generation={"initial_trials": 2}, rounds={"max_parallel": 2})
    run_round("cron", storage=sqlite_url)  # quasi-random start
    normal = run_round("cron", storage=sqlite_url)  # completes the two, fits, proposes by BO
    assert normal.counts["fallbacks"] == 0 and normal.counts["paths"]["fit:closed-form"] >= 1
    assert normal.counts["paths"].get("fit:botorch", 0) == 0

    def broken(*args, **kwargs):
        raise ModelFitError("simulated non-PSD covariance")

    monkeypatch.setattr("adaptive.generation.strategy.fit_models", broken)
    degraded = run_round("cron", storage=sqlite_url)
    assert degraded.counts["fallbacks"] == 2 and degraded.status == "DONE"
    status = subprocess.run([sys.executable, "-m", "adaptive", "status", "--json", "--storage", sqlite_url],
                            capture_output=True, text=True, timeout=300)
    (row,) = __import__("json").loads(status.stdout)
    assert row["fallbacks"] == 2 and row["slow_paths"] == 0


def test_stale_trials_fail_and_source_errors_are_recorded(sqlite_url, monkeypatch):
    exp = setup(sqlite_url, rounds={"max_parallel": 2, "max_trial_age": "1s"},
                metrics={"kind": "python", "function": "tests.sources.test_sources:raising"})
    run_round("cron", storage=sqlite_url)
    time.sleep(1.2)
    result = run_round("cron", storage=sqlite_url)
    assert result.status == "DEGRADED" and result.counts["failed_stale"] == 2 and result.counts["completed"] == 0
    assert "warehouse down" in result.errors[0]
    failed = exp.trials(status="FAILED")
    assert len(failed) == 2 and "max_trial_age" in failed[0].failure_reason
    assert len(exp.trials(status="RUNNING")) == 2


def _age(url, days_by_index):
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for index, (created, completed) in days_by_index.items():
            conn.execute(sa.text("UPDATE trials SET created_at = :c WHERE \"index\" = :i"),
                         {"c": datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(days=created), "i": index})
            if completed is not None:
                conn.execute(sa.text("UPDATE trials SET completed_at = :c WHERE \"index\" = :i"),
                             {"c": datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(days=completed), "i": index})
    engine.dispose()


def test_trials_left_running_are_failed_by_default_only_when_long_overdue(sqlite_url):
    # an API process that died leaves its trial RUNNING: with max_parallel = 1 nothing would ever be proposed
    exp = setup(sqlite_url, rounds={"max_parallel": 1}, metrics={"kind": "python", "function": "tests.round_support:nothing"})
    assert run_round("cron", storage=sqlite_url).counts["proposed"] == {"online": 1}
    _age(sqlite_url, {0: (29, None)})
    assert run_round("cron", storage=sqlite_url).counts["failed_stale"] == 0  # no history: 30 days
    _age(sqlite_url, {0: (31, None)})
    second = run_round("cron", storage=sqlite_url)
    assert second.counts["failed_stale"] == 1 and second.counts["proposed"] == {"online": 1}
    assert "default max_trial_age" in exp.trial(0).failure_reason
    exp.complete(1, {"y": 0.5})
    _age(sqlite_url, {1: (40, 20)})  # metrics took 20 days: the default becomes 60 days
    run_round("cron", storage=sqlite_url)
    _age(sqlite_url, {2: (45, None)})
    assert run_round("cron", storage=sqlite_url).counts["failed_stale"] == 0
    setup(sqlite_url, rounds={"max_parallel": 1, "max_trial_age": "never"},
          metrics={"kind": "python", "function": "tests.round_support:nothing"})
    _age(sqlite_url, {2: (400, None)})
    assert run_round("cron", storage=sqlite_url).counts["failed_stale"] == 0


def test_export_every_round(sqlite_url, tmp_path):
    path = tmp_path / "out" / "dist.json"
    exp = setup(sqlite_url, export={"every_round": True, "top_k": 2, "path": str(path)})
    first = run_round("cron", storage=sqlite_url)  # nothing completed yet: no export, not an error
    assert first.status == "DONE" and first.counts["export_version"] is None and not path.exists()
    exp.attach({"x": 0.2}, {"y": 0.2})
    exp.attach({"x": 0.8}, {"y": 0.8})
    result = run_round("cron", storage=sqlite_url)
    assert result.counts["export_version"] == 1 and path.exists()
    assert ad.serving.load(path).version == 1


def test_a_held_lock_makes_the_round_busy(storage_url):
    setup(storage_url)
    db = Database(storage_url)
    with round_lock(db, "cron"):
        assert run_round("cron", storage=storage_url).status == "BUSY"
    assert run_round("cron", storage=storage_url).status == "DONE"


def test_same_named_experiments_in_two_postgres_schemas_do_not_share_a_lock(postgres_url):
    import uuid

    from tests.conftest import _postgres_base_url

    other = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(_postgres_base_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{other}"'))
    try:
        other_url = postgres_url.replace(postgres_url.rsplit("%3D", 1)[1], other)
        setup(postgres_url)
        setup(other_url)
        with round_lock(Database(postgres_url), "cron"):
            assert run_round("cron", storage=other_url).status == "DONE"  # another installation's 'cron'
            assert run_round("cron", storage=postgres_url).status == "BUSY"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{other}" CASCADE'))
        admin.dispose()


def test_the_lock_holds_through_a_symlink_and_another_spelling(tmp_path):
    url = f"sqlite:///{tmp_path / 'adaptive.db'}"
    setup(url)
    (tmp_path / "link.db").symlink_to(tmp_path / "adaptive.db")
    (tmp_path / "sub").mkdir()
    aliases = [f"sqlite:///{tmp_path / 'link.db'}", f"sqlite:///{tmp_path / 'sub' / '..' / 'adaptive.db'}"]
    with round_lock(Database(url), "cron"):
        for alias in aliases:
            assert run_round("cron", storage=alias).status == "BUSY"
    assert run_round("cron", storage=aliases[0]).status == "DONE"


def test_a_failing_source_is_visible_in_the_exit_code_status_and_rounds(sqlite_url):
    setup(sqlite_url, metrics={"kind": "python", "function": "tests.round_support:down"})

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "adaptive", *args, "--storage", sqlite_url],
                              capture_output=True, text=True, timeout=300)

    first = run_round("cron", storage=sqlite_url)  # nothing running yet: the source is not asked
    assert first.status == "DONE" and first.errors == []
    second = cli("round", "cron")
    assert second.returncode == 4 and "warehouse down" in second.stderr and "degraded" in second.stdout
    status = cli("status").stdout.splitlines()
    assert "last_error" in status[0] and "DEGRADED" in status[1] and "warehouse down" in status[1]
    rounds = cli("rounds", "cron", "--csv").stdout.splitlines()
    assert rounds[0].startswith("round,started,host,status") and len(rounds) == 3
    assert "DEGRADED" in rounds[1] and "ConnectionError: warehouse down" in rounds[1] and ",DONE," in rounds[2]
    assert cli("rounds", "nope").returncode == 1


def test_rows_of_finished_trials_in_an_append_only_source_are_not_errors(sqlite_url):
    setup(sqlite_url, metrics={"kind": "python", "function": "tests.round_support:append_only"})
    results = [run_round("cron", storage=sqlite_url) for _ in range(3)]
    assert [r.status for r in results] == ["DONE"] * 3 and all(r.errors == [] for r in results)
    assert results[2].counts["completed"] == 5  # rows 0-4 belong to trials completed a round earlier


def adaptive_cli(*args, env=None):
    return subprocess.Popen(
        [sys.executable, "-m", "adaptive", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **(env or {})},
    )


def test_eight_rounds_at_once_propose_exactly_one_batch(storage_url):
    # no results arrive, so however the eight interleave only the first batch may exist
    exp = setup(storage_url, metrics={"kind": "python", "function": "tests.round_support:nothing"})
    procs = [adaptive_cli("round", "cron", "--storage", storage_url) for _ in range(8)]
    codes = [p.wait(timeout=300) for p in procs]
    outputs = [p.communicate() for p in procs]
    assert set(codes) <= {0, 3} and 0 in codes, outputs
    trials = exp.trials()
    assert len(trials) == 5 and [t.id for t in trials] == list(range(5))
    assert sorted(t.source for t in trials) == ["online"] * 3 + ["simulator"] * 2


def _consistent(exp):
    trials = exp.trials()
    assert [t.id for t in trials] == list(range(len(trials)))  # dense, unique
    for t in trials:
        if t.status == ad.TrialStatus.COMPLETED:
            assert t.observations["y"].mean == t.params["x"]
        else:
            assert not t.observations
    assert sum(t.status == ad.TrialStatus.RUNNING and t.source == "online" for t in trials) <= 3
    return trials


def test_rounds_killed_at_random_points_leave_a_consistent_database(storage_url):
    exp = setup(storage_url)
    rng = random.Random(0)
    env = {"ADAPTIVE_TEST_SOURCE_DELAY": "0.2"}
    seen = 0
    for _ in range(20):
        proc = adaptive_cli("round", "cron", "--storage", storage_url, env=env)
        time.sleep(rng.uniform(1.5, 3.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        trials = _consistent(exp)
        assert len(trials) >= seen  # nothing lost
        seen = len(trials)
    final = adaptive_cli("round", "cron", "--storage", storage_url)
    assert final.wait(timeout=300) == 0, final.communicate()
    _consistent(exp)
    db = Database(storage_url)
    with db.engine.connect() as conn:
        statuses = [r[0] for r in conn.execute(sa.text("SELECT status FROM rounds ORDER BY id"))]
    assert statuses[-1] == "DONE" and "RUNNING" not in statuses


def test_cli_apply_status_trials_pareto(sqlite_url, tmp_path):
    path = tmp_path / "cron.toml"
    path.write_text(
        'name = "cron"\n[parameters.x]\ntype = "float"\nlow = 0.0\nhigh = 1.0\n'
        '[[objectives]]\nmetric = "y"\ndirection = "maximize"\n[rounds]\nmax_parallel = 2\n'
        '[metrics]\nkind = "python"\nfunction = "tests.round_support:metrics"\n[generation]\ninitial_trials = 100\n'
    )
    def run(*args):
        return subprocess.run([sys.executable, "-m", "adaptive", *args, "--storage", sqlite_url],
                              capture_output=True, text=True, timeout=300)
    assert "created" in run("apply", str(path)).stdout
    assert "unchanged" in run("apply", str(path)).stdout
    assert run("create", str(path)).returncode == 1
    assert run("round", "--config", str(path)).returncode == 0
    assert run("round", "cron").returncode == 0
    status = run("status")
    assert "cron" in status.stdout and "DONE" in status.stdout
    csv = run("trials", "cron", "--csv").stdout.splitlines()
    assert csv[0].startswith("trial_id,status,source") and len(csv) == 5
    assert "trial_id" in run("pareto", "cron").stdout
    missing = run("round", "nope")
    assert missing.returncode == 1 and missing.stderr.startswith("adaptive: error:") and "Traceback" not in missing.stderr
