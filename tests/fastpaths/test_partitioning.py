"""The NumPy box decomposition gives BoTorch's cells bit for bit, and qLogNEHVI takes it for 3+ objectives."""

from __future__ import annotations

import pytest
import torch
from botorch.acquisition.multi_objective.logei import qLogNoisyExpectedHypervolumeImprovement
from botorch.acquisition.multi_objective.objective import IdentityMCMultiOutputObjective
from botorch.models import SingleTaskGP
from botorch.sampling import SobolQMCNormalSampler
from botorch.utils.multi_objective.box_decompositions.non_dominated import (
    FastNondominatedPartitioning,
    NondominatedPartitioning,
)

from adaptive._fastpaths import gp_fit
from adaptive._fastpaths.partitioning import NumpyCells, NumpyNondominatedPartitioning


def _fronts():
    g = torch.Generator().manual_seed(7)
    for m in (3, 4, 5):
        ref = torch.full((m,), 0.1, dtype=torch.float64)
        for n in (1, 6, 25):
            yield ref, torch.rand(n, m, generator=g, dtype=torch.float64)
            yield ref, torch.round(torch.rand(n, m, generator=g, dtype=torch.float64) * 4) / 4  # ties
        yield ref, -torch.rand(5, m, generator=g, dtype=torch.float64)  # nothing beyond the reference point
        yield ref, torch.empty(0, m, dtype=torch.float64)


@pytest.mark.parametrize("case", range(len(list(_fronts()))))
def test_cells_equal_botorch_exactly(case):
    ref, Y = list(_fronts())[case]
    expected, actual = FastNondominatedPartitioning(ref, Y=Y), NumpyNondominatedPartitioning(ref, Y=Y)
    assert torch.equal(actual.get_hypercell_bounds(), expected.get_hypercell_bounds())
    assert torch.equal(actual.compute_hypervolume(), expected.compute_hypervolume())
    if Y.shape[0] > 1 and (Y > ref).all(-1).sum() > 1:
        assert expected.get_hypercell_bounds().shape[1] > 2  # a real decomposition was compared
    # Adding points afterwards (BoTorch's incremental update) stays equal too.
    more = torch.rand(4, ref.shape[0], generator=torch.Generator().manual_seed(case), dtype=torch.float64)
    expected.update(more)
    actual.update(more)
    assert torch.equal(actual.get_hypercell_bounds(), expected.get_hypercell_bounds())


class _Numpy(NumpyCells, qLogNoisyExpectedHypervolumeImprovement):
    pass


def test_nehvi_takes_numpy_cells_and_keeps_botorchs_values():
    g = torch.Generator().manual_seed(3)
    X = torch.rand(16, 3, generator=g, dtype=torch.float64)
    Y = torch.stack([torch.sin(3 * X[:, 0]) + X[:, 1], X[:, 2] - X[:, 0] * X[:, 1], X[:, 1] * X[:, 2] - X[:, 0]], -1)
    model = SingleTaskGP(X, Y)
    gp_fit.fit(model, maxiter=100)
    model.eval()
    made = []
    original = NumpyNondominatedPartitioning._partition_space

    def spy(self):
        made.append(type(self))
        return original(self)

    NumpyNondominatedPartitioning._partition_space = spy
    try:
        out = []
        for cls in (qLogNoisyExpectedHypervolumeImprovement, _Numpy):
            out.append(cls(
                model=model, ref_point=torch.tensor([-0.5, -1.0, -1.0], dtype=torch.float64), X_baseline=X,
                objective=IdentityMCMultiOutputObjective(outcomes=[0, 1, 2]),
                sampler=SobolQMCNormalSampler(torch.Size([32]), seed=1),
            ))
    finally:
        NumpyNondominatedPartitioning._partition_space = original
    assert made == [NumpyNondominatedPartitioning] * 32  # one per posterior sample, only for _Numpy
    reference, numpy_cells = out
    assert torch.equal(numpy_cells.cell_lower_bounds, reference.cell_lower_bounds)
    candidates = torch.rand(20, 1, 3, generator=g, dtype=torch.float64)
    expected = reference(candidates)
    assert torch.isfinite(expected).all() and expected.std() > 0.01
    assert torch.equal(numpy_cells(candidates), expected)


def test_an_approximate_decomposition_stays_botorchs():
    acqf = _Numpy.__new__(_Numpy)
    acqf.p_class = NondominatedPartitioning  # what BoTorch chooses for alpha > 0
    assert acqf.p_class is NondominatedPartitioning
    acqf.p_class = FastNondominatedPartitioning
    assert acqf.p_class is NumpyNondominatedPartitioning
