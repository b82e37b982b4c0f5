"""Search spaces: parameter types, linear constraints, unit-cube encoding, Sobol sampling.

Encoding maps a parameter dict to a row of the unit cube ``[0, 1]^d`` (a float64
tensor); decoding maps any point of the cube back to a valid parameter dict.

- ``Float``: one column, linear or log scale.
- ``Int``: one column; each integer owns an equal slice of ``[0, 1]`` (the
  interval ``[v - 0.5, v + 0.5]`` scaled, on log scale when ``log=True``), and
  decoding rounds. Equal slices keep Sobol draws uniform over the integers.
- ``Choice(ordered=True)``: one column, like an ``Int`` over the value indices.
- ``Choice(ordered=False)``: one one-hot column per value; decoding takes the argmax.
- ``Fixed``: no column.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Union, cast

from adaptive._expressions import LinearInequality, check_name, parse_linear_inequality
from adaptive.errors import DuplicateNameError, ValidationError

if TYPE_CHECKING:  # torch is imported where a tensor is made: configs are parsed without it
    import torch

ChoiceValue = Union[str, int, float, bool]
_TOLERANCE = 1e-9


def _finite_number(field_name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):  # numpy scalars are Real too
        raise ValidationError(field_name, value, "must be a number")
    try:
        number = float(value)
    except OverflowError:
        raise ValidationError(field_name, value, "is too large for a float") from None
    if not math.isfinite(number):
        raise ValidationError(field_name, value, "must be finite (not NaN or inf)")
    return number


def _check_flag(field_name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ValidationError(field_name, value, "must be true or false")


@dataclass(frozen=True)
class Float:
    """A real parameter in ``[low, high]``; ``log=True`` searches on log scale (needs ``low > 0``)."""

    low: float
    high: float
    log: bool = False

    def __post_init__(self) -> None:
        _check_flag("log", self.log)
        low = _finite_number("low", self.low)
        high = _finite_number("high", self.high)
        if low >= high:
            raise ValidationError("low", self.low, f"must be below high={self.high!r}")
        if self.log and low <= 0:
            raise ValidationError("low", self.low, "log scale needs low > 0")
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)

    @property
    def width(self) -> int:
        return 1

    def to_unit(self, value: float) -> float:
        if self.log:
            return (math.log(value) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        return (value - self.low) / (self.high - self.low)

    def from_unit(self, u: float) -> float:
        if self.log:
            v = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        else:
            v = self.low + u * (self.high - self.low)
        return min(max(v, self.low), self.high)

    def check(self, name: str, value: Any) -> float:
        v = _finite_number(f"params.{name}", value)
        if not self.low <= v <= self.high:
            raise ValidationError(f"params.{name}", value, f"outside [{self.low}, {self.high}]")
        return v

    def to_dict(self) -> dict[str, Any]:
        return {"type": "float", "low": self.low, "high": self.high, "log": self.log}


@dataclass(frozen=True)
class Int:
    """An integer parameter in ``[low, high]`` (inclusive); ``log=True`` needs ``low >= 1``."""

    low: int
    high: int
    log: bool = False

    def __post_init__(self) -> None:
        _check_flag("log", self.log)
        for name in ("low", "high"):
            value = getattr(self, name)
            _finite_number(name, value)
            if float(value) != int(value):
                raise ValidationError(name, value, "must be a whole number")
            object.__setattr__(self, name, int(value))
        if self.low >= self.high:
            raise ValidationError("low", self.low, f"must be below high={self.high!r}")
        if self.log and self.low < 1:
            raise ValidationError("low", self.low, "log scale needs low >= 1")

    @property
    def width(self) -> int:
        return 1

    def _edges(self) -> tuple[float, float]:
        lo, hi = self.low - 0.5, self.high + 0.5
        return (math.log(lo), math.log(hi)) if self.log else (lo, hi)

    def to_unit(self, value: int) -> float:
        lo, hi = self._edges()
        v = math.log(value) if self.log else float(value)
        return (v - lo) / (hi - lo)

    def from_unit(self, u: float) -> int:
        lo, hi = self._edges()
        v = lo + u * (hi - lo)
        v = math.exp(v) if self.log else v
        return int(min(max(round(v), self.low), self.high))

    def check(self, name: str, value: Any) -> int:
        v = _finite_number(f"params.{name}", value)
        if v != int(v):
            raise ValidationError(f"params.{name}", value, "must be a whole number")
        if not self.low <= v <= self.high:
            raise ValidationError(f"params.{name}", value, f"outside [{self.low}, {self.high}]")
        return int(v)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "int", "low": self.low, "high": self.high, "log": self.log}


def _same_value(a: Any, b: Any) -> bool:
    return isinstance(a, bool) == isinstance(b, bool) and isinstance(a, str) == isinstance(b, str) and a == b


@dataclass(frozen=True)
class Choice:
    """One of ``values`` (str, int, float or bool). ``ordered=True`` treats them as a ranked scale."""

    values: Sequence[ChoiceValue]
    ordered: bool = False

    def __post_init__(self) -> None:
        _check_flag("ordered", self.ordered)
        if isinstance(self.values, (str, bytes)) or not isinstance(self.values, Sequence):
            raise ValidationError("values", self.values, "must be a list of values")
        values = tuple(self.values)
        if not values:
            raise ValidationError("values", self.values, "a choice needs at least one value")
        for v in values:
            if not isinstance(v, (str, int, float, bool)):
                raise ValidationError("values", v, "choice values must be str, int, float or bool")
            if isinstance(v, float) and not math.isfinite(v):
                raise ValidationError("values", v, "choice values must be finite")
        for i, v in enumerate(values):
            if any(_same_value(v, w) for w in values[:i]):
                raise DuplicateNameError("values", v, "appears twice in the choice")
        object.__setattr__(self, "values", values)

    @property
    def width(self) -> int:
        if len(self.values) == 1:
            return 0
        return 1 if self.ordered else len(self.values)

    def index(self, value: Any) -> int:
        for i, v in enumerate(self.values):
            if _same_value(v, value):
                return i
        raise ValueError(value)

    def check(self, name: str, value: Any) -> ChoiceValue:
        try:
            return self.values[self.index(value)]
        except ValueError:
            raise ValidationError(f"params.{name}", value, f"not one of {list(self.values)}") from None

    def to_dict(self) -> dict[str, Any]:
        return {"type": "choice", "values": list(self.values), "ordered": self.ordered}


@dataclass(frozen=True)
class Fixed:
    """A parameter held at one value (recorded on every trial, never searched)."""

    value: ChoiceValue

    def __post_init__(self) -> None:
        if not isinstance(self.value, (str, int, float, bool)):
            raise ValidationError("value", self.value, "must be str, int, float or bool")
        if isinstance(self.value, float) and not math.isfinite(self.value):
            raise ValidationError("value", self.value, "must be finite")

    @property
    def width(self) -> int:
        return 0

    def check(self, name: str, value: Any) -> ChoiceValue:
        if not _same_value(value, self.value):
            raise ValidationError(f"params.{name}", value, f"is fixed at {self.value!r}")
        return self.value

    def to_dict(self) -> dict[str, Any]:
        return {"type": "fixed", "value": self.value}


Parameter = Union[Float, Int, Choice, Fixed]


PARAMETER_KEYS = {
    "float": {"type", "low", "high", "log"},
    "int": {"type", "low", "high", "log"},
    "choice": {"type", "values", "ordered"},
    "fixed": {"type", "value"},
}


def parameter_from_dict(data: Mapping[str, Any]) -> Parameter:
    """Inverse of ``Parameter.to_dict()``; an unknown key is refused (field: the key)."""
    kind = data.get("type")
    if kind not in PARAMETER_KEYS:
        raise ValidationError("type", kind, "expected one of 'float', 'int', 'choice', 'fixed'")
    for key in data:
        if key not in PARAMETER_KEYS[kind]:
            raise ValidationError(key, data[key], f"unknown key for a {kind} parameter; known: {sorted(PARAMETER_KEYS[kind])}")
    if kind == "float":
        return Float(data["low"], data["high"], log=data.get("log", False))
    if kind == "int":
        return Int(data["low"], data["high"], log=data.get("log", False))
    if kind == "choice":
        values = data["values"]
        return Choice(list(values) if isinstance(values, (list, tuple)) else values, ordered=data.get("ordered", False))
    return Fixed(data["value"])


@dataclass(frozen=True)
class SearchSpace:
    """Named parameters plus linear constraints over the Float/Int ones.

    Args:
        parameters: name -> parameter; names are identifiers, at least one not ``Fixed``.
        constraints: inequalities such as ``"a + 2*b <= 3"`` over non-log Float/Int parameters.
    """

    parameters: Mapping[str, Parameter]
    constraints: Sequence[str | LinearInequality] = ()
    _slices: dict[str, slice] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.parameters, Mapping) or not self.parameters:
            raise ValidationError("parameters", self.parameters, "a search space needs at least one parameter")
        for name, p in self.parameters.items():
            check_name("parameters", name)
            if not isinstance(p, (Float, Int, Choice, Fixed)):
                raise ValidationError(f"parameters.{name}", p, "must be Float, Int, Choice or Fixed")
        object.__setattr__(self, "parameters", dict(self.parameters))
        if all(p.width == 0 for p in self.parameters.values()):
            raise ValidationError("parameters", list(self.parameters), "every parameter is fixed: nothing to search")
        if isinstance(self.constraints, str):
            raise ValidationError("parameter_constraints", self.constraints, "must be a list of strings")
        parsed = tuple(self._parse_constraint(c) for c in self.constraints)
        object.__setattr__(self, "constraints", parsed)
        slices, start = {}, 0
        for name, p in self.parameters.items():
            slices[name] = slice(start, start + p.width)
            start += p.width
        object.__setattr__(self, "_slices", slices)
        self._check_feasible()

    @property
    def inequalities(self) -> tuple[LinearInequality, ...]:
        """The linear constraints, parsed (what ``constraints`` holds once the space is built)."""
        return cast("tuple[LinearInequality, ...]", self.constraints)

    def _parse_constraint(self, c: str | LinearInequality) -> LinearInequality:
        ineq = c if isinstance(c, LinearInequality) else parse_linear_inequality(c, field="parameter_constraints")
        for name in ineq.coefficients:
            p = self.parameters.get(name)
            if p is None:
                raise ValidationError("parameter_constraints", ineq.text, f"unknown parameter {name!r}")
            if not isinstance(p, (Float, Int)):
                raise ValidationError("parameter_constraints", ineq.text, f"{name!r} is not a Float or Int parameter")
            if p.log:
                raise ValidationError(
                    "parameter_constraints", ineq.text, f"{name!r} is on log scale; constraints must be linear in the search"
                )
        return ineq

    def _check_feasible(self) -> None:
        if not self.inequalities:
            return
        import numpy as np
        from scipy.optimize import linprog

        names = [n for n, p in self.parameters.items() if isinstance(p, (Float, Int))]
        a_ub = np.array([[c.coefficients.get(n, 0.0) for n in names] for c in self.inequalities])
        b_ub = np.array([c.bound for c in self.inequalities])
        bounds = [(self.parameters[n].low, self.parameters[n].high) for n in names]  # type: ignore[union-attr]
        result = linprog(np.zeros(len(names)), A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs")
        if result.status != 0:
            raise ValidationError(
                "parameter_constraints", [c.text for c in self.inequalities], "no point within the bounds satisfies them all"
            )

    @property
    def dim(self) -> int:
        """Number of unit-cube columns ``d``."""
        return sum(p.width for p in self.parameters.values())

    def column_slice(self, name: str) -> slice:
        return self._slices[name]

    def categorical_groups(self) -> list[list[int]]:
        """The one-hot column groups of the unordered choices (each a list of column indices,
        one per value), in parameter order."""
        return [
            list(range(self._slices[n].start, self._slices[n].stop))
            for n, p in self.parameters.items()
            if isinstance(p, Choice) and not p.ordered and p.width > 1
        ]

    def snap(self, X: torch.Tensor) -> torch.Tensor:
        """``X`` (``... x d``) with each unordered choice's columns made one-hot at their argmax."""
        import torch

        X = X.clone()
        for group in self.categorical_groups():
            block = X[..., group]
            X[..., group] = torch.nn.functional.one_hot(block.argmax(-1), len(group)).to(X)
        return X

    def unit_cube_constraints(self) -> list[tuple[list[int], list[float], float]]:
        """The linear constraints in unit-cube coordinates, as BoTorch's ``(columns, coefficients, rhs)``
        meaning ``sum(coefficients * X[..., columns]) >= rhs``. Int parameters use their
        continuous relaxation, so a rounded point still needs :meth:`is_feasible`."""
        out = []
        for c in self.inequalities:
            columns, coefficients, shift = [], [], 0.0
            for name, coef in c.coefficients.items():
                p = self.parameters[name]
                offset, width = (p.low, p.high - p.low) if isinstance(p, Float) else (p.low - 0.5, p.high - p.low + 1.0)  # type: ignore[union-attr]
                columns.append(self._slices[name].start)
                coefficients.append(-coef * width)
                shift += coef * offset
            out.append((columns, coefficients, -(c.bound - shift)))
        return out

    # -- validation -----------------------------------------------------------------------
    def validate(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Check a parameter dict and return it normalized (ints as int, fixed values filled in)."""
        if not isinstance(params, Mapping):
            raise ValidationError("params", params, "must be a dict of parameter name -> value")
        for name in params:
            if name not in self.parameters:
                raise ValidationError(f"params.{name}", params[name], f"unknown parameter; known: {list(self.parameters)}")
        out: dict[str, Any] = {}
        for name, p in self.parameters.items():
            if name not in params:
                if isinstance(p, Fixed):
                    out[name] = p.value
                    continue
                raise ValidationError(f"params.{name}", None, "missing")
            out[name] = p.check(name, params[name])
        for c in self.inequalities:
            if not self.satisfies(c, out):
                raise ValidationError("params", out, f"violates parameter constraint {c.text!r}")
        return out

    @staticmethod
    def satisfies(c: LinearInequality, params: Mapping[str, Any]) -> bool:
        lhs = sum(coef * float(params[n]) for n, coef in c.coefficients.items())
        return lhs <= c.bound + _TOLERANCE * max(1.0, abs(c.bound))

    def is_feasible(self, params: Mapping[str, Any]) -> bool:
        return all(self.satisfies(c, params) for c in self.inequalities)

    # -- encoding -------------------------------------------------------------------------
    def columns_of(self, name: str) -> slice:
        """The columns of parameter ``name`` in the encoded ``n x dim`` tensors (one-hot choices span several)."""
        return self._slices[name]

    def encode(self, params_list: Sequence[Mapping[str, Any]]) -> torch.Tensor:
        """Encode valid parameter dicts to an ``n x d`` float64 tensor in the unit cube."""
        import torch

        X = torch.zeros(len(params_list), self.dim, dtype=torch.float64)
        for i, params in enumerate(params_list):
            for name, p in self.parameters.items():
                s = self._slices[name]
                if p.width == 0:
                    continue
                value = params[name]
                if isinstance(p, (Float, Int)):
                    X[i, s.start] = p.to_unit(value)
                elif isinstance(p, Choice) and p.ordered:
                    X[i, s.start] = (p.index(value) + 0.5) / len(p.values)
                elif isinstance(p, Choice):
                    X[i, s.start + p.index(value)] = 1.0
        return X

    def decode(self, X: torch.Tensor) -> list[dict[str, Any]]:
        """Decode an ``n x d`` tensor (any values; clamped to the cube) to parameter dicts."""
        import numpy as np
        import torch

        rows = X.detach().to("cpu", torch.float64).clamp(0.0, 1.0).numpy()
        out = []
        for row in rows:
            params: dict[str, Any] = {}
            for name, p in self.parameters.items():
                s = self._slices[name]
                if isinstance(p, Fixed):
                    params[name] = p.value
                elif isinstance(p, (Float, Int)):
                    params[name] = p.from_unit(float(row[s.start]))
                elif p.width == 0:
                    params[name] = p.values[0]
                elif p.ordered:
                    k = len(p.values)
                    params[name] = p.values[min(int(row[s.start] * k), k - 1)]
                else:
                    params[name] = p.values[int(np.argmax(row[s]))]
            out.append(params)
        return out

    # -- sampling -------------------------------------------------------------------------
    def sample(self, n: int, *, seed: int, skip: int = 0) -> tuple[list[dict[str, Any]], int]:
        """Draw ``n`` points from one scrambled Sobol sequence, keeping those that satisfy the constraints.

        Args:
            n: number of points.
            seed: the sequence's scrambling seed (fixed per experiment).
            skip: how many points of the sequence earlier calls consumed.

        Returns:
            The points, and the new position in the sequence to pass as ``skip`` next time.
        """
        import torch

        engine = torch.quasirandom.SobolEngine(dimension=self.dim, scramble=True, seed=seed)
        if skip:
            engine.fast_forward(skip)
        position, accepted = skip, cast("list[dict[str, Any]]", [])
        max_draws = max(100_000, 1_000 * n)
        while len(accepted) < n:
            if position - skip > max_draws:
                raise ValidationError(
                    "parameter_constraints",
                    [c.text for c in self.inequalities],
                    f"quasi-random sampling found {len(accepted)} of {n} feasible points in {max_draws} draws; "
                    "the feasible region is too small, widen the constraints",
                )
            chunk = max(2 * (n - len(accepted)), 16)
            X = engine.draw(chunk, dtype=torch.float64)
            for i, params in enumerate(self.decode(X)):
                if self.is_feasible(params):
                    accepted.append(params)
                    if len(accepted) == n:
                        position += i + 1
                        break
            else:
                position += chunk
        return accepted, position

    # -- persistence ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "parameters": {name: p.to_dict() for name, p in self.parameters.items()},
            "constraints": [c.text for c in self.inequalities],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SearchSpace:
        return cls(
            {name: parameter_from_dict(p) for name, p in data["parameters"].items()},
            list(data.get("constraints", [])),
        )
