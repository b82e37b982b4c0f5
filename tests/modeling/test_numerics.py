"""The one jitter policy of our own factorizations, in NumPy and in torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from adaptive.errors import FastFitError
from adaptive.modeling import numerics


def _rank_one(n: int = 5) -> np.ndarray:
    v = np.random.default_rng(0).normal(size=(n, 1))
    return 3.0 * (v @ v.T)


def test_a_positive_definite_matrix_gets_no_jitter():
    K = _rank_one() + np.eye(5)
    (L, lower) = numerics.cho_factor(K)
    assert lower and np.allclose(np.tril(L) @ np.tril(L).T, K, atol=1e-12)
    Lt = numerics.cholesky(torch.as_tensor(K))
    torch.testing.assert_close(Lt @ Lt.T, torch.as_tensor(K), rtol=0, atol=1e-12)


def test_a_singular_matrix_gets_the_smallest_jitter_that_works():
    K = _rank_one()
    scale = np.mean(np.diag(K))
    (L, _) = numerics.cho_factor(K)
    jitter = np.diag(np.tril(L) @ np.tril(L).T - K)
    assert np.allclose(jitter, jitter[0])
    assert any(jitter[0] / scale == pytest.approx(j, rel=1e-3) for j in numerics.RELATIVE_JITTERS[1:])
    Lt = numerics.cholesky(torch.as_tensor(K))
    assert torch.isfinite(Lt).all()
    assert float(torch.diagonal(Lt @ Lt.T - torch.as_tensor(K)).mean()) / scale == pytest.approx(jitter[0] / scale, rel=1e-3)


def test_an_indefinite_matrix_raises_the_callers_error():
    K = -np.eye(3)
    with pytest.raises(FastFitError, match="not positive definite"):
        numerics.cho_factor(K, FastFitError)
    with pytest.raises(torch.linalg.LinAlgError):
        numerics.cholesky(torch.as_tensor(K))
