"""The real ``adaptive`` command, run as a subprocess."""

import shutil
import subprocess
import sys

import adaptive as ad
from adaptive.storage import migrate
from tests.conftest import DATA


def run(*args, env=None, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "adaptive", *args], capture_output=True, text=True, timeout=300, env=env, cwd=cwd
    )


def test_db_upgrade_brings_an_old_database_to_head(tmp_path):
    path = tmp_path / "old.db"
    shutil.copy(DATA / "revision_0001.db", path)
    url = f"sqlite:///{path}"
    current = run("db", "current", "--storage", url)
    assert current.returncode == 0 and "revision 0001" in current.stdout and "adaptive db upgrade" in current.stdout
    result = run("db", "upgrade", "--storage", url)
    assert result.returncode == 0, result.stderr
    assert f"revision {migrate.head_revision()}" in result.stdout
    assert [t.id for t in ad.load_experiment("legacy", storage=url).trials()] == [0, 1, 2]


def test_demo_runs_end_to_end_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path}/demo.db"
    result = run("demo", "--storage", url, "--rounds", "2", "--batch", "3")
    assert result.returncode == 0, result.stderr
    assert "6 trials" in result.stdout and "Pareto frontier" in result.stdout
    again = run("demo", "--storage", url, "--rounds", "1", "--batch", "3")
    assert "9 trials" in again.stdout
    frame = ad.load_experiment("demo-feed-ranking", storage=url).trials_frame()
    # each round completes the previous round's batch and proposes the next one
    assert list(frame["status"]) == ["COMPLETED"] * 6 + ["RUNNING"] * 3
    assert frame["engagement"].notna().sum() == 6


def test_online_offline_demo_prints_the_source_report(tmp_path):
    url = f"sqlite:///{tmp_path}/demo.db"
    result = run("demo", "--online-offline", "--storage", url, "--rounds", "2")
    assert result.returncode == 0, result.stderr
    assert "'demo-online-offline'" in result.stdout and "16 trials" in result.stdout
    report = ad.load_experiment("demo-online-offline", storage=url).source_report()
    assert list(report["source"]) == ["simulator"] and report["source_rows"].iloc[0] == 6
    assert "simulator" in result.stdout and "correlation" in result.stdout


def test_errors_are_one_line_without_traceback_or_secret():
    result = run("db", "upgrade", "--storage", "postgresql://u:hunter2@127.0.0.1:1/x")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "hunter2" not in result.stderr and result.stderr.startswith("adaptive: error:")


def test_malformed_urls_give_one_line_without_the_password():
    import os

    from tests.storage.test_database import MALFORMED

    for url in MALFORMED:
        result = run("status", "--storage", url)
        assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
        assert "s3c" not in result.stderr + result.stdout and "retpw" not in result.stderr + result.stdout
    env = {**os.environ, "ADAPTIVE_DATABASE_URL": "postgresql://postgres:s3cretpw@127.0.0.1:notaport/db"}
    result = run("trials", "x", env=env)
    assert result.returncode == 1 and result.stderr.count("\n") == 1 and "s3cretpw" not in result.stderr
    assert "bad port" in result.stderr


def test_status_lists_every_experiment_when_one_cannot_be_loaded(tmp_path):
    import sqlite3

    url = f"sqlite:///{tmp_path}/s.db"
    for name in ("broken", "fine"):
        ad.create_experiment(name, storage=url, parameters={"x": ad.Float(0, 1)}, objectives=[ad.Maximize("m")],
                             outcome_constraints=["r >= 1"])
    with sqlite3.connect(tmp_path / "s.db") as conn:  # as an older release could have written it
        conn.execute("UPDATE experiments SET spec = replace(spec, 'r >= 1.0', 'r >= -inf') WHERE name = 'broken'")
    result = run("status", "--storage", url)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    assert any(line.split()[0] == "fine" and "outcome_constraints" not in line for line in lines[1:]), result.stdout
    assert any(line.split()[0] == "broken" and "outcome_constraints" in line for line in lines[1:]), result.stdout
    assert "'broken' cannot be loaded" in result.stderr
    alone = run("status", "broken", "--storage", url)
    assert alone.returncode == 1 and alone.stderr.startswith("adaptive: error:") and alone.stderr.count("\n") == 1


def test_help_status_an_idle_round_and_config_parsing_load_no_modelling_stack(tmp_path):
    code = (
        "import sys\n"
        "from adaptive.cli import main\n"
        "try:\n    main(['round', '--help'])\nexcept SystemExit:\n    pass\n"
        "help_modules = sorted(m for m in ('torch', 'pandas', 'sqlalchemy', 'botorch') if m in sys.modules)\n"
        "main(['status', '--storage', sys.argv[1]])\n"
        "status_modules = sorted(m for m in ('torch', 'botorch', 'pandas', 'numpy') if m in sys.modules)\n"
        "assert main(['round', 'e', '--storage', sys.argv[1]]) == 0\n"  # every slot taken: nothing to propose
        "round_modules = sorted(m for m in ('torch', 'botorch', 'gpytorch', 'scipy') if m in sys.modules)\n"
        "from adaptive.cron.config import load_config\n"
        "for name in ('feed_ranking', 'posts_to_load', 'video_upload_quality'):\n"
        "    load_config(f'configs/{name}.toml')\n"
        "config_modules = sorted(m for m in ('torch', 'pandas', 'botorch', 'gpytorch') if m in sys.modules)\n"
        "print(help_modules, status_modules, round_modules, config_modules)\n"
    )
    from pathlib import Path

    url = f"sqlite:///{tmp_path / 'a.db'}"
    ad.create_experiment("e", storage=url, parameters={"x": ad.Float(0, 1)}, objectives=[ad.Maximize("m")])
    from adaptive.cron.rounds import run_round

    assert run_round("e", storage=url).counts["proposed"] == {"online": 1}
    result = subprocess.run([sys.executable, "-c", code, url], capture_output=True, text=True, timeout=300,
                            cwd=Path(__file__).parent.parent)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split("\n")
    assert lines[-2] == "[] [] [] []", result.stdout
    assert lines[-4].split()[0] == "e"  # the status line
    assert "round 2 done" in lines[-3] and "proposed={'online': 0}" in lines[-3]


def test_read_commands_create_nothing_and_db_current_advises_correctly(tmp_path):
    typo = tmp_path / "adaptve.db"
    for args in (("status",), ("trials", "x"), ("rounds", "x"), ("db", "current")):
        result = run(*args, "--storage", f"sqlite:///{typo}")
        assert result.returncode == 1 and "no database file" in result.stderr, (args, result.stderr)
    assert not typo.exists()
    url = f"sqlite:///{tmp_path / 'real.db'}"
    ad.create_experiment("e", storage=url, parameters={"x": ad.Float(0, 1)}, objectives=[ad.Maximize("m")])
    assert "up to date" in run("db", "current", "--storage", url).stdout
    down = run("db", "upgrade", "--revision", "0001", "--storage", url)
    assert down.returncode == 1 and "downgrades are not supported" in down.stderr
    import sqlite3

    with sqlite3.connect(tmp_path / "real.db") as conn:
        conn.execute("UPDATE adaptive_alembic_version SET version_num = '0099'")
    newer = run("db", "current", "--storage", url).stdout
    assert "newer adaptive" in newer and "run: adaptive db upgrade" not in newer
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE experiments (id INTEGER PRIMARY KEY)")
    advice = run("db", "current", "--storage", f"sqlite:///{foreign}").stdout
    assert "not an adaptive database" in advice and "run: adaptive db upgrade" not in advice


def test_help_and_usage_errors(tmp_path):
    assert run("--help").returncode == 0
    assert run("db", "upgrade", "--help").returncode == 0
    version = run("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"adaptive {ad.__version__}"
    no_name = run("round")
    assert no_name.returncode == 2 and "give an experiment name, --config FILE, --all" in no_name.stderr
    url = f"sqlite:///{tmp_path / 'a.db'}"
    ad.create_experiment("e", storage=url, parameters={"x": ad.Float(0, 1)}, objectives=[ad.Maximize("m")])
    late_verbose = run("status", "-v", "--storage", url)  # -v after the subcommand too
    assert late_verbose.returncode == 0 and "e" in late_verbose.stdout.split()
    missing = run("trials", "nope", "--storage", url)
    assert missing.returncode == 1 and "'adaptive status' lists them" in missing.stderr
    assert "list_experiments" not in missing.stderr


def test_every_argument_of_every_command_has_help_text():
    import argparse

    from adaptive.cli import build_parser

    def parsers(parser):
        yield parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for child in action.choices.values():
                    yield from parsers(child)

    undocumented = [
        (p.prog, a.dest) for p in parsers(build_parser()) for a in p._actions
        if not isinstance(a, argparse._SubParsersAction) and not a.help
    ]
    assert undocumented == []
    bad = run("frobnicate")
    assert bad.returncode == 2 and "invalid choice" in bad.stderr


def test_trials_finished_by_hand_json_output_and_delete(tmp_path):
    import json

    url = f"sqlite:///{tmp_path / 'a.db'}"
    exp = ad.create_experiment("e", storage=url, parameters={"x": ad.Float(0, 1)},
                               objectives=[ad.Maximize("m")], outcome_constraints=["c <= 1"])
    exp.suggest(3)
    done = run("trial", "complete", "e", "0", "--metric", "m=0.5:0.1", "--metric", "c=0.2", "--storage", url)
    assert done.returncode == 0 and "trial 0 COMPLETED" in done.stdout, done.stderr
    failed = run("trial", "fail", "e", "1", "--reason", "rolled back", "--storage", url)
    assert failed.returncode == 0 and "trial 1 FAILED" in failed.stdout
    bad = run("trial", "complete", "e", "2", "--metric", "m", "--storage", url)
    assert bad.returncode == 1 and "--metric='m'" in bad.stderr
    typo = run("trial", "complete", "e", "2", "--metric", "mm=1", "--metric", "c=0", "--storage", url)
    assert typo.returncode == 1 and "'m'" in typo.stderr and "adaptive trial fail e 2" in typo.stderr
    assert run("trial", "abandon", "e", "0", "--storage", url).returncode == 1  # only RUNNING trials change
    trials = exp.trials()
    assert trials[0].observations == {"m": ad.Observation(0.5, 0.1), "c": ad.Observation(0.2, None)}
    assert (trials[1].status, trials[1].failure_reason) == (ad.TrialStatus.FAILED, "rolled back")
    assert trials[2].status == ad.TrialStatus.RUNNING

    status = json.loads(run("status", "--json", "--storage", url).stdout)
    assert status == [{"experiment": "e", "trials": 3, "running": 1, "completed": 1, "failed": 1, "last_round": None,
                       "next_round": None, "exports": 0, "fallbacks": 0, "slow_paths": 0, "last_error": None, "abandoned": 0,
                       "last_round_status": None,
                       "last_round_started": None}]
    assert run("status", "--json", "--csv", "--storage", url).returncode == 2

    refused = run("delete", "e", "--storage", url)
    assert refused.returncode == 2 and "--yes" in refused.stderr and ad.list_experiments(storage=url) == ["e"]
    deleted = run("delete", "e", "--yes", "--storage", url)
    assert deleted.returncode == 0 and "3 trials" in deleted.stdout
    assert ad.list_experiments(storage=url) == []
    assert run("delete", "e", "--yes", "--storage", url).returncode == 1


def test_export_writes_a_servable_json_file(tmp_path):
    url = f"sqlite:///{tmp_path}/demo.db"
    assert run("demo", "--storage", url, "--rounds", "2", "--batch", "4").returncode == 0
    out = tmp_path / "dist.json"
    result = run("export", "demo-feed-ranking", "-o", str(out), "--prefer", "engagement",
                 "--constraint", "cpu_ms <= 110", "--top-k", "3", "--storage", url)
    assert result.returncode == 0, result.stderr
    assert "export version 1" in result.stdout
    dist = ad.serving.load(out)
    assert 1 <= len(dist.arms) <= 3 and abs(sum(dist.weights) - 1) < 1e-9
    assert "cpu_ms <= 110.0" in dist.document["preference"]["constraints"]
    missing = run("export", "demo-feed-ranking", "-o", str(tmp_path / "no" / "such" / "x.json"), "--prefer", "engagement",
                  "--storage", url)
    assert missing.returncode == 1 and "path=" in missing.stderr and missing.stderr.count("\n") == 1
    assert ad.load_experiment("demo-feed-ranking", storage=url).export_versions() == [1]  # nothing stored
    bad = run("export", "demo-feed-ranking", "-o", str(out), "--prefer", "nope", "--storage", url)
    assert bad.returncode == 1 and "prefer='nope'" in bad.stderr and "Traceback" not in bad.stderr


def test_no_command_prints_a_password():
    for args in (("status",), ("trials", "x"), ("round", "x"), ("demo",)):
        result = run(*args, "--storage", "postgresql://u:hunter2@127.0.0.1:1/x")
        assert result.returncode == 1
        assert "hunter2" not in result.stderr + result.stdout and "***" in result.stderr
