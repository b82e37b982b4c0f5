import pytest

from adaptive._expressions import parse_linear_inequality
from adaptive.errors import ValidationError


@pytest.mark.parametrize(
    ("text", "coefficients", "bound"),
    [
        ("a + 2*b <= 3", {"a": 1.0, "b": 2.0}, 3.0),
        ("x - y >= 0", {"x": -1.0, "y": 1.0}, 0.0),
        ("viral_weight + 0.5*posts_to_load <= 20", {"viral_weight": 1.0, "posts_to_load": 0.5}, 20.0),
        ("2 * (a - b) + 1 <= b / 2", {"a": 2.0, "b": -2.5}, -1.0),
        ("-a >= -1e-3", {"a": 1.0}, 1e-3),
        ("a * 3 <= 6", {"a": 3.0}, 6.0),
    ],
)
def test_parses_to_less_equal_form(text, coefficients, bound):
    ineq = parse_linear_inequality(text, field="parameter_constraints")
    assert ineq.coefficients == pytest.approx(coefficients)
    assert ineq.bound == pytest.approx(bound)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("a * b <= 3", "product"),
        ("a ** 2 <= 3", "not linear"),
        ("sin(a) <= 1", "not linear"),
        ("a < 3", "only '<=' and '>='"),
        ("a <= b <= 3", "exactly one"),
        ("a + 1", "exactly one"),
        ("a +* <= 1", "cannot parse"),
        ("1 <= 2", "names no"),
        ("a <= inf_value * 0 + 1e999", "finite"),
        ("a / 0 <= 1", "divides by zero"),
        ("", "expected"),
    ],
)
def test_rejects_non_linear_or_malformed_text(text, fragment):
    with pytest.raises(ValidationError) as info:
        parse_linear_inequality(text, field="parameter_constraints")
    assert info.value.field == "parameter_constraints"
    assert info.value.value == text
    assert fragment in str(info.value)
