"""Where tensors live: ``ADAPTIVE_DEVICE`` = ``auto`` | ``cpu`` | ``cuda[:N]``.

``auto`` means CUDA when it is there and the data is large enough for it to be faster
(:func:`device_for_data`), the CPU otherwise. A device named explicitly is always used.
"""

from __future__ import annotations

import os
import re

import torch

from adaptive.errors import ValidationError

ENV = "ADAPTIVE_DEVICE"
# Under ``auto``, experiments with fewer completed observations than this fit and propose on
# the CPU: below the measured crossover (docs/benchmarks.md, Device, has the figures) the CPU
# is faster, and a fresh process pays seconds to start CUDA on top, so the threshold sits at
# the crossover's low end.
CUDA_FROM_OBSERVATIONS = 200


def is_automatic(spec: str | torch.device | None = None) -> bool:
    """Whether ``spec`` (or ``$ADAPTIVE_DEVICE`` when None) leaves the choice to :func:`device_for_data`."""
    if isinstance(spec, torch.device):
        return False
    text = spec if spec is not None else os.environ.get(ENV, "auto")
    return text.strip().lower() == "auto"


def device_for_data(device: torch.device, *, automatic: bool, observations: int) -> torch.device:
    """``device``, or the CPU where the choice is automatic and ``observations`` are too few
    for CUDA to be faster (``CUDA_FROM_OBSERVATIONS``)."""
    if automatic and device.type == "cuda" and observations < CUDA_FROM_OBSERVATIONS:
        return torch.device("cpu")
    return device


def resolve_device(spec: str | torch.device | None = None) -> torch.device:
    """Turn a device spec (or ``$ADAPTIVE_DEVICE``, default ``auto``) into a ``torch.device``.

    Raises:
        ValidationError: the spec is malformed, or names a CUDA device that is not there.
    """
    if isinstance(spec, torch.device):
        return spec
    field = "device" if spec is not None else ENV
    text = (spec if spec is not None else os.environ.get(ENV, "auto")).strip().lower()
    if text == "auto":
        return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    if text == "cpu":
        return torch.device("cpu")
    match = re.fullmatch(r"cuda(?::(\d+))?", text)
    if not match:
        raise ValidationError(field, text, "expected 'auto', 'cpu', 'cuda' or 'cuda:N'")
    if not torch.cuda.is_available():
        raise ValidationError(field, text, "CUDA is not available here; use 'auto' or 'cpu'")
    index = int(match.group(1) or 0)
    if index >= torch.cuda.device_count():
        raise ValidationError(field, text, f"only {torch.cuda.device_count()} CUDA device(s) present")
    return torch.device("cuda", index)
