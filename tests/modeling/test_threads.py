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
