"""``adaptive round --all``: every due experiment's round in one process, schedules, failures
kept to their experiment, and several hosts (processes) sharing one database."""

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from adaptive.cron.apply_config import apply_config
from adaptive.cron.config import parse_config
from adaptive.cron.fleet import run_due_rounds
from adaptive.storage import Database

BASE = {
    "parameters": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
    "objectives": [{"metric": "y", "direction": "maximize"}],
    "generation": {"initial_trials": 1000},  # quasi-random: rounds are under test, not BO
    "metrics": {"kind": "python", "function": "tests.round_support:metrics"},
}


def experiment(url, name, every=None, function="metrics"):
    rounds = {"max_parallel": 1, **({"every": every} if every else {})}
    config = {**BASE, "name": name, "rounds": rounds,
              "metrics": {"kind": "python", "function": f"tests.round_support:{function}"}}
    return apply_config(parse_config(config), storage=url)[0]


def rounds_per_experiment(url):
    with Database(url).engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT e.name, count(r.id) FROM experiments e "
                                    "LEFT JOIN rounds r ON r.experiment_id = e.id GROUP BY e.name")).all()
    return dict(rows)


def cli(url, *args):
    return subprocess.run([sys.executable, "-m", "adaptive", "round", "--all", *args, "--storage", url],
                          capture_output=True, text=True, timeout=600)


def test_schedules_decide_what_runs_and_one_failure_stays_its_own(sqlite_url):
    experiment(sqlite_url, "hourly", every="1h")
    experiment(sqlite_url, "always")
    experiment(sqlite_url, "flaky", every="1h", function="down")
    experiment(sqlite_url, "broken", every="1h", function="no_such_function")

    first = cli(sqlite_url)  # nothing ran yet: all four are due; no trial is running, so no source is asked
    assert first.returncode == 0, first.stderr
    assert "fleet: 4 due (4 done, 0 degraded, 0 failed, 0 run elsewhere), 0 not due" in first.stdout
    second = cli(sqlite_url)  # a minute later: only the unscheduled one is due
    assert second.returncode == 0 and "fleet: 1 due (1 done" in second.stdout and "3 not due" in second.stdout
    assert rounds_per_experiment(sqlite_url) == {"hourly": 1, "always": 2, "flaky": 1, "broken": 1}

    later = run_due_rounds(sqlite_url, now=datetime.now(timezone.utc) + timedelta(hours=2), workers=2)
    status = {r.experiment: r.status for r in later.rounds}
    assert status == {"hourly": "DONE", "always": "DONE", "flaky": "DEGRADED", "broken": "DEGRADED"}
    assert later.not_due == [] and next(r for r in later.rounds if r.experiment == "hourly").counts["completed"] == 1

    table = subprocess.run([sys.executable, "-m", "adaptive", "status", "--json", "--storage", sqlite_url],
                           capture_output=True, text=True, timeout=300)
    rows = {row["experiment"]: row for row in json.loads(table.stdout)}
    assert rows["always"]["next_round"] is None and rows["hourly"]["next_round"] is not None
    assert rows["broken"]["last_round_status"] == "DEGRADED" and "no_such_function" in rows["broken"]["last_error"]


def test_exit_code_says_whether_any_failed(sqlite_url):
    experiment(sqlite_url, "fine")
    experiment(sqlite_url, "flaky", function="down")
    assert cli(sqlite_url).returncode == 0  # first rounds: nothing running, no source asked
    degraded = cli(sqlite_url)
    assert degraded.returncode == 4 and "fleet: 2 due (1 done, 1 degraded, 0 failed" in degraded.stdout
    experiment(sqlite_url, "unloadable")
    with Database(sqlite_url).engine.begin() as conn:  # a definition this version cannot read
        conn.execute(sa.text("UPDATE experiments SET spec = '{\"version\": 99}' WHERE name = 'unloadable'"))
    failing = cli(sqlite_url)
    assert failing.returncode == 1 and "fleet: 3 due (1 done, 1 degraded, 1 failed" in failing.stdout
    assert "unloadable" in failing.stderr and "spec.version" in failing.stderr
    assert cli(sqlite_url, "--workers", "0").returncode == 1  # named, not a traceback
    assert subprocess.run([sys.executable, "-m", "adaptive", "round", "fine", "--all", "--storage", sqlite_url],
                          capture_output=True, text=True, timeout=300).returncode == 2


def test_a_folder_of_configs_is_applied_then_run(sqlite_url, tmp_path):
    folder = tmp_path / "configs"
    folder.mkdir()
    for name in ("one", "two"):
        (folder / f"{name}.toml").write_text(
            f'name = "{name}"\n[parameters.x]\ntype = "float"\nlow = 0.0\nhigh = 1.0\n'
            '[[objectives]]\nmetric = "y"\ndirection = "maximize"\n[rounds]\nevery = "30m"\n'
        )
    (folder / "bad.toml").write_text('name = "bad"\n[parameters.x]\ntype = "float"\nlow = 1.0\nhigh = 0.0\n')
    result = subprocess.run([sys.executable, "-m", "adaptive", "round", "--config-dir", str(folder), "--storage",
                             sqlite_url], capture_output=True, text=True, timeout=300)
    assert result.returncode == 1 and "bad.toml" in result.stderr
    assert "fleet: 2 due (2 done" in result.stdout
    assert rounds_per_experiment(sqlite_url) == {"one": 1, "two": 1}


def test_hosts_started_together_run_each_experiment_once(storage_url, tmp_path):
    """Four processes stand in for four cron hosts on one database; a slow metric source
    keeps rounds overlapping. Every experiment's round runs exactly once."""
    names = [f"e{i}" for i in range(6)]
    for name in names:
        experiment(storage_url, name, every="1h")
    assert len(run_due_rounds(storage_url).rounds) == 6  # a trial running in each: the next rounds ask the slow source
    env = {**__import__("os").environ, "ADAPTIVE_TEST_SOURCE_DELAY": "1.0"}
    later = (datetime.now(timezone.utc) + timedelta(hours=2)).isoformat()
    code = ("import sys; from datetime import datetime; from adaptive.cron.fleet import run_due_rounds; "
            "r = run_due_rounds(sys.argv[1], now=datetime.fromisoformat(sys.argv[2]), workers=2); "
            "print(sorted((x.experiment, x.status) for x in r.rounds))")
    hosts = [subprocess.Popen([sys.executable, "-c", code, storage_url, later], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outputs = [h.communicate(timeout=600) for h in hosts]
    assert all(h.returncode == 0 for h in hosts), [o[1][-2000:] for o in outputs]
    ran = [eval(o[0].strip().splitlines()[-1]) for o in outputs]  # noqa: S307 - our own printed list
    done = sorted(name for host in ran for name, status in host if status == "DONE")
    assert done == names  # each once across the four hosts
    assert rounds_per_experiment(storage_url) == {name: 2 for name in names}


@pytest.mark.parametrize("every", ["0s", "soon", -5])
def test_bad_schedules_are_refused(sqlite_url, every):
    from adaptive.errors import ValidationError

    with pytest.raises(ValidationError) as info:
        experiment(sqlite_url, "bad", every=every)
    assert info.value.field == "rounds.every"


def test_a_host_killed_mid_pass_holds_nothing(storage_url, tmp_path):
    """A host SIGKILLed while its rounds run: the next host's pass runs every experiment
    (no lock is left held) and marks the killed rounds ABORTED; none stays RUNNING."""
    import os
    import signal
    import time

    names = [f"k{i}" for i in range(4)]
    for name in names:
        experiment(storage_url, name)
    run_due_rounds(storage_url)  # a trial running in each: the next rounds ask the slow source
    env = {**os.environ, "ADAPTIVE_TEST_SOURCE_DELAY": "3.0"}
    code = "import sys; from adaptive.cron.fleet import run_due_rounds; run_due_rounds(sys.argv[1], workers=2)"
    log = (tmp_path / "host.log").open("w")
    host = subprocess.Popen([sys.executable, "-c", code, storage_url], env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + 120
    db = Database(storage_url)
    running = sa.text("SELECT count(*) FROM rounds WHERE status = 'RUNNING'")
    while db.run(lambda s: s.execute(running).scalar(), readonly=True) < 2:  # short read transactions
        assert time.monotonic() < deadline and host.poll() is None, (tmp_path / "host.log").read_text()[-3000:]
        time.sleep(0.2)
    workers = _descendants(host.pid)
    assert len(workers) >= 2  # the host's worker processes (spawn's resource tracker besides)
    host.send_signal(signal.SIGKILL)
    host.wait(timeout=60)
    deadline = time.monotonic() + 30
    while any(os.path.exists(f"/proc/{pid}") and _state(pid) != "Z" for pid in workers):  # they die with the host
        assert time.monotonic() < deadline, "workers outlived their host"
        time.sleep(0.1)
    survivor = run_due_rounds(storage_url)
    assert sorted((r.experiment, r.status) for r in survivor.rounds) == [(n, "DONE") for n in names]
    with Database(storage_url).engine.connect() as conn:
        statuses = [s for (s,) in conn.execute(sa.text("SELECT status FROM rounds"))]
    assert statuses.count("ABORTED") == 2 and "RUNNING" not in statuses


def _descendants(pid: int) -> list[int]:
    out, stack = [], [pid]
    while stack:
        p = stack.pop()
        try:
            children = [int(c) for c in open(f"/proc/{p}/task/{p}/children").read().split()]  # noqa: SIM115
        except OSError:
            continue
        out += children
        stack += children
    return out


def _state(pid: int) -> str:
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]  # noqa: SIM115
    except OSError:
        return "gone"


def test_a_worker_process_that_dies_is_that_experiments_error_only(sqlite_url, monkeypatch):
    """A worker killed under the pass (out of memory, a native crash): its experiment's round is
    an ERROR naming it, and the pass reports every experiment instead of raising."""
    names = [f"w{i}" for i in range(3)]
    for name in names:
        experiment(sqlite_url, name)
    run_due_rounds(sqlite_url)  # a trial running in each: the next rounds ask the source
    monkeypatch.setenv("ADAPTIVE_TEST_KILL_WORKER_ON", "w1")  # read by tests/round_support.py's source
    result = run_due_rounds(sqlite_url, workers=2)
    statuses = dict((r.experiment, r.status) for r in result.rounds)
    assert set(statuses) == set(names) and statuses["w1"] == "ERROR"
    assert any("worker process died" in e for r in result.rounds if r.experiment == "w1" for e in r.errors)
