import math

import pytest

import adaptive as ad
from adaptive.errors import DuplicateNameError, ValidationError
from adaptive.objectives import OptimizationConfig, OutcomeConstraint


def test_outcome_constraint_parsing_and_roundtrip():
    c = OutcomeConstraint.parse("reliability >= -0.01")
    assert (c.metric, c.bound, c.upper) == ("reliability", -0.01, False)
    assert OutcomeConstraint.parse("2*cpu_ms <= 240") == OutcomeConstraint("cpu_ms", 120.0, True)
    assert OutcomeConstraint.parse("120 >= cpu_ms") == OutcomeConstraint("cpu_ms", 120.0, True)
    odd = OutcomeConstraint.parse("x <= 0.1234567890123")
    assert OutcomeConstraint.parse(odd.text) == odd
    assert c.satisfied_by(0.0) and not c.satisfied_by(-0.02)


@pytest.mark.parametrize("text", ["1e-320*r >= -1", "r*1e-310 <= 1", "1e-300*r <= 1e300"])
def test_constraints_that_would_not_survive_storage_are_refused(text):
    with pytest.raises(ValidationError, match="finite") as info:
        OutcomeConstraint.parse(text)
    assert info.value.field == "outcome_constraints"


def test_config_orders_metrics_and_checks_feasibility():
    config = OptimizationConfig.build(
        [ad.Maximize("engagement", threshold=0.0), ad.Minimize("cpu_ms", threshold=120)],
        ["reliability >= -0.01", "latency <= 5", "latency >= 1"],
    )
    assert config.metrics == ["engagement", "cpu_ms", "reliability", "latency"]
    assert config.is_feasible({"reliability": 0.0, "latency": 2.0})
    assert not config.is_feasible({"reliability": 0.0, "latency": 6.0})
    assert not config.is_feasible({"latency": 2.0})  # an unobserved constrained metric is not known feasible
    assert OptimizationConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize(
    ("objectives", "constraints", "params", "error", "field"),
    [
        ([], [], [], ValidationError, "objectives"),
        ([ad.Maximize("a"), ad.Minimize("a")], [], [], DuplicateNameError, "objectives.metric"),
        ([ad.Maximize("a")], ["a <= 3"], [], DuplicateNameError, "outcome_constraints"),
        ([ad.Maximize("a")], ["b <= 3", "b <= 4"], [], DuplicateNameError, "outcome_constraints"),
        ([ad.Maximize("a")], ["b <= 3", "b >= 4"], [], ValidationError, "outcome_constraints"),
        ([ad.Maximize("a")], ["b + c <= 3"], [], ValidationError, "outcome_constraints"),
        ([ad.Maximize("a")], ["b * b <= 3"], [], ValidationError, "outcome_constraints"),
        ([ad.Maximize("a")], "b <= 3", [], ValidationError, "outcome_constraints"),
        ([ad.Maximize("x")], [], ["x"], DuplicateNameError, "metric"),
        (["a"], [], [], ValidationError, "objectives"),
    ],
)
def test_bad_configs(objectives, constraints, params, error, field):
    with pytest.raises(error) as info:
        OptimizationConfig.build(objectives, constraints, parameter_names=params)
    assert info.value.field == field


@pytest.mark.parametrize("threshold", [math.nan, math.inf, "1"])
def test_bad_threshold(threshold):
    with pytest.raises(ValidationError, match="threshold"):
        ad.Maximize("a", threshold=threshold)


def test_bad_metric_name():
    with pytest.raises(ValidationError) as info:
        ad.Minimize("cpu ms")
    assert info.value.field == "objectives.metric" and info.value.value == "cpu ms"
