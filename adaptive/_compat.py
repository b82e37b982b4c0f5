"""The library versions the fast paths were verified against, and the one gate that checks them.

The fast paths (``modeling/fast_fit.py``, ``modeling/lean_mll.py``, ``modeling/categorical.py``'s
closed-form fit, ``modeling/lean_gp.py`` (with ``generation/lean_acquisition.py``), ``generation/single_point_ehvi.py``,
``generation/partitioning.py``) reproduce BoTorch's and GPyTorch's numbers in plain tensors
and lean on their internals; the parity tests (``tests/modeling/test_fast_fit.py``,
``test_lean_mll.py``, ``test_categorical.py``, ``tests/modeling/test_lean_gp.py``,
``test_single_point_ehvi.py``, ``test_partitioning.py``) check them against the library paths on the versions below, which ``pyproject.toml`` pins as upper bounds. On any
other version every fast path declines: BoTorch's own path runs (slower, same answers), one
warning says why, and the rounds count the detours (``slow_paths`` in ``adaptive status``).
"""

from __future__ import annotations

import functools
import logging
from importlib.metadata import PackageNotFoundError, version

logger = logging.getLogger(__name__)

# package -> the major.minor series the parity tests passed on
VERIFIED = {"botorch": "0.18", "gpytorch": "1.15", "linear_operator": "0.6"}


def _series(text: str) -> str:
    return ".".join(text.split("+")[0].split(".")[:2])


@functools.cache
def fast_paths_verified() -> bool:
    """Whether the installed BoTorch, GPyTorch and linear_operator are the series the fast
    paths were verified on (checked once per process)."""
    off = []
    for package, series in VERIFIED.items():
        try:
            installed = version(package)
        except PackageNotFoundError:
            installed = "absent"
        if _series(installed) != series:
            off.append(f"{package} {installed} (verified: {series}.x)")
    if off:
        logger.warning("fast paths off, BoTorch's own paths used (slower, same answers): %s", ", ".join(off))
    return not off
