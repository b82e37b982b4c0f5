"""Which code path each fit and posterior took, counted for the suggest log and the round record.

The fast paths (closed-form fits, the plain-tensor posterior) each decide for themselves
whether a model has the structure they were verified on; when one declines, BoTorch's own
path runs, slower but equal. A BoTorch upgrade that changed a model's structure would make
every fast path decline without a sound: these counts (``adaptive rounds NAME``, the suggest
log line) make that visible.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator
from contextvars import ContextVar

_active: ContextVar[tuple[Counter[str], ...]] = ContextVar("adaptive_paths", default=())


@contextlib.contextmanager
def recording() -> Iterator[Counter[str]]:
    """Count the paths noted inside the block (nested blocks each count them too)."""
    counter: Counter[str] = Counter()
    token = _active.set((*_active.get(), counter))
    try:
        yield counter
    finally:
        _active.reset(token)


def note(path: str) -> None:
    """Record one use of ``path`` (e.g. ``"fit:closed-form"``, ``"fit:botorch"``)."""
    for counter in _active.get():
        counter[path] += 1


def bypasses(counts: Counter[str] | dict[str, int]) -> int:
    """How many of ``counts`` went BoTorch's generic way instead of a fast path."""
    return sum(n for path, n in counts.items() if path.endswith(":botorch"))
