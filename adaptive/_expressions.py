"""Parse linear inequalities written as text, e.g. ``"a + 2*b <= 3"``.

The text is parsed with Python's own grammar (:mod:`ast`) and reduced to
``sum_i c_i * name_i  <=  bound``. Anything that is not linear in the names
(products of names, powers, calls) is rejected with the offending text.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass

from adaptive._checks import is_number
from adaptive.errors import ValidationError

MAX_NAME_LENGTH = 64  # the narrowest column a name is stored in (sources); one rule for every backend
MAX_EXPERIMENT_NAME_LENGTH = 200
MAX_EXPRESSION_LENGTH = 2_000  # a constraint is a short sum; longer text is a mistake (or an attack)
# fullmatch, not match with "$": "$" also matches before a trailing newline
NAME_PATTERN = re.compile(rf"[A-Za-z_][A-Za-z0-9_]{{0,{MAX_NAME_LENGTH - 1}}}")


def check_name(field: str, name: object) -> str:
    """Return ``name`` if it is usable as a parameter, metric or source name."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise ValidationError(
            field, name,
            f"names must be identifiers of at most {MAX_NAME_LENGTH} characters: a letter or _ followed by "
            "letters, digits or _",
        )
    return name


def check_experiment_name(name: object, field: str = "name") -> str:
    """Return ``name`` if it is usable as an experiment name: 1-200 printable characters, no surrounding spaces."""
    if (
        not isinstance(name, str) or not name or len(name) > MAX_EXPERIMENT_NAME_LENGTH or name != name.strip()
        or not name.isprintable()
    ):
        raise ValidationError(
            field, name,
            f"experiment names are 1-{MAX_EXPERIMENT_NAME_LENGTH} printable characters without surrounding spaces",
        )
    return name


@dataclass(frozen=True)
class LinearInequality:
    """``sum(coefficients[name] * name) <= bound``; ``text`` is what the user wrote."""

    coefficients: dict[str, float]
    bound: float
    text: str


def parse_linear_inequality(text: object, *, field: str) -> LinearInequality:
    """Parse ``"lhs <= rhs"`` or ``"lhs >= rhs"`` into a :class:`LinearInequality`.

    Raises:
        ValidationError: naming ``field`` and ``text`` when the text is not a
            single linear inequality with finite numbers.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValidationError(field, text, "expected an inequality such as 'a + 2*b <= 3'")
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ValidationError(field, text[:40] + "...", f"longer than {MAX_EXPRESSION_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        raise ValidationError(field, text, "cannot parse; expected e.g. 'a + 2*b <= 3'") from None
    except (RecursionError, MemoryError):
        raise ValidationError(field, text[:40] + "...", "nested too deeply to parse") from None
    if not isinstance(tree, ast.Compare) or len(tree.ops) != 1:
        raise ValidationError(field, text, "expected exactly one '<=' or '>='")
    op = tree.ops[0]
    if not isinstance(op, (ast.LtE, ast.GtE)):
        raise ValidationError(field, text, "only '<=' and '>=' are allowed")
    left = _linear(tree.left, text, field)
    right = _linear(tree.comparators[0], text, field)
    # Move everything to the left: (left - right) <= 0, flipped for '>='.
    sign = 1.0 if isinstance(op, ast.LtE) else -1.0
    coefficients: dict[str, float] = {}
    for name in list(left[0]) + [n for n in right[0] if n not in left[0]]:
        c = sign * (left[0].get(name, 0.0) - right[0].get(name, 0.0))
        if c != 0.0:
            coefficients[name] = c
    bound = sign * (right[1] - left[1])
    if not coefficients:
        raise ValidationError(field, text, "names no parameter or metric")
    if not all(math.isfinite(v) for v in [*coefficients.values(), bound]):
        raise ValidationError(field, text, "numbers must be finite")
    return LinearInequality(coefficients=coefficients, bound=bound, text=text.strip())


def _linear(node: ast.AST, text: str, field: str) -> tuple[dict[str, float], float]:
    """Reduce an expression node to (coefficients, constant)."""
    if isinstance(node, ast.Constant) and is_number(node.value):
        try:
            return {}, float(node.value)
        except OverflowError:
            raise ValidationError(field, text, f"the number {str(node.value)[:20]}... is too large for a float") from None
    if isinstance(node, ast.Name):
        return {node.id: 1.0}, 0.0
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        coefs, const = _linear(node.operand, text, field)
        s = -1.0 if isinstance(node.op, ast.USub) else 1.0
        return {k: s * v for k, v in coefs.items()}, s * const
    if isinstance(node, ast.BinOp):
        left = _linear(node.left, text, field)
        right = _linear(node.right, text, field)
        if isinstance(node.op, (ast.Add, ast.Sub)):
            s = 1.0 if isinstance(node.op, ast.Add) else -1.0
            coefs = dict(left[0])
            for k, v in right[0].items():
                coefs[k] = coefs.get(k, 0.0) + s * v
            return coefs, left[1] + s * right[1]
        if isinstance(node.op, ast.Mult):
            if left[0] and right[0]:
                raise ValidationError(field, text, "is not linear: a product of two names")
            scale, (coefs, const) = (left[1], right) if not left[0] else (right[1], left)
            return {k: scale * v for k, v in coefs.items()}, scale * const
        if isinstance(node.op, ast.Div) and not right[0]:
            if right[1] == 0.0:
                raise ValidationError(field, text, "divides by zero")
            return {k: v / right[1] for k, v in left[0].items()}, left[1] / right[1]
    raise ValidationError(
        field, text, f"is not linear: cannot use {ast.unparse(node)!r}; write sums of number*name"
    )
