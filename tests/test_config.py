"""TOML configs: validation, creation, no-op re-apply, and refused changes."""

from datetime import timedelta
from pathlib import Path

import pytest

import adaptive as ad
from adaptive.cron.apply_config import apply_config
from adaptive.cron.config import load_config, parse_config, parse_duration

CONFIGS = Path(__file__).parent.parent / "configs"
BASE = {
    "name": "cfg",
    "parameters": {"x": {"type": "float", "low": 0.0, "high": 1.0}, "n": {"type": "int", "low": 1, "high": 9},
                   "c": {"type": "choice", "values": ["a", "b"]}},
    "objectives": [{"metric": "y", "direction": "maximize"}],
    "rounds": {"max_parallel": {"online": 2, "simulator": 3}, "max_trial_age": "2h"},
}


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.toml")), ids=lambda p: p.name)
def test_shipped_examples_are_valid_and_apply(path, sqlite_url):
    config = load_config(path)
    exp, outcome = apply_config(config, storage=sqlite_url)
    assert outcome == "created" and exp.name == config.name
    assert apply_config(config, storage=sqlite_url)[1] == "unchanged"


def test_parse_round_policy_and_durations():
    config = parse_config(BASE)
    assert config.rounds.max_parallel == {"online": 2, "simulator": 3}
    assert config.rounds.max_trial_age == timedelta(hours=2)
    assert parse_duration("d", "90s") == timedelta(seconds=90) and parse_duration("d", "7d") == timedelta(days=7)
    assert parse_config({**BASE, "rounds": {"max_parallel": 4}}).rounds.max_parallel == {"online": 4}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": " cfg "}, "name"),
        ({"name": "cfg\n"}, "name"),
        ({"typo": 1}, "config"),
        ({"objectives": []}, "objectives"),
        ({"objectives": [{"metric": "y", "direction": "up"}]}, "objectives[0].direction"),
        ({"parameters": {"x": {"type": "float", "low": 1.0, "high": 0.0}}}, "parameters.x.low"),
        ({"parameters": {"x": {"type": "float", "low": 0.0}}}, "parameters.x"),
        ({"parameters": {"x": {"type": "banana"}}}, "parameters.x.type"),
        ({"rounds": {"max_parallel": -1}}, "rounds.max_parallel.online"),
        ({"rounds": {"max_trial_age": "soon"}}, "rounds.max_trial_age"),
        ({"metrics": {"kind": "ftp"}}, "metrics.kind"),
        ({"seed": -3}, "seed"),
        # every unknown key and bad value is refused with its TOML path
        ({"parameters": {"x": {"type": "float", "low": 0.0, "high": 1.0, "lg": True}}}, "parameters.x.lg"),
        ({"parameters": {"x": {"type": "float", "low": 0.0, "high": 1.0, "log": "yes"}}}, "parameters.x.log"),
        ({"parameters": {"c": {"type": "choice", "values": ["a"], "value": 1}}}, "parameters.c.value"),
        ({"export": {"every_rund": True}}, "export.every_rund"),
        ({"export": {"every_round": "yes"}}, "export.every_round"),
        ({"export": {"top_k": -5}}, "export.top_k"),
        ({"export": {"n_draws": "many"}}, "export.n_draws"),
        ({"export": {"min_weight": 1.5}}, "export.min_weight"),
        ({"export": {"weights": {"y": "high"}}}, "export.weights.y"),
        ({"export": {"constraints": "y <= 1"}}, "export.constraints"),
        ({"export": {"path": ""}}, "export.path"),
        ({"metrics": {"kind": "file", "path": "m.csv", "pth": "x"}}, "metrics.pth"),
        ({"metrics": {"kind": "python", "function": "m:f", "timeout": "soon"}}, "metrics.timeout"),
        ({"metrics": {"kind": "sql", "url": "postgresql://u:s3cret@h/db", "query": "SELECT 1"}}, "metrics.url"),
        ({"generation": {"bogus": 1}}, "generation.bogus"),
        ({"generation": {"optimizer": {"restarts": 4}}}, "generation.optimizer.restarts"),
        ({"generation": {"optimizer": 4}}, "generation.optimizer"),
        ({"parameter_constraints": "x <= 0.5"}, "parameter_constraints"),
        ({"parameter_constraints": [1]}, "parameter_constraints[0]"),
        ({"outcome_constraints": "z <= 1"}, "outcome_constraints"),
    ],
)
def test_bad_configs_name_the_field(change, field):
    with pytest.raises(ad.ValidationError) as info:
        parse_config({**BASE, **change})
    assert info.value.field == field
    assert "s3cret" not in str(info.value)


@pytest.mark.parametrize("content", [b"name = 'caf\xe9'", None])
def test_unreadable_config_files_name_the_file(tmp_path, content):
    path = tmp_path / "c.toml"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    with pytest.raises(ad.ValidationError) as info:
        load_config(path)
    assert info.value.field == "config" and str(path) in str(info.value)


def test_relative_paths_are_relative_to_the_config_file(tmp_path, monkeypatch):
    folder = tmp_path / "configs"
    folder.mkdir()
    (folder / "c.toml").write_text(
        'name = "cfg"\n[parameters.x]\ntype = "float"\nlow = 0.0\nhigh = 1.0\n'
        '[[objectives]]\nmetric = "y"\n[metrics]\nkind = "file"\npath = "data/m.csv"\n'
        '[export]\npath = "../exports/cfg.json"\n'
    )
    monkeypatch.chdir(tmp_path)  # cron's working directory is not the config's folder
    config = load_config("configs/c.toml")
    assert config.metrics["path"] == str(folder / "data" / "m.csv")
    assert config.export["path"] == str(tmp_path / "exports" / "cfg.json")


def test_a_sql_source_reads_its_url_from_the_environment(sqlite_url, tmp_path, monkeypatch):
    import sqlalchemy as sa

    from adaptive.sources import collect, make_source

    metrics_db = f"sqlite:///{tmp_path / 'metrics.db'}"
    with sa.create_engine(metrics_db).begin() as conn:
        conn.execute(sa.text("CREATE TABLE m (trial INT, metric TEXT, mean REAL, sem REAL)"))
        conn.execute(sa.text("INSERT INTO m VALUES (0, 'y', 0.5, 0.1)"))
    spec = {"kind": "sql", "url_env": "ADAPTIVE_TEST_METRICS_URL", "query": "SELECT * FROM m"}
    config = parse_config({**BASE, "metrics": spec})
    exp, _ = apply_config(config, storage=sqlite_url)
    exp.suggest(1)
    source = make_source(config.metrics)
    unset = collect(source, "cfg", exp.trials())
    assert unset.observations == {} and "ADAPTIVE_TEST_METRICS_URL" in unset.errors[0]
    monkeypatch.setenv("ADAPTIVE_TEST_METRICS_URL", metrics_db)
    assert collect(source, "cfg", exp.trials()).observations == {0: {"y": ad.Observation(0.5, 0.1)}}
    assert metrics_db not in str(ad.load_experiment("cfg", storage=sqlite_url).database.run(
        lambda s: s.execute(sa.text("SELECT spec FROM experiments")).scalar()))


def test_bad_toml_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("name = [unclosed")
    with pytest.raises(ad.ValidationError, match="not valid TOML"):
        load_config(path)
    with pytest.raises(ad.ValidationError, match="no such file"):
        load_config(tmp_path / "missing.toml")


def test_compatible_changes_update_and_invalidating_ones_are_refused(sqlite_url):
    exp, _ = apply_config(parse_config(BASE), storage=sqlite_url)
    exp.attach({"x": 0.9, "n": 8, "c": "b"}, {"y": 1.0})
    widened = {**BASE, "parameters": {**BASE["parameters"], "x": {"type": "float", "low": 0.0, "high": 2.0}},
               "rounds": {"max_parallel": 5}}
    assert apply_config(parse_config(widened), storage=sqlite_url)[1] == "updated"
    assert ad.load_experiment("cfg", storage=sqlite_url).search_space.parameters["x"].high == 2.0
    refusals = {
        "removed": {**BASE, "parameters": {k: v for k, v in BASE["parameters"].items() if k != "c"}},
        "narrowed": {**BASE, "parameters": {**BASE["parameters"], "x": {"type": "float", "low": 0.0, "high": 0.5}}},
        "value dropped": {**BASE, "parameters": {**BASE["parameters"], "c": {"type": "choice", "values": ["a"]}}},
        "retyped": {**BASE, "parameters": {**BASE["parameters"], "n": {"type": "float", "low": 1, "high": 9}}},
        "added": {**BASE, "parameters": {**BASE["parameters"], "z": {"type": "float", "low": 0, "high": 1}}},
        "seed": {**widened, "seed": 5},
    }
    before = ad.load_experiment("cfg", storage=sqlite_url).search_space
    for what, data in refusals.items():
        with pytest.raises(ad.ValidationError, match="invalidate existing trials") as info:
            apply_config(parse_config(data), storage=sqlite_url)
        assert info.value.field == "config", what
    assert ad.load_experiment("cfg", storage=sqlite_url).search_space == before
