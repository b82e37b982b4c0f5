"""Maximize an acquisition function in one tensor program on its device: the optimizer for GPUs.

SciPy's L-BFGS-B (:mod:`adaptive.generation.optimize`) hands every iteration to the host:
the acquisition is evaluated on the device, its value and gradient copied back, the
next point computed in NumPy and copied over again. On a GPU each evaluation is a few
hundred small kernels whose launch costs more than their arithmetic, and the host round
trip per iteration keeps the device idle in between, so a GPU was slower per point than
two CPU cores below a few hundred observations (docs/benchmarks.md, Device).

Here every restart, and for a batch every one of its ``q`` points, is one tensor
(``restarts x q x d``) moved by projected Adam on the unit cube for a fixed number of
steps, with a step size that decays over the run and the best value each restart reached
kept on the device; nothing comes back to the host until the end. On CUDA the whole step
(acquisition, its gradient, the update) is captured once as a CUDA graph and replayed,
which removes the launch overhead; where capture fails the same step runs eagerly (the
reason is logged once per process at INFO).

A batch is chosen point by point, the earlier points pending, as on the SciPy path; asked
for, all its ``q x d`` coordinates are optimized together instead (``joint``: much faster
for large batches on a GPU, but worse batches where measured, docs/benchmarks.md).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import os
import time
from collections.abc import Callable, Iterator

import torch
from botorch.acquisition import AcquisitionFunction
from botorch.optim.initializers import initialize_q_batch
from botorch.utils import safe_math
from torch import Tensor

from adaptive import _paths as paths
from adaptive._fastpaths import lean_posterior

logger = logging.getLogger(__name__)

GRAPHS_ENV = "ADAPTIVE_CUDA_GRAPHS"  # "0" turns CUDA graph capture off (eager steps)
BETAS = (0.9, 0.999)
EPS = 1e-8
# The step size (unit-cube units per step) falls from FIRST_STEP to LAST_STEP along a cosine:
# large enough early to leave a start's basin slope, small enough late to settle to ~1e-4.
FIRST_STEP = 0.05
LAST_STEP = 5e-4
# Batches of at least this many points are optimized jointly on CUDA by default (None: never);
# set from the H200 measurements in benchmarks/results/gpu_acquisition_cuda.md.
JOINT_FROM: int | None = None
WARMUP = 2  # eager steps before capture: they build the caches a step fills on first use
_capture_failures: set[str] = set()


def joint_by_default(q: int, device: torch.device) -> bool:
    """Whether a batch of ``q`` is optimized jointly when the settings leave it to us."""
    return device.type == "cuda" and JOINT_FROM is not None and q >= JOINT_FROM


def maximize_batched(
    acqf: AcquisitionFunction, d: int, q: int, *, raw_samples: int, num_restarts: int, steps: int, seed: int,
    device: torch.device, joint: bool = False, graphs: bool | None = None,
) -> Tensor:
    """The best ``q x d`` batch found (unit-cube coordinates) for ``acqf``.

    ``raw_samples`` quasi-random batches are scored, ``num_restarts`` of them drawn by
    BoTorch's Boltzmann rule, and all restarts refined together for ``steps`` Adam steps.
    ``joint``: all ``q`` points of a restart move together; otherwise one point at a time,
    the earlier ones pending (``acqf``'s pending points are restored afterwards).
    ``graphs``: capture the step as a CUDA graph (default: on CUDA unless ``$ADAPTIVE_CUDA_GRAPHS=0``).
    """
    if graphs is None:
        graphs = device.type == "cuda" and os.environ.get(GRAPHS_ENV, "1") != "0"
    if joint or q == 1:
        return _optimize(acqf, d, q, raw_samples, num_restarts, steps, seed, device, graphs)
    pending0 = getattr(acqf, "X_pending", None)
    chosen: list[Tensor] = []
    try:
        for i in range(q):
            if chosen:
                new = torch.cat(chosen)
                acqf.set_X_pending(new if pending0 is None else torch.cat([pending0, new]))
            chosen.append(_optimize(acqf, d, 1, raw_samples, num_restarts, steps, seed + i, device, graphs))
    finally:
        acqf.set_X_pending(pending0)
    return torch.cat(chosen)


def _optimize(
    acqf: AcquisitionFunction, d: int, q: int, raw_samples: int, num_restarts: int, steps: int, seed: int,
    device: torch.device, graphs: bool,
) -> Tensor:
    timing = logger.isEnabledFor(logging.DEBUG)
    begin = _clock(device) if timing else 0.0
    starts = _starts(acqf, d, q, raw_samples, num_restarts, seed, device)
    middle = _clock(device) if timing else 0.0
    best_X, best_value = _refine(acqf, starts, steps, graphs)
    best = best_X[int(best_value.argmax())].detach()
    if timing:
        logger.debug("q=%d: starts %.3fs, %d steps %.3fs (graphs %s)", q, middle - begin, steps, _clock(device) - middle, graphs)
    return best


def _clock(device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


def _starts(acqf: AcquisitionFunction, d: int, q: int, raw_samples: int, n: int, seed: int, device: torch.device) -> Tensor:
    """``n x q x d`` starting batches among ``raw_samples`` scrambled Sobol batches."""
    engine = torch.quasirandom.SobolEngine(q * d, scramble=True, seed=seed)
    raw = engine.draw(raw_samples, dtype=torch.float64).to(device).reshape(raw_samples, q, d)
    # Chunks bound the memory of a joint posterior over many large batches.
    chunk = max(1, 8192 // q)
    with torch.no_grad():
        values = torch.cat([acqf(part) for part in raw.split(chunk)])
    starts, _ = initialize_q_batch(raw, values, min(n, raw_samples))
    return starts


def _schedule(steps: int, device: torch.device) -> Tensor:
    """Step sizes with Adam's bias correction folded in, one per step (``steps + 1``; the last repeats)."""
    t = torch.arange(1, steps + 2, dtype=torch.float64, device=device)
    cosine = 0.5 * (1 + torch.cos(math.pi * (t - 1).clamp_max(steps - 1) / max(steps - 1, 1)))
    lr = LAST_STEP + (FIRST_STEP - LAST_STEP) * cosine
    return lr * torch.sqrt(1 - BETAS[1] ** t) / (1 - BETAS[0] ** t)


class _State:
    """Everything a step reads and writes, allocated once, so that a captured graph can replay it."""

    def __init__(self, starts: Tensor, steps: int) -> None:
        self.X = starts.detach().clone().requires_grad_(True)
        self.m = torch.zeros_like(starts)
        self.v = torch.zeros_like(starts)
        self.best_X = starts.detach().clone()
        self.best_value = torch.full(starts.shape[:1], -math.inf, dtype=starts.dtype, device=starts.device)
        self.schedule = _schedule(steps, starts.device)
        self.t = torch.zeros(1, dtype=torch.long, device=starts.device)


def _step(acqf: AcquisitionFunction, s: _State) -> None:
    """One projected Adam ascent step of every restart; no host synchronization."""
    value = acqf(s.X)  # restarts
    (grad,) = torch.autograd.grad(value.sum(), s.X)
    with torch.no_grad():
        better = torch.isfinite(value) & (value > s.best_value)
        s.best_value.copy_(torch.where(better, value, s.best_value))
        s.best_X.copy_(torch.where(better.reshape(-1, 1, 1), s.X, s.best_X))
        grad = torch.nan_to_num(grad, nan=0.0, posinf=0.0, neginf=0.0)
        s.m.mul_(BETAS[0]).add_(grad, alpha=1 - BETAS[0])
        s.v.mul_(BETAS[1]).addcmul_(grad, grad, value=1 - BETAS[1])
        size = s.schedule.index_select(0, s.t)
        s.X.add_(size * s.m / (s.v.sqrt() + EPS)).clamp_(0.0, 1.0)
        s.t.add_(1)


def _refine(acqf: AcquisitionFunction, starts: Tensor, steps: int, graphs: bool) -> tuple[Tensor, Tensor]:
    """Best point (``restarts x q x d``) and value (``restarts``) of each restart after ``steps`` steps."""
    state = _State(starts, steps)
    remaining = steps
    with lean_posterior.without_host_sync(), _unchecked_fat_maximum():
        if graphs and steps > WARMUP:
            replay = _capture(lambda: _step(acqf, state), warmup=WARMUP)
            remaining -= WARMUP  # run eagerly during the warm-up; capture records without running
            paths.note("acquisition-step:cuda-graph" if replay is not None else "acquisition-step:eager")
            if replay is not None:
                for _ in range(remaining):
                    replay()
                remaining = 0
        for _ in range(remaining):
            _step(acqf, state)
    # The last point reached is scored too (each step scores the point before its update).
    with torch.no_grad():
        value = acqf(state.X)
        better = torch.isfinite(value) & (value > state.best_value)
        best_X = torch.where(better.reshape(-1, 1, 1), state.X.detach(), state.best_X)
        best_value = torch.where(better, value, state.best_value)
    return best_X, best_value


@contextlib.contextmanager
def _unchecked_fat_maximum() -> Iterator[None]:
    """BoTorch's fat maximum (log-EI's q-reduction, log-EHVI's smooth minima) checks that its
    rational function gets no negative input, a read-back on every evaluation that a CUDA graph
    cannot hold; its callers only ever pass non-negative inputs (distances below the maximum),
    so the check is dropped within."""
    checked = safe_math._pareto
    safe_math._pareto = functools.partial(checked, check=False)
    try:
        yield
    finally:
        safe_math._pareto = checked


def _capture(step: Callable[[], None], warmup: int) -> Callable[[], None] | None:
    """``step`` as a CUDA graph's replay, after ``warmup`` eager runs on a side stream (which
    build every cache the step fills on first use); None, with the reason logged, if capture fails.

    The warm-up runs with PyTorch's synchronization check on, so a step that would read back
    from the device is caught before any capture starts. The capture registers a scratch copy of
    the CUDA generator's state, never the real one: a capture that fails leaves its generator
    in capture mode, and with the real one every later random draw of the process would fail.
    """
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    previous_mode = torch.cuda.get_sync_debug_mode()
    try:
        with torch.cuda.stream(stream):
            for i in range(warmup):
                # The first step may copy to the device as it fills caches; the last must not sync at all.
                torch.cuda.set_sync_debug_mode("error" if i == warmup - 1 else previous_mode)
                step()
    except RuntimeError as error:
        _log_capture_failure(error)
        return None
    finally:
        torch.cuda.set_sync_debug_mode(previous_mode)
        torch.cuda.current_stream().wait_stream(stream)
    torch.cuda.synchronize()
    generator = torch.cuda.default_generators[torch.cuda.current_device()]
    real_state = generator.graphsafe_get_state()
    generator.graphsafe_set_state(generator.clone_state())
    graph = torch.cuda.CUDAGraph()
    failure: BaseException | None = None
    try:
        with torch.cuda.stream(stream):
            # A private memory pool per graph, freed with it (a pool shared between graphs is
            # freed with the last graph that used it, and a later capture into it fails).
            graph.capture_begin()
            try:
                step()
            except Exception as error:  # noqa: BLE001 - the first error is the informative one
                failure = error
            try:
                graph.capture_end()
            except Exception as error:  # noqa: BLE001
                failure = failure or error
    except Exception as error:  # noqa: BLE001 - capture could not even begin
        failure = error
    finally:
        generator.graphsafe_set_state(real_state)
    if failure is not None:
        torch.cuda.synchronize()
        _log_capture_failure(failure)
        return None
    return graph.replay


def _log_capture_failure(error: BaseException) -> None:
    reason = f"{type(error).__name__}: {error}".splitlines()[0][:300]
    paths.note("acquisition-step:capture-failed")
    if reason not in _capture_failures:
        _capture_failures.add(reason)
        logger.info("CUDA graph capture of the acquisition step failed, running it eagerly: %s", reason)
        logger.debug("where the capture failed", exc_info=error)
