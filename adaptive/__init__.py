"""adaptive: Bayesian optimization and bandits for online experiments, stored in SQL.

The public API is the list in ``__all__``; everything else may change. Names are
imported on first use, so ``import adaptive.serving`` in a serving process
loads neither torch nor numpy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "AdaptiveError": "adaptive.errors",
    "DuplicateNameError": "adaptive.errors",
    "NoAdaptiveDatabaseError": "adaptive.errors",
    "NotFoundError": "adaptive.errors",
    "SchemaVersionError": "adaptive.errors",
    "StorageError": "adaptive.errors",
    "StorageUnavailableError": "adaptive.errors",
    "TrialStateError": "adaptive.errors",
    "ValidationError": "adaptive.errors",
    "Experiment": "adaptive.experiment",
    "create_experiment": "adaptive.experiment",
    "delete_experiment": "adaptive.experiment",
    "list_experiments": "adaptive.experiment",
    "load_experiment": "adaptive.experiment",
    "ModelBest": "adaptive.analysis.predictions",
    "GenerationSettings": "adaptive.generation",
    "OptimizerSettings": "adaptive.generation",
    "Maximize": "adaptive.objectives",
    "Minimize": "adaptive.objectives",
    "Objective": "adaptive.objectives",
    "OutcomeConstraint": "adaptive.objectives",
    "Choice": "adaptive.space",
    "Fixed": "adaptive.space",
    "Float": "adaptive.space",
    "Int": "adaptive.space",
    "SearchSpace": "adaptive.space",
    "Database": "adaptive.storage",
    "Observation": "adaptive.trial",
    "Trial": "adaptive.trial",
    "TrialStatus": "adaptive.trial",
    "ServingDistribution": "adaptive.serving",
}
# public name -> the module it is (ad.ope and ad.plots live in the bandits and review folders)
_SUBMODULES = {"serving": "adaptive.serving", "bandits": "adaptive.bandits", "ope": "adaptive.bandits.ope",
               "plots": "adaptive.review.plots", "events": "adaptive.events"}

__all__ = sorted([*_EXPORTS, *_SUBMODULES])


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(_SUBMODULES[name])
    else:
        raise AttributeError(f"module 'adaptive' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # for type checkers and IDEs; at run time names load lazily
    from adaptive import bandits, events, serving
    from adaptive.bandits import ope
    from adaptive.errors import (
        AdaptiveError,
        DuplicateNameError,
        NoAdaptiveDatabaseError,
        NotFoundError,
        SchemaVersionError,
        StorageError,
        StorageUnavailableError,
        TrialStateError,
        ValidationError,
    )
    from adaptive.experiment import Experiment, create_experiment, delete_experiment, list_experiments, load_experiment
    from adaptive.generation import GenerationSettings, OptimizerSettings
    from adaptive.objectives import Maximize, Minimize, Objective, OutcomeConstraint
    from adaptive.review import plots
    from adaptive.serving import ServingDistribution
    from adaptive.space import Choice, Fixed, Float, Int, SearchSpace
    from adaptive.storage import Database
    from adaptive.trial import Observation, Trial, TrialStatus
