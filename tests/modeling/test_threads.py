"""The BLAS thread limit around fits and acquisition."""

from __future__ import annotations

import scipy.optimize  # noqa: F401 - loads SciPy's BLAS
from threadpoolctl import threadpool_info, threadpool_limits

from adaptive.modeling import single_threaded_blas


def _blas_threads() -> set[int]:
    return {info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"}


def test_blas_runs_single_threaded_inside_and_is_restored_after():
    with threadpool_limits(limits=2, user_api="blas"):
        assert _blas_threads(), "NumPy/SciPy should have loaded a BLAS"
        before = _blas_threads()
        with single_threaded_blas():
            assert _blas_threads() == {1}
            with single_threaded_blas():  # nested use keeps the limit
                assert _blas_threads() == {1}
            assert _blas_threads() == {1}
        assert _blas_threads() == before


def test_overlapping_blocks_restore_the_original_count_once_the_last_leaves():
    # Two suggests in two threads overlap without nesting: the first to enter leaves first.
    # Entered and left by hand here, in one thread, because OpenBLAS does not reliably show
    # a thread count set from a child thread to reads in that thread.
    with threadpool_limits(limits=2, user_api="blas"):
        before = _blas_threads()
        first, second = single_threaded_blas(), single_threaded_blas()
        first.__enter__()
        second.__enter__()
        first.__exit__(None, None, None)
        assert _blas_threads() == {1}, "the second block is still inside"
        second.__exit__(None, None, None)
        assert _blas_threads() == before
