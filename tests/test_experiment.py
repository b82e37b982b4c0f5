"""The ask/tell API on real SQLite files and real PostgreSQL."""

import math

import numpy as np
import pandas as pd
import pytest

import adaptive as ad
from adaptive.errors import DuplicateNameError, NotFoundError, TrialStateError, ValidationError

PARAMETERS = {
    "viral_weight": ad.Float(0.0, 1.0),
    "learning_rate": ad.Float(1e-4, 1e-1, log=True),
    "posts_to_load": ad.Int(5, 50),
    "ranker": ad.Choice(["gbdt", "dnn", "linear"]),
    "region": ad.Fixed("us"),
}


def make(storage_url, name="feed-ranking", **overrides):
    kwargs = dict(
        storage=storage_url,
        parameters=PARAMETERS,
        parameter_constraints=["viral_weight + 0.5*posts_to_load <= 20"],
        objectives=[ad.Maximize("engagement", threshold=0.0), ad.Minimize("cpu_ms", threshold=120.0)],
        outcome_constraints=["reliability >= -0.01"],
        seed=7,
    )
    kwargs.update(overrides)
    return ad.create_experiment(name, **kwargs)


def test_create_load_and_list(storage_url):
    exp = make(storage_url)
    again = ad.load_experiment("feed-ranking", storage=storage_url)
    assert again.search_space == exp.search_space
    assert again.config == exp.config
    assert again.seed == 7 and again.target_source == "online"
    make(storage_url, name="other")
    assert ad.list_experiments(storage=storage_url) == ["feed-ranking", "other"]


def test_suggest_complete_fail_abandon_lifecycle(storage_url):
    exp = make(storage_url)
    trials = exp.suggest(4)
    assert [t.id for t in trials] == [0, 1, 2, 3]
    assert all(t.status == ad.TrialStatus.RUNNING and t.source == "online" for t in trials)
    for t in trials:
        assert exp.search_space.validate(t.params) == t.params
        assert t.params["viral_weight"] + 0.5 * t.params["posts_to_load"] <= 20 + 1e-9
        assert t.params["region"] == "us"
    sims = exp.suggest(3, source="simulator")
    assert [t.id for t in sims] == [4, 5, 6] and {t.source for t in sims} == {"simulator"}

    done = exp.complete(0, {"engagement": (0.12, 0.01), "cpu_ms": 95.0, "reliability": 0.0})
    assert done.status == ad.TrialStatus.COMPLETED and done.completed_at is not None
    assert done.observations["engagement"] == ad.Observation(0.12, 0.01)
    assert done.observations["cpu_ms"] == ad.Observation(95.0, None)
    assert exp.fail(1, reason="deploy rolled back").failure_reason == "deploy rolled back"
    assert exp.abandon(2).status == ad.TrialStatus.ABANDONED

    stored = {t.id: t for t in ad.load_experiment("feed-ranking", storage=storage_url).trials()}
    assert stored[0].observations == done.observations and stored[0].params == trials[0].params
    assert [stored[i].status.value for i in range(7)] == ["COMPLETED", "FAILED", "ABANDONED"] + ["RUNNING"] * 4
    assert [t.id for t in exp.trials(status="RUNNING", source="simulator")] == [4, 5, 6]


def test_consecutive_suggests_do_not_repeat_points(storage_url):
    exp = make(storage_url)
    first = exp.suggest(5)
    second = exp.suggest(5)
    keys = {(t.params["viral_weight"], t.params["learning_rate"]) for t in first + second}
    assert len(keys) == 10


def test_attach_and_frames(storage_url):
    exp = make(storage_url)
    t = exp.attach(
        {"viral_weight": 0.3, "learning_rate": 0.01, "posts_to_load": 10, "ranker": "dnn"},
        {"engagement": (0.1, 0.02), "cpu_ms": 80.0, "reliability": 0.0, "dwell_s": 12.5},
        source="simulator",
    )
    assert t.id == 0 and t.status == ad.TrialStatus.COMPLETED and t.generator == "manual"
    assert t.params["region"] == "us"
    exp.suggest(1)
    frame = exp.trials_frame()
    assert list(frame["trial_id"]) == [0, 1]
    assert list(frame["source"]) == ["simulator", "online"]
    assert frame.loc[0, "engagement"] == 0.1 and frame.loc[0, "engagement_sem"] == 0.02
    assert math.isnan(frame.loc[0, "cpu_ms_sem"]) and math.isnan(frame.loc[1, "engagement"])
    assert frame.loc[0, "dwell_s"] == 12.5  # tracked, undeclared metrics are kept too
    assert frame.columns[:7].tolist() == ["trial_id", "status", "source", "generator", "created_at", "completed_at", "failure_reason"]
    assert pd.api.types.is_datetime64_any_dtype(frame["created_at"])


def _observe(exp, params, engagement, cpu, reliability=0.0):
    return exp.attach(params, {"engagement": engagement, "cpu_ms": cpu, "reliability": reliability})


def test_pareto_frontier_and_best(storage_url):
    exp = make(storage_url)
    p = {"viral_weight": 0.3, "learning_rate": 0.01, "posts_to_load": 10, "ranker": "dnn"}
    _observe(exp, p, 1.0, 100.0)   # 0 frontier
    _observe(exp, p, 2.0, 110.0)   # 1 frontier
    _observe(exp, p, 0.5, 105.0)   # 2 dominated by 0
    _observe(exp, p, 3.0, 90.0, reliability=-0.5)  # 3 infeasible (reliability)
    _observe(exp, p, 4.0, 130.0)   # 4 beyond the cpu threshold
    _observe(exp, p, 0.8, 60.0)    # 5 frontier
    exp.attach(p, {"engagement": 9.0, "cpu_ms": 1.0, "reliability": 0.0}, source="simulator")  # not the target
    front = exp.pareto_frontier()
    assert sorted(front["trial_id"]) == [0, 1, 5]

    single = make(storage_url, name="single", objectives=[ad.Maximize("engagement")])
    _observe(single, p, 1.0, 100.0)
    _observe(single, p, 3.0, 90.0, reliability=-0.5)
    _observe(single, p, 2.0, 110.0)
    assert single.best().id == 2
    with pytest.raises(ValidationError, match="pareto_frontier"):
        exp.best()


def test_pareto_frontier_is_empty_without_data(storage_url):
    exp = make(storage_url)
    assert exp.pareto_frontier().empty
    with pytest.raises(ValidationError, match="no feasible"):
        make(storage_url, name="s", objectives=[ad.Maximize("engagement")]).best()


def _snapshot(storage_url):
    names = ad.list_experiments(storage=storage_url)
    return {n: ad.load_experiment(n, storage=storage_url).trials() for n in names}


GOOD = {"viral_weight": 0.3, "learning_rate": 0.01, "posts_to_load": 10, "ranker": "dnn"}
FULL = {"engagement": 1.0, "cpu_ms": 90.0}


@pytest.mark.parametrize(
    ("call", "error", "field"),
    [
        (lambda e: e.attach({**GOOD, "viral_weight": 1.5}, FULL), ValidationError, "params.viral_weight"),
        (lambda e: e.attach({**GOOD, "posts_to_load": "ten"}, FULL), ValidationError, "params.posts_to_load"),
        (lambda e: e.attach({**GOOD, "ranker": "svm"}, FULL), ValidationError, "params.ranker"),
        (lambda e: e.attach({**GOOD, "posts_to_load": 40}, FULL), ValidationError, "params"),
        (lambda e: e.attach({**GOOD, "nope": 1}, FULL), ValidationError, "params.nope"),
        (lambda e: e.attach(GOOD, {"engagement": math.nan}), ValidationError, "metrics.engagement.mean"),
        (lambda e: e.attach(GOOD, {"engagement": math.inf}), ValidationError, "metrics.engagement.mean"),
        (lambda e: e.attach(GOOD, {"engagement": (1.0, -0.1)}), ValidationError, "metrics.engagement.sem"),
        (lambda e: e.attach(GOOD, {"engagement": (1.0, math.nan)}), ValidationError, "metrics.engagement.sem"),
        (lambda e: e.attach(GOOD, {"engagement": (1.0, 0.1, 3)}), ValidationError, "metrics.engagement"),
        (lambda e: e.attach(GOOD, {}), ValidationError, "metrics"),
        (lambda e: e.attach(GOOD, {"viral_weight": 1.0}), ValidationError, "metrics.viral_weight"),
        (lambda e: e.attach(GOOD, FULL, source="bad source"), ValidationError, "source"),
        (lambda e: e.complete(99, FULL), NotFoundError, "trial_id"),
        (lambda e: e.complete("0", FULL), NotFoundError, "trial_id"),
        (lambda e: e.complete(0, FULL), TrialStateError, "trial_id"),  # already completed
        (lambda e: e.fail(0), TrialStateError, "trial_id"),
        (lambda e: e.complete(1, {"engagement": "high"}), ValidationError, "metrics.engagement.mean"),
        (lambda e: e.complete(1, {"engagement": 1.0, "cpu_mss": 90.0}), ValidationError, "metrics"),  # a typo
        (lambda e: e.attach(GOOD, {"engagement": 1.0}), ValidationError, "metrics"),
        (lambda e: e.complete(np.float64(1), FULL), NotFoundError, "trial_id"),
        (lambda e: e.complete(True, FULL), NotFoundError, "trial_id"),
        (lambda e: e.trials(status="done"), ValidationError, "status"),
        (lambda e: e.complete(1, {"engagement": 10**400, "cpu_ms": 1.0}), ValidationError, "metrics.engagement.mean"),
        (lambda e: e.suggest(0), ValidationError, "n"),
        (lambda e: e.suggest(2.5), ValidationError, "n"),
        (lambda e: e.suggest(1, source=""), ValidationError, "source"),
    ],
)
def test_bad_calls_raise_and_write_nothing(storage_url, call, error, field):
    exp = make(storage_url)
    exp.suggest(2)
    exp.complete(0, {"engagement": 1.0, "cpu_ms": 90.0, "reliability": 0.0})
    before = _snapshot(storage_url)
    with pytest.raises(error) as info:
        call(exp)
    assert info.value.field == field
    assert _snapshot(storage_url) == before


def test_ids_and_statuses_as_users_hold_them(sqlite_url):
    exp = make(sqlite_url)
    exp.suggest(2)
    ids = exp.trials_frame()["trial_id"]  # numpy integers
    with pytest.raises(ValidationError, match=r"missing objective metric\(s\) \['cpu_ms'\].*'cpu_mss' for 'cpu_ms'"):
        exp.complete(ids.iloc[0], {"engagement": 1.0, "cpu_mss": 90.0})
    assert exp.trial(ids.iloc[0]).status == ad.TrialStatus.RUNNING  # the typo wrote nothing
    exp.complete(ids.iloc[0], {"engagement": 1.0, "cpu_ms": 90.0, "tracking_only": 3.0})
    assert exp.fail(ids.iloc[1], "crashed").status == ad.TrialStatus.FAILED
    assert [t.id for t in exp.trials(status="completed")] == [0] == [t.id for t in exp.trials(status=ad.TrialStatus.COMPLETED)]
    assert [t.id for t in exp.trials(status="Failed")] == [1]


@pytest.mark.parametrize(
    ("overrides", "error", "field"),
    [
        (dict(parameters={"a": ad.Float(0, 1), "a_": ad.Float(0, 1)}, parameter_constraints=["a + b <= 1"]), ValidationError, "parameter_constraints"),
        (dict(parameters={"engagement": ad.Float(0, 1)}, parameter_constraints=[]), DuplicateNameError, "metric"),
        (dict(objectives=[ad.Maximize("engagement"), ad.Maximize("engagement")]), DuplicateNameError, "objectives.metric"),
        (dict(parameter_constraints=["viral_weight + posts_to_load <= 1"]), ValidationError, "parameter_constraints"),
        (dict(seed=-1), ValidationError, "seed"),
        (dict(target_source="on line"), ValidationError, "source"),
        (dict(target_source="online\n"), ValidationError, "source"),
        (dict(parameters={**PARAMETERS, "x\n": ad.Float(0, 1)}), ValidationError, "parameters"),
        (dict(parameters={**PARAMETERS, "x\x00": ad.Float(0, 1)}), ValidationError, "parameters"),
        (dict(outcome_constraints=[f"{'r' * 65} >= 0"]), ValidationError, "outcome_constraints"),
    ],
)
def test_bad_experiments_are_not_created(storage_url, overrides, error, field):
    with pytest.raises(error) as info:
        make(storage_url, **overrides)
    assert info.value.field == field
    assert ad.list_experiments(storage=storage_url) == []


def test_duplicate_experiment_name_is_rejected(storage_url):
    make(storage_url)
    with pytest.raises(DuplicateNameError) as info:
        make(storage_url, objectives=[ad.Maximize("other")])
    assert info.value.value == "feed-ranking"
    assert ad.load_experiment("feed-ranking", storage=storage_url).config.objectives[0].metric == "engagement"


def test_names_longer_than_every_backend_holds_are_refused():
    with pytest.raises(ValidationError) as info:
        ad.Maximize("m" * 65)
    assert info.value.field == "objectives.metric" and "64" in str(info.value)


def test_the_longest_names_fit_every_backend(storage_url):
    longest = "m" * 64
    exp = make(storage_url, name="e" * 200, objectives=[ad.Maximize(longest)], target_source="s" * 64,
               outcome_constraints=[f"{'r' * 64} >= 0"])
    exp.attach(GOOD, {longest: 1.0, "r" * 64: 0.5}, source="s" * 64)
    again = ad.load_experiment("e" * 200, storage=storage_url)
    assert again.trials()[0].observations[longest].mean == 1.0


def test_get_or_create_loads_the_same_definition_and_refuses_another(storage_url):
    first = make(storage_url)
    first.suggest(2)
    again = make(storage_url, exist_ok=True)
    assert [t.id for t in again.trials()] == [0, 1] and again.seed == first.seed == 7
    assert make(storage_url, exist_ok=True, seed=None).seed == 7  # no seed given: the stored one
    for change, fragment in (
        (dict(objectives=[ad.Maximize("engagement")]), "objectives"),
        (dict(parameters={**PARAMETERS, "viral_weight": ad.Float(0.0, 2.0)}), "parameters"),
        (dict(seed=8), "seed is 7"),
        (dict(target_source="offline"), "target_source"),
        (dict(generation=ad.GenerationSettings(initial_trials=3)), "generation"),
    ):
        with pytest.raises(DuplicateNameError, match=fragment):
            make(storage_url, exist_ok=True, **change)
    assert ad.load_experiment("feed-ranking", storage=storage_url).config.objectives[1].metric == "cpu_ms"


def test_concurrent_first_applies_of_one_config_all_succeed(storage_url):
    import threading

    from adaptive.cron.apply_config import apply_config
    from adaptive.cron.config import parse_config

    config = parse_config({"name": "race", "parameters": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
                           "objectives": [{"metric": "y"}]})
    barrier, outcomes, errors = threading.Barrier(8), [], []

    def apply():
        barrier.wait()
        try:
            outcomes.append(apply_config(config, storage=storage_url)[1])
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=apply) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and sorted(outcomes) == ["created"] + ["unchanged"] * 7


@pytest.mark.parametrize("name", ["", "  padded ", "x" * 201, None, "feed\n", "feed\tranking", "feed\x00"])
def test_bad_experiment_names(storage_url, name):
    with pytest.raises(ValidationError) as info:
        make(storage_url, name=name)
    assert info.value.field == "name"


def test_unknown_experiment(storage_url):
    with pytest.raises(NotFoundError, match="list_experiments"):
        ad.load_experiment("missing", storage=storage_url)


def test_delete_removes_everything_stored_with_the_experiment_only(storage_url):
    import sqlalchemy as sa

    from adaptive.storage import Database
    from adaptive.storage.locks import RoundBusyError, round_lock

    doomed, kept = make(storage_url), make(storage_url, name="kept")
    for exp in (doomed, kept):
        trial = exp.suggest(1)[0]
        exp.complete(trial.id, {"engagement": 1.0, "cpu_ms": 100.0, "reliability": 0.0})
    db = Database(storage_url)
    with round_lock(db, "feed-ranking"), pytest.raises(RoundBusyError):
        ad.delete_experiment("feed-ranking", storage=storage_url)
    assert ad.delete_experiment("feed-ranking", storage=storage_url) == {"trials": 1, "rounds": 0, "exports": 0}
    assert ad.list_experiments(storage=storage_url) == ["kept"]
    with db.engine.connect() as conn:
        counts = {table: conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()
                  for table in ("trials", "observations")}
    assert counts == {"trials": 1, "observations": 3}  # the other experiment's rows stay
    assert len(kept.trials()) == 1
    with pytest.raises(NotFoundError):
        ad.delete_experiment("feed-ranking", storage=storage_url)
    make(storage_url)  # the name is free again


def test_units_are_stored_with_the_definition_and_checked(storage_url):
    exp = make(storage_url, units={"cpu_ms": "ms", "reliability": "pp"})
    assert ad.load_experiment("feed-ranking", storage=storage_url).config.units == {"cpu_ms": "ms", "reliability": "pp"}
    assert exp.config.units["cpu_ms"] == "ms"
    for units, field in (({"nope": "ms"}, "units.nope"), ({"cpu_ms": ""}, "units.cpu_ms"),
                         ({"cpu_ms": "x" * 40}, "units.cpu_ms"), ("ms", "units")):
        with pytest.raises(ValidationError) as info:
            make(storage_url, name="bad", units=units)
        assert info.value.field == field
    assert ad.list_experiments(storage=storage_url) == ["feed-ranking"]
