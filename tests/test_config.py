"""TOML configs: validation, creation, no-op re-apply, and refused changes."""

from datetime import timedelta
from pathlib import Path

import pytest

import adaptive as ad
from adaptive.config import load_config, parse_config, parse_duration
from adaptive.configure import apply_config

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
    ],
)
def test_bad_configs_name_the_field(change, field):
    with pytest.raises(ad.ValidationError) as info:
        parse_config({**BASE, **change})
    assert info.value.field == field


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
