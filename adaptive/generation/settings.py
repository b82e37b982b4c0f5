"""How an experiment proposes trials: plain settings, validated, without torch.

Configs are parsed (and ``adaptive --help`` starts) without importing the modelling
stack; only proposing trials needs it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

from adaptive._checks import is_integer
from adaptive.errors import ValidationError

if TYPE_CHECKING:
    from adaptive.space import SearchSpace


def _check_keys(table: Mapping[str, Any], settings: type, where: str) -> None:
    known = sorted(f.name for f in fields(settings))
    for key in table:
        if key not in known:
            raise ValidationError(f"{where}.{key}", table[key], f"unknown key; known: {known}")


METHODS = ("auto", "scipy", "torch")
BATCHES = ("auto", "sequential", "joint")


@dataclass(frozen=True)
class OptimizerSettings:
    """Multi-start maximization: ``raw_samples`` scored starts, the best ``num_restarts`` refined.

    Attributes:
        method: ``scipy`` (L-BFGS-B, one host round trip per iteration), ``torch`` (projected
            Adam, every restart in one tensor program on the device, see
            :mod:`adaptive.generation.batched`), or ``auto``: ``torch`` on a GPU for spaces of
            floats without linear constraints, ``scipy`` otherwise.
        batch: on the ``torch`` path, how a batch of ``q`` is chosen: ``sequential`` (one point
            at a time, the earlier ones pending, as on the SciPy path), ``joint`` (all ``q``
            points optimized together), or ``auto`` (see ``batched.JOINT_FROM``).
        maxiter: L-BFGS-B's iteration cap, or the number of Adam steps.
    """

    num_restarts: int = 16
    raw_samples: int = 512
    maxiter: int = 150
    method: str = "auto"
    batch: str = "auto"


@dataclass(frozen=True)
class GenerationSettings:
    """How an experiment proposes trials.

    Attributes:
        initial_trials: quasi-random trials per source before BO; ``None`` means
            ``max(5, 2 * number of searched parameters)``.
        min_observed: completed trials observing every objective needed before BO.
        center_first: make a source's first trial the centre of the search space (the
            middle of each range, geometric middle for log scales, the middle of ordered
            choices, the first unordered choice) when it satisfies the linear constraints.
            Ax does the same by default; the centre is often close to the current production
            config, and on the benchmark problems it was a better first point than a random one.
        mc_samples: quasi-MC samples for the acquisition function.
        warp_objective: with one objective, model it Yeo-Johnson-transformed for the
            acquisition (see :func:`~adaptive.generation.transforms.warp_single_objective`);
            predictions and reports stay in the metric's units either way.
        optimizer: multi-start settings for maximizing the acquisition function.
    """

    initial_trials: int | None = None
    min_observed: int = 2
    mc_samples: int = 128
    center_first: bool = True
    warp_objective: bool = True
    optimizer: OptimizerSettings = field(default_factory=OptimizerSettings)

    def __post_init__(self) -> None:
        for name in ("initial_trials", "min_observed", "mc_samples"):
            value = getattr(self, name)
            if value is None and name == "initial_trials":
                continue
            if not is_integer(value) or value < (1 if name != "initial_trials" else 0):
                raise ValidationError(f"generation.{name}", value, "must be a positive integer")
        for name in ("center_first", "warp_objective"):
            if not isinstance(getattr(self, name), bool):
                raise ValidationError(f"generation.{name}", getattr(self, name), "must be true or false")
        opt = self.optimizer
        if isinstance(opt, Mapping):
            _check_keys(opt, OptimizerSettings, "generation.optimizer")
            object.__setattr__(self, "optimizer", OptimizerSettings(**opt))
        elif not isinstance(opt, OptimizerSettings):
            raise ValidationError("generation.optimizer", opt, "must be a table of optimizer settings")
        for name in ("num_restarts", "raw_samples", "maxiter"):
            value = getattr(self.optimizer, name)
            if not is_integer(value) or value < 1:
                raise ValidationError(f"generation.optimizer.{name}", value, "must be a positive integer")
        for name, known in (("method", METHODS), ("batch", BATCHES)):
            value = getattr(self.optimizer, name)
            if value not in known:
                raise ValidationError(f"generation.optimizer.{name}", value, f"expected one of {list(known)}")

    def initial_for(self, space: SearchSpace) -> int:
        if self.initial_trials is not None:
            return self.initial_trials
        searched = sum(1 for p in space.parameters.values() if p.width > 0)
        return max(5, 2 * searched)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> GenerationSettings:
        """From a config's ``[generation]`` table; an unknown key is refused with its path."""
        data = dict(data or {})
        _check_keys(data, cls, "generation")  # the optimizer table is checked by __post_init__
        return cls(**data)
