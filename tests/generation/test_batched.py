"""The torch-native optimizer: same proposals as SciPy's, a step a CUDA graph can hold, CUDA graphs where CUDA is."""

from __future__ import annotations

import copy
import traceback

import numpy as np
import pytest
import torch
from botorch.utils import safe_math
from linear_operator.utils.cholesky import psd_safe_cholesky
from torch.overrides import TorchFunctionMode

import adaptive as ad
from adaptive import _paths as paths
from adaptive._fastpaths import lean_posterior
from adaptive.generation import batched
from adaptive.generation.acquisition import acquisition_model, build_acquisition
from adaptive.generation.optimize import maximize
from adaptive.generation.settings import GenerationSettings, OptimizerSettings
from adaptive.modeling import MetricData, fit_models
from adaptive.objectives import OptimizationConfig

SPACE = ad.SearchSpace({f"x{i}": ad.Float(0.0, 1.0) for i in range(4)})
NEI = OptimizationConfig.build([ad.Minimize("f")], ["g <= 2.2"])
NEHVI = OptimizationConfig.build([ad.Minimize("f"), ad.Minimize("h")], ["g <= 2.2"])


def _datas(n: int = 24, seed: int = 0) -> list[MetricData]:
    generator = torch.Generator().manual_seed(seed)
    X = torch.rand(n, 4, generator=generator, dtype=torch.float64)
    f = torch.sin(6 * X[:, :1]) + (X[:, 1:2] - 0.3) ** 2 + 0.02 * torch.randn(n, 1, generator=generator, dtype=torch.float64)
    g = X.sum(-1, keepdim=True)
    h = (X - 0.8).norm(dim=-1, keepdim=True)
    ids = tuple(range(n))
    return [MetricData(name, X, y, torch.full_like(y, 1e-3), ids) for name, y in (("f", f), ("h", h), ("g", g))]


def _acquisition(config: OptimizationConfig, datas: list[MetricData], seed: int = 0):
    chosen = [d for d in datas if d.metric in config.metrics]
    chosen.sort(key=lambda d: config.metrics.index(d.metric))
    model, affine = acquisition_model(copy.deepcopy(fit_models(chosen)))
    ref = None
    if len(config.objectives) > 1:
        ref = torch.cat([-d.Y for d in chosen[: len(config.objectives)]], -1).min(0).values.numpy()
    return build_acquisition(model, config, X_baseline=chosen[0].X, X_pending=None, ref_point=ref, mc_samples=64,
                             seed=seed, affine=affine)


def _value(acqf, proposals) -> float:
    with torch.no_grad():
        return float(acqf(SPACE.encode(proposals).to(torch.float64).unsqueeze(0)))


@pytest.mark.parametrize("q", [1, 3])
def test_torch_path_proposes_batches_as_good_as_scipys(q):
    datas = _datas()
    values = {}
    for method in ("scipy", "torch"):
        torch.manual_seed(0)
        acqf = _acquisition(NEI, datas)
        with paths.recording() as counts:
            proposals = maximize(acqf, SPACE, q, settings=OptimizerSettings(method=method, batch="sequential"))
        assert len(proposals) == q and all(SPACE.is_feasible(p) for p in proposals)
        assert counts[f"optimizer:{'scipy' if method == 'scipy' else 'torch-sequential'}"] == 1
        assert acqf.X_pending is None  # pending points are restored after a sequential batch
        values[method] = _value(_acquisition(NEI, datas, seed=99), proposals)
    assert values["torch"] == pytest.approx(values["scipy"], abs=0.02), values


def test_joint_batches_move_every_point():
    datas = _datas()
    torch.manual_seed(1)
    proposals = maximize(_acquisition(NEI, datas), SPACE, 3, settings=OptimizerSettings(method="torch", batch="joint", maxiter=40))
    X = SPACE.encode(proposals)
    assert X.shape == (3, 4) and torch.cdist(X, X).fill_diagonal_(1.0).min() > 1e-3
    assert np.isfinite(_value(_acquisition(NEI, datas), proposals))


def test_torch_asked_for_on_a_space_it_does_not_cover_takes_scipy():
    space = ad.SearchSpace({"x0": ad.Float(0.0, 1.0), "x1": ad.Float(0.0, 1.0), "x2": ad.Int(0, 5), "x3": ad.Float(0.0, 1.0)})
    datas = _datas()
    torch.manual_seed(0)
    with paths.recording() as counts:
        proposals = maximize(_acquisition(NEI, datas), space, 1, settings=OptimizerSettings(method="torch"))
    assert counts["optimizer:scipy"] == 1 and isinstance(proposals[0]["x2"], int)


def test_auto_keeps_scipy_on_the_cpu():
    acqf = _acquisition(NEI, _datas())
    with paths.recording() as counts:
        maximize(acqf, SPACE, 1, settings=OptimizerSettings(maxiter=20))
    assert dict(counts) == {"optimizer:scipy": 1}


@pytest.mark.parametrize(("field", "value"), [("method", "lbfgs"), ("batch", "greedy")])
def test_unknown_optimizer_choices_are_refused(field, value):
    with pytest.raises(ad.ValidationError) as info:
        GenerationSettings(optimizer={field: value})
    assert info.value.field == f"generation.optimizer.{field}" and value in str(info.value)


def _factor(B: torch.Tensor, weights: torch.Tensor, *, sync_free: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """The Cholesky factor of ``B B^T + 0.05 I`` and the gradient of a weighted sum of it by ``B``."""
    A = B @ B.transpose(-1, -2) + 0.05 * torch.eye(B.shape[-2], dtype=torch.float64)
    if sync_free:
        with lean_posterior.without_host_sync():
            L = lean_posterior.cholesky(A)
    else:
        L = psd_safe_cholesky(A)
    (grad,) = torch.autograd.grad((L * weights).sum(), B)
    return L.detach(), grad


def test_sync_free_cholesky_equals_psd_safe_cholesky():
    generator = torch.Generator().manual_seed(3)
    for n in (1, 2, 7):
        B = torch.randn(5, 2, n, n + 1, dtype=torch.float64, generator=generator, requires_grad=True)
        weights = torch.randn(5, 2, n, n, dtype=torch.float64, generator=generator)
        (L1, g1), (L0, g0) = _factor(B, weights, sync_free=True), _factor(B, weights, sync_free=False)
        torch.testing.assert_close(L1, L0, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(g1, g0, rtol=1e-8, atol=1e-10)
    # Singular (rank one): the jitter ladder's first success, as psd_safe_cholesky's.
    v = torch.randn(4, 1, dtype=torch.float64, generator=generator)
    with lean_posterior.without_host_sync():
        L = lean_posterior.cholesky(v @ v.T)
    with pytest.warns(Warning):
        expected = psd_safe_cholesky(v @ v.T)
    torch.testing.assert_close(L, expected)
    # Indefinite beyond the ladder: NaN, never an exception or a read-back.
    with lean_posterior.without_host_sync():
        assert torch.isnan(lean_posterior.cholesky(-torch.eye(2, dtype=torch.float64))).all()


def test_the_step_context_restores_botorch_and_the_posterior_on_exit():
    checked = safe_math._pareto
    with pytest.raises(RuntimeError), lean_posterior.without_host_sync(), batched._unchecked_fat_maximum():
        assert safe_math._pareto is not checked and lean_posterior.host_sync_free()
        raise RuntimeError("boom")
    assert safe_math._pareto is checked and not lean_posterior.host_sync_free()
    with pytest.raises(ValueError, match="non-negative"):
        safe_math._pareto(torch.tensor([-1.0]), alpha=2.0)


READS = {torch.Tensor.item, torch.Tensor.__bool__, torch.Tensor.tolist, torch.Tensor.numpy, torch.Tensor.cpu,
         torch.Tensor.__int__, torch.Tensor.__float__, torch.Tensor.__index__, torch.Tensor.nonzero, torch.nonzero,
         torch.tensor, torch.as_tensor}
# Reads of tensors BoTorch keeps on the CPU whatever the model's device: no device round trip.
CPU_ONLY = ("eta > 0", "self.incremental_nehvi")


class _NoHostReads(TorchFunctionMode):
    """Fails on any read of a tensor's value by the host (on a GPU: a synchronization, which a CUDA
    graph cannot hold) and on tensors made from host data (a host-to-device copy)."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in READS:
            caller = " ".join(frame.line or "" for frame in traceback.extract_stack(limit=4))
            if not any(allowed in caller for allowed in CPU_ONLY):
                raise AssertionError(f"host read {func.__name__} in: {traceback.format_stack(limit=6)}")
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("config", [NEI, NEHVI], ids=["logNEI", "logNEHVI"])
@pytest.mark.parametrize("q", [1, 3])
def test_the_optimizer_step_never_reads_back_from_the_device(config, q, monkeypatch):
    import botorch.acquisition.multi_objective.logei as mo_logei

    # BoTorch's fused log-EHVI kernel is CPU-only; on a GPU the plain path runs, checked here.
    # Loaded first (once per process), so that the patch restores the loaded kernel for later tests.
    mo_logei._try_load_fused_kernel()
    monkeypatch.setattr(mo_logei, "_C", None)
    acqf = _acquisition(config, _datas())
    state = batched._State(torch.rand(6, q, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0)), 10)
    with lean_posterior.without_host_sync(), batched._unchecked_fat_maximum():
        batched._step(acqf, state)  # the first step fills caches (base samples, the factor's inverse)
        before = state.X.detach().clone()
        with _NoHostReads():
            batched._step(acqf, state)
    assert torch.isfinite(state.best_value).all() and not torch.equal(before, state.X.detach())
    assert int(state.t) == 2


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graphs need a CUDA device; none here")
def test_cuda_graph_path_matches_the_eager_one():
    device = torch.device("cuda")
    datas = [MetricData(d.metric, d.X.to(device), d.Y.to(device), d.Yvar.to(device), d.trial_ids) for d in _datas()]
    results = {}
    for graphs in (True, False):
        acqf = _acquisition(NEI, datas)
        with paths.recording() as counts:
            X = batched.maximize_batched(acqf, 4, 2, raw_samples=128, num_restarts=8, steps=40, seed=0, device=device,
                                         joint=False, graphs=graphs)
        results[graphs] = X.cpu()
        if graphs:
            assert counts["acquisition-step:cuda-graph"] == 2 and "acquisition-step:capture-failed" not in counts
    torch.testing.assert_close(results[True], results[False], rtol=1e-6, atol=1e-6)
    torch.randn(3, device=device)  # the CUDA generator still works after the captures
