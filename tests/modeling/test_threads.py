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


def test_overlapping_blocks_in_threads_restore_the_original_count_once_the_last_leaves():
    import threading

    before = _blas_threads()
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def first():
        with single_threaded_blas():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second():
        first_in.wait(5)
        with single_threaded_blas():
            second_in.set()
            first_out.wait(5)
            seen["after the first left"] = _blas_threads()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen["after the first left"] == {1}
    assert _blas_threads() == before
