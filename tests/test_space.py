import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import adaptive as ad
from adaptive.errors import DuplicateNameError, ValidationError
from adaptive.space import SearchSpace


# -- strategies: a random space and a valid point of it -----------------------------------------
@st.composite
def float_param(draw):
    log = draw(st.booleans())
    low = draw(st.floats(1e-6 if log else -1e6, 1e5, allow_nan=False))
    high = low + draw(st.floats(max(1e-3, abs(low) * 1e-3), 1e6, allow_nan=False))
    p = ad.Float(low, high, log=log)
    return p, st.floats(p.low, p.high, allow_nan=False)


@st.composite
def int_param(draw):
    log = draw(st.booleans())
    low = draw(st.integers(1 if log else -1000, 1000))
    high = draw(st.integers(low + 1, low + 5000))
    p = ad.Int(low, high, log=log)
    return p, st.integers(low, high)


choice_values = st.lists(
    st.one_of(st.text(max_size=5), st.integers(-5, 5), st.booleans(), st.floats(-5, 5, allow_nan=False)),
    min_size=1, max_size=6,
).filter(lambda vs: all(not any(ad.space._same_value(v, w) for w in vs[:i]) for i, v in enumerate(vs)))


@st.composite
def choice_param(draw):
    p = ad.Choice(draw(choice_values), ordered=draw(st.booleans()))
    return p, st.sampled_from(list(p.values))


@st.composite
def space_and_point(draw):
    kinds = draw(st.lists(st.one_of(float_param(), int_param(), choice_param()), min_size=1, max_size=6))
    parameters = {f"p{i}": p for i, (p, _) in enumerate(kinds)}
    parameters["fixed"] = ad.Fixed(draw(st.one_of(st.text(max_size=3), st.integers(), st.booleans())))
    point = {f"p{i}": draw(values) for i, (_, values) in enumerate(kinds)}
    point["fixed"] = parameters["fixed"].value
    if all(p.width == 0 for p in parameters.values()):
        parameters["extra"] = ad.Float(0, 1)
        point["extra"] = 0.5
    return SearchSpace(parameters), point


@settings(max_examples=300, deadline=None)
@given(space_and_point())
def test_decode_encode_roundtrip(case):
    space, point = case
    X = space.encode([point])
    assert X.dtype == torch.float64 and X.shape == (1, space.dim)
    assert bool(((X >= 0) & (X <= 1)).all())
    (decoded,) = space.decode(X)
    for name, value in point.items():
        got = decoded[name]
        p = space.parameters[name]
        if isinstance(p, ad.Float):
            assert got == pytest.approx(value, rel=1e-9, abs=1e-9 * max(1.0, abs(p.high - p.low)))
        else:
            assert got == value and type(got) is type(value) or ad.space._same_value(got, value)


@settings(max_examples=100, deadline=None)
@given(space_and_point(), st.integers(0, 2**31 - 1))
def test_decode_of_any_point_in_the_cube_is_valid(case, seed):
    space, _ = case
    X = torch.rand(8, space.dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    for params in space.decode(X):
        assert space.validate(params) == params


def test_encoding_layout():
    space = SearchSpace({
        "x": ad.Float(0, 10), "lr": ad.Float(1e-4, 1e-1, log=True), "n": ad.Int(1, 4),
        "c": ad.Choice(["a", "b", "c"]), "o": ad.Choice([1, 2, 3], ordered=True), "f": ad.Fixed("us"),
    })
    assert space.dim == 1 + 1 + 1 + 3 + 1
    X = space.encode([{"x": 2.5, "lr": 1e-2, "n": 2, "c": "b", "o": 3, "f": "us"}])
    assert X[0].tolist() == pytest.approx([0.25, 2 / 3, 0.375, 0, 1, 0, 5 / 6])


def test_sobol_samples_satisfy_constraints_and_continue_the_sequence():
    space = SearchSpace(
        {"a": ad.Float(0, 1), "b": ad.Float(0, 1), "n": ad.Int(0, 10), "c": ad.Choice(["x", "y"])},
        ["a + b <= 0.5", "a - 0.05*n >= 0"],
    )
    first, pos = space.sample(40, seed=3)
    second, pos2 = space.sample(40, seed=3, skip=pos)
    together, pos_all = space.sample(80, seed=3)
    assert first + second == together and pos2 == pos_all
    for p in together:
        assert p["a"] + p["b"] <= 0.5 + 1e-12 and p["a"] - 0.05 * p["n"] >= -1e-12
        assert space.validate(p) == p
    assert len({(p["a"], p["b"]) for p in together}) == 80


def test_sobol_is_spread_evenly():
    space = SearchSpace({"a": ad.Float(0, 1)})
    points, _ = space.sample(64, seed=0)
    counts = [sum(1 for p in points if k / 8 <= p["a"] < (k + 1) / 8) for k in range(8)]
    assert counts == [8] * 8  # a scrambled Sobol net: exactly stratified


@pytest.mark.parametrize(
    ("make", "field", "fragment"),
    [
        (lambda: ad.Float(math.nan, 1), "low", "finite"),
        (lambda: ad.Float(0, math.inf), "high", "finite"),
        (lambda: ad.Float(1, 1), "low", "below high"),
        (lambda: ad.Float(2, 1), "low", "below high"),
        (lambda: ad.Float(0, 1, log=True), "low", "log scale"),
        (lambda: ad.Float("0", 1), "low", "number"),
        (lambda: ad.Int(0, 5, log=True), "low", "log scale"),
        (lambda: ad.Int(0.5, 5), "low", "whole"),
        (lambda: ad.Int(3, 3), "low", "below high"),
        (lambda: ad.Choice([]), "values", "at least one"),
        (lambda: ad.Choice("abc"), "values", "list"),
        (lambda: ad.Choice(["a", "a"]), "values", "twice"),
        (lambda: ad.Choice([None]), "values", "str, int"),
        (lambda: ad.Fixed(math.nan), "value", "finite"),
        (lambda: SearchSpace({}), "parameters", "at least one"),
        (lambda: SearchSpace({"a": ad.Fixed(1)}), "parameters", "fixed"),
        (lambda: SearchSpace({"a b": ad.Float(0, 1)}), "parameters", "identifier"),
        (lambda: SearchSpace({"a": ad.Float(0, 1)}, ["a + z <= 1"]), "parameter_constraints", "unknown parameter 'z'"),
        (lambda: SearchSpace({"a": ad.Float(0, 1), "b": ad.Float(0, 1)}, ["a*b <= 1"]), "parameter_constraints", "product"),
        (lambda: SearchSpace({"a": ad.Float(0, 1), "b": ad.Float(0, 1)}, ["a + b >= 3"]), "parameter_constraints", "no point"),
        (lambda: SearchSpace({"a": ad.Float(1, 2, log=True)}, ["a <= 1.5"]), "parameter_constraints", "log scale"),
        (lambda: SearchSpace({"a": ad.Choice([1, 2])}, ["a <= 1.5"]), "parameter_constraints", "not a Float or Int"),
        (lambda: SearchSpace({"a": ad.Float(0, 1)}, "a <= 1"), "parameter_constraints", "list"),
    ],
)
def test_bad_space_input_names_field_and_value(make, field, fragment):
    with pytest.raises(ValidationError) as info:
        make()
    assert info.value.field == field
    assert fragment in str(info.value)


def test_duplicate_choice_value_is_a_duplicate_name_error():
    with pytest.raises(DuplicateNameError):
        ad.Choice(["a", "b", "a"])
    assert ad.Choice([1, True]).values == (1, True)  # distinct: an int and a bool


@pytest.mark.parametrize(
    ("params", "field", "fragment"),
    [
        ({"x": 11.0, "n": 2, "c": "a"}, "params.x", "outside"),
        ({"x": math.nan, "n": 2, "c": "a"}, "params.x", "finite"),
        ({"x": "1", "n": 2, "c": "a"}, "params.x", "number"),
        ({"x": 1.0, "n": 2.5, "c": "a"}, "params.n", "whole"),
        ({"x": 1.0, "n": True, "c": "a"}, "params.n", "number"),
        ({"x": 1.0, "n": 2, "c": "z"}, "params.c", "not one of"),
        ({"x": 1.0, "n": 2}, "params.c", "missing"),
        ({"x": 1.0, "n": 2, "c": "a", "zz": 1}, "params.zz", "unknown"),
        ({"x": 1.0, "n": 2, "c": "a", "f": "eu"}, "params.f", "fixed"),
        ({"x": 9.0, "n": 4, "c": "a"}, "params", "violates"),
    ],
)
def test_validate_rejects_bad_points(params, field, fragment):
    space = SearchSpace(
        {"x": ad.Float(0, 10), "n": ad.Int(1, 4), "c": ad.Choice(["a", "b"]), "f": ad.Fixed("us")}, ["x + n <= 12"]
    )
    with pytest.raises(ValidationError) as info:
        space.validate(params)
    assert info.value.field == field and fragment in str(info.value)


def test_validate_normalizes_and_fills_fixed():
    space = SearchSpace({"x": ad.Float(0, 10), "n": ad.Int(1, 4), "f": ad.Fixed("us")})
    assert space.validate({"x": 1, "n": 3.0}) == {"x": 1.0, "n": 3, "f": "us"}
    assert type(space.validate({"x": 1, "n": 3.0})["n"]) is int


def test_dict_roundtrip():
    space = SearchSpace(
        {"x": ad.Float(0, 10), "lr": ad.Float(1e-4, 1.0, log=True), "n": ad.Int(1, 4), "m": ad.Int(1, 64, log=True),
         "c": ad.Choice([True, 2, "s", 1.5], ordered=True), "f": ad.Fixed(False)},
        ["x + 2*n <= 12"],
    )
    again = SearchSpace.from_dict(space.to_dict())
    assert again.parameters == space.parameters
    assert [c.text for c in again.constraints] == ["x + 2*n <= 12"]


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: ad.Float(0, 10**400), "high"),
        (lambda: ad.Int(0, 10**400), "high"),
        (lambda: ad.SearchSpace({"x": ad.Float(0, 1)}, [f"{10**400}*x <= 1"]), "parameter_constraints"),
        (lambda: ad.SearchSpace({"x": ad.Float(0, 1)}, ["x + " * 50_000 + "x <= 1"]), "parameter_constraints"),
        (lambda: ad.SearchSpace({"x": ad.Float(0, 1)}, ["(" * 900 + "x" + ")" * 900 + " <= 1"]), "parameter_constraints"),
        (lambda: ad.Maximize("m", threshold=10**400), "objectives.m.threshold"),
    ],
)
def test_huge_numbers_and_texts_are_validation_errors(make, field):
    with pytest.raises(ad.ValidationError) as info:
        make()
    assert info.value.field == field


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: ad.Float(1, 10, log="yes"), "log"),
        (lambda: ad.Int(1, 10, log=1), "log"),
        (lambda: ad.Choice(["a", "b"], ordered="no"), "ordered"),
        (lambda: ad.SearchSpace.from_dict({"parameters": {"x": {"type": "float", "low": 0, "high": 1, "lg": True}},
                                           "constraints": []}), "lg"),
    ],
)
def test_flags_are_booleans_and_stored_parameters_have_no_unknown_keys(make, field):
    with pytest.raises(ad.ValidationError) as info:
        make()
    assert info.value.field.endswith(field)
