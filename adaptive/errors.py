"""Errors raised by adaptive.

::

    AdaptiveError
     ├── ValidationError (also ValueError)        bad input: names the field and the value
     │    ├── DuplicateNameError                  an experiment / parameter / metric name is taken
     │    ├── NotFoundError (also LookupError)    unknown experiment or trial
     │    └── TrialStateError                     e.g. completing a trial twice
     ├── StorageError                             the database, not the input
     │    ├── StorageUnavailableError             cannot connect
     │    ├── NoAdaptiveDatabaseError             a read found no database file or no schema
     │    └── SchemaVersionError                  database revision is not this code's head
     ├── RoundBusyError                           another round of the experiment holds its lock
     └── NumericalError                           numerical trouble in a model or an optimizer
          ├── ModelFitError                       a model could not be fitted after retries
          └── FastFitError                        a closed-form fast path failed (retried)

Every message says what failed, shows the value, and says what to do next.
A rejected call writes nothing.
"""

from __future__ import annotations

from typing import Any


class AdaptiveError(Exception):
    """Root of every error raised on purpose by adaptive."""


class ValidationError(AdaptiveError, ValueError):
    """Bad input. ``field`` names what was wrong and ``value`` holds it."""

    def __init__(self, field: str, value: Any, problem: str) -> None:
        self.field = field
        self.value = value
        self.problem = problem
        super().__init__(f"{field}={value!r}: {problem}")


class DuplicateNameError(ValidationError):
    """A name that must be unique is already used."""


class NotFoundError(ValidationError, LookupError):
    """An experiment or trial that does not exist was named."""


class TrialStateError(ValidationError):
    """A trial is not in the state the call needs (e.g. completing it twice)."""

    def __init__(self, field: str, value: Any, problem: str, *, experiment: str, status: str) -> None:
        self.experiment = experiment
        self.status = status
        super().__init__(field, value, problem)


class StorageError(AdaptiveError):
    """The database could not do what was asked."""


class StorageUnavailableError(StorageError, ConnectionError):
    """The database could not be reached. ``url`` has its password hidden."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        super().__init__(f"storage={url!r}: cannot connect ({reason}); check the URL and that the server is up")


class NoAdaptiveDatabaseError(StorageError):
    """The URL names no adaptive database yet (no SQLite file, or no adaptive schema); a
    read creates nothing."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        super().__init__(
            f"storage={url!r}: {reason}; nothing was created. Check the URL, or create an experiment "
            "there (adaptive create CONFIG, adaptive.create_experiment) or its schema "
            f"(adaptive db upgrade --storage '{url}')"
        )


class SchemaVersionError(StorageError):
    """The database schema is at a revision this code cannot use."""

    def __init__(self, url: str, current: str | None, head: str, advice: str) -> None:
        self.url = url
        self.current = current
        self.head = head
        super().__init__(
            f"storage={url!r} is at schema revision {current!r}, this adaptive needs {head!r}: {advice}"
        )


class RoundBusyError(AdaptiveError):
    """Another round of the same experiment holds the lock."""

    def __init__(self, experiment: str) -> None:
        self.experiment = experiment
        super().__init__(f"experiment {experiment!r}: another round is running; this one did nothing")


class NumericalError(AdaptiveError):
    """Numerical trouble (a covariance not positive definite, a non-finite optimum): not bad
    input and not a bug. Fits retry it; ``suggest`` falls back to quasi-random points on it."""


class ModelFitError(NumericalError):
    """A model could not be fitted after retries."""


class FastFitError(NumericalError):
    """A closed-form fit failed (the caller retries or falls back)."""
