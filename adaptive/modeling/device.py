"""Where tensors live: ``ADAPTIVE_DEVICE`` = ``auto`` (CUDA when available) | ``cpu`` | ``cuda[:N]``."""

from __future__ import annotations

import os
import re

import torch

from adaptive.errors import ValidationError

ENV = "ADAPTIVE_DEVICE"


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
