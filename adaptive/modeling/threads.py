"""One BLAS thread for the small dense problems of fitting and acquisition.

SciPy's L-BFGS-B (model fits, BoTorch's acquisition optimizer) calls OpenBLAS on
vectors of a few dozen entries, hundreds of times per ``suggest``. OpenBLAS still
wakes its thread pool for them; on a busy host (two processes on two cores, as in the
benchmarks, or several cron workers on one machine) each call then waits for a core,
and a suggest takes measurably longer (docs/benchmarks.md has the figures). Torch's own
thread count is left to the caller.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from threadpoolctl import ThreadpoolController

_lock = threading.Lock()
_controller: ThreadpoolController | None = None
_limiter: Any = None
_depth = 0


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Limit NumPy's and SciPy's BLAS to one thread inside the block (microseconds to enter).

    The limit is process-wide: with several threads inside at once it holds until the last
    one leaves, and only then are the original thread counts restored.
    """
    global _controller, _limiter, _depth
    with _lock:
        if _controller is None:
            # Created on first use, once SciPy's BLAS is loaded; inspecting the loaded
            # libraries takes milliseconds, switching their thread count microseconds.
            import scipy.optimize  # noqa: F401 - loads SciPy's own OpenBLAS before the scan

            _controller = ThreadpoolController()
        if _depth == 0:
            _limiter = _controller.limit(limits=1, user_api="blas")
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                _limiter.restore_original_limits()
                _limiter = None
