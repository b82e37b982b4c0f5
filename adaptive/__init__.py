"""adaptive: Bayesian optimization and bandits for online experiments, stored in SQL.

The public API is the list in ``__all__``; everything else may change.
"""

from adaptive.errors import (
    AdaptiveError,
    DuplicateNameError,
    NotFoundError,
    SchemaVersionError,
    StorageError,
    StorageUnavailableError,
    TrialStateError,
    ValidationError,
)
from adaptive.experiment import Experiment, create_experiment, list_experiments, load_experiment
from adaptive.generation import GenerationSettings, OptimizerSettings
from adaptive.objectives import Maximize, Minimize, Objective, OutcomeConstraint
from adaptive.space import Choice, Fixed, Float, Int, SearchSpace
from adaptive.storage import Database
from adaptive.trial import Observation, Trial, TrialStatus

__version__ = "0.1.0"

__all__ = [
    "AdaptiveError",
    "Choice",
    "Database",
    "DuplicateNameError",
    "Experiment",
    "Fixed",
    "Float",
    "GenerationSettings",
    "Int",
    "Maximize",
    "Minimize",
    "NotFoundError",
    "Objective",
    "OptimizerSettings",
    "Observation",
    "OutcomeConstraint",
    "SchemaVersionError",
    "SearchSpace",
    "StorageError",
    "StorageUnavailableError",
    "Trial",
    "TrialStateError",
    "TrialStatus",
    "ValidationError",
    "create_experiment",
    "list_experiments",
    "load_experiment",
]
