"""Fit one Gaussian process per metric (float64, unit-cube inputs, standardized outcomes).

A metric observed by several sources gets a multi-task GP over sources when
leave-one-out evidence says the other sources help the modelled one.

Known sems are used as fixed observation noise; unknown noise is inferred.
A fit that fails (non-PSD covariance, non-finite loss, optimizer error) is
retried from perturbed hyperparameters; after that :class:`ModelFitError`
lets the caller fall back.
"""

from __future__ import annotations

import hashlib
import logging
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
from botorch.exceptions import BotorchWarning, InputDataWarning
from botorch.fit import fit_gpytorch_mll
from botorch.models import ModelListGP, MultiTaskGP, SingleTaskGP
from botorch.models.model import Model
from botorch.optim.fit import fit_gpytorch_mll_scipy
from gpytorch.mlls import ExactMarginalLogLikelihood
from linear_operator.utils.warnings import NumericalWarning

from adaptive import _fastpaths
from adaptive import _paths as paths
from adaptive.errors import ModelFitError, ValidationError
from adaptive.modeling import categorical as categorical_model
from adaptive.modeling.corrected import build_corrected, source_scales
from adaptive.modeling.data import MetricData, metric_data
from adaptive.modeling.loo import loo_rmse
from adaptive.modeling.multitask import build_multitask, task_correlations
from adaptive.modeling.numerics import is_numerical
from adaptive.modeling.threads import single_threaded_blas
from adaptive.space import SearchSpace
from adaptive.trial import Trial

logger = logging.getLogger(__name__)

FIT_ATTEMPTS = 3
M = TypeVar("M", bound=Model)


class WarmStarts:
    """Hyperparameters of earlier fits, to start the next fit of the same model from, and the
    fits of unchanged data (:meth:`fitted`), kept in the database between suggests.

    ``Experiment.suggest`` reads them from the experiment's ``model_states`` and writes back
    what changed in the same transaction, so a cron round, a fresh process that loads the
    experiment, gets what a long-lived object had: each suggest refits the multi-source models
    (multi-task and bias-corrected) from where the last fit ended instead of from the priors
    (mostly shortening the multi-task GP's fit; the others are closed-form and fast), and the
    other sources' own GPs are restored, not refitted, while their rows are unchanged.
    Single-source fits start cold: they are fast anyway, and warm starts made
    multi-objective runs worse (DTLZ2-family hypervolume, 3 seeds). A state is reused only
    while the data have not grown much since it was saved (at most ``1.5 n + 5`` rows), so an
    early fit on few rows cannot steer a much later one. Proposals depend on the data, the
    seed and the stored states, whichever process makes them.

    Args:
        records: stored states, key -> (rows, state), as :meth:`records` wrote them.
    """

    # Fits of unchanged data kept for reuse (see fitted): a handful covers every other source
    # of every metric of an experiment.
    MAX_FITS = 32

    def __init__(self, records: Mapping[str, tuple[int, dict]] | None = None) -> None:
        self._states: dict[str, tuple[dict[str, torch.Tensor], int]] = {}
        self._fit_states: dict[str, dict[str, torch.Tensor]] = {}  # least recently used first
        self._fits: dict[str, Model] = {}
        self._changed: set[str] = set()
        for key, (rows, state) in (records or {}).items():
            kind, _, name = key.partition(":")
            if kind == _WARM:
                self._states[state["name"]] = (_tensors(state["parameters"]), rows)
            elif kind == _FIT:
                self._fit_states[name] = _tensors(state["parameters"])

    def fitted(self, data: MetricData, seed: int, fit: Callable[[], M], restore: Callable[[dict], M] | None = None) -> M:
        """``fit()``, or the model it returned before for the same rows and seed (in this process,
        or rebuilt by ``restore(parameters)`` from a stored fit).

        A fit is a function of its data and seed (fits seed torch's generator), so reusing
        it changes nothing but the time: the other sources' own GPs, refitted on every call
        although a simulator's rows rarely change between online trials, were a sixth of a
        multi-source suggest. The model is shared: callers must not change it.
        """
        key = _fingerprint(data, seed)
        model = self._fits.pop(key, None)
        if model is None and restore is not None and key in self._fit_states:
            try:
                model = restore(self._fit_states[key])
            except (KeyError, RuntimeError) as exc:
                # Stored by a version whose model had other parameters: fit afresh.
                logger.debug("stored fit %s does not fit the model (%s); refitting", key[:12], exc)
                model = None
        if model is None:
            model = fit()
            self._fit_states.pop(key, None)
            self._fit_states[key] = _parameters(model)
            self._changed.add(f"{_FIT}:{key}")
        self._fits[key] = model
        self._fit_states[key] = self._fit_states.pop(key)  # the most recently used last
        while len(self._fit_states) > self.MAX_FITS:
            old = next(iter(self._fit_states))  # the least recently used
            del self._fit_states[old]
            self._fits.pop(old, None)
        return model  # type: ignore[return-value]

    def load(self, key: str, model: Model, rows: int) -> bool:
        saved = self._states.get(key)
        if saved is None or rows > 1.5 * saved[1] + 5:
            return False
        state = saved[0]
        with torch.no_grad():
            for name, parameter in model.named_parameters():
                old = state.get(name)
                if old is not None and old.shape == parameter.shape:
                    parameter.copy_(old.to(parameter))
        return True

    def save(self, key: str, model: Model, rows: int) -> None:
        self._states[key] = (_parameters(model), rows)
        self._changed.add(f"{_WARM}:{_hash(key)}")

    def records(self, *, changed_only: bool = True) -> dict[str, tuple[int, dict]]:
        """States as JSON-ready records, key -> (rows, state): those changed since construction
        (or all). Keys fit a 200-character column."""
        out = {}
        for name, (parameters, rows) in self._states.items():
            key = f"{_WARM}:{_hash(name)}"
            if not changed_only or key in self._changed:
                out[key] = (rows, {"name": name, "parameters": _records(parameters)})
        for fingerprint, parameters in self._fit_states.items():
            key = f"{_FIT}:{fingerprint}"
            if not changed_only or key in self._changed:
                out[key] = (0, {"parameters": _records(parameters)})
        return {k: v for k, v in out.items() if _finite(v[1]["parameters"])}

    def keys(self) -> set[str]:
        """Every key :meth:`records` would write now (stored states beyond these are evicted)."""
        return {f"{_WARM}:{_hash(n)}" for n in self._states} | {f"{_FIT}:{f}" for f in self._fit_states}


_WARM, _FIT = "warm", "fit"


def _hash(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def _parameters(model: Model) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in model.named_parameters()}


def _records(parameters: dict[str, torch.Tensor]) -> dict[str, dict]:
    return {k: {"shape": list(v.shape), "values": v.reshape(-1).tolist()} for k, v in parameters.items()}


def _tensors(records: dict[str, dict]) -> dict[str, torch.Tensor]:
    return {k: torch.tensor(r["values"], dtype=torch.float64).reshape(r["shape"]) for k, r in records.items()}


def _finite(records: Any) -> bool:
    return all(math.isfinite(v) for r in records.values() for v in r["values"])


def _restore(build: Callable[[], M], parameters: dict[str, torch.Tensor]) -> M:
    """A model from ``build()`` with fitted ``parameters``, in eval mode: the fit, without fitting."""
    model = build()
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            parameter.copy_(parameters[name].to(parameter))
    model.eval()
    return model


def _fingerprint(data: MetricData, seed: int) -> str:
    digest = hashlib.sha256(f"{data.metric}|{seed}|{data.sources}".encode())
    for tensor in (data.X, data.Y, data.Yvar, data.task):
        digest.update(b"-" if tensor is None else tensor.detach().cpu().numpy().tobytes())
    return digest.hexdigest()


def _yvar(data: MetricData) -> torch.Tensor | None:
    if data.Yvar is None:
        return None
    # A zero sem makes the covariance singular; floor it relative to the data's own spread.
    floor = 1e-6 * float(data.Y.var()) if data.n > 1 else 0.0
    return data.Yvar.clamp_min(max(floor, 1e-12))


@dataclass(frozen=True)
class SourceChoice:
    """Which model a metric got when other sources had data for it, and the evidence.

    Attributes:
        metric: the metric.
        sources: source names by task index; ``sources[0]`` is the modelled source.
        model: ``"multi-task"`` or ``"bias-corrected"`` (all sources) or ``"single-source"``
            (``sources[0]`` only).
        reason: why, in words.
        loo_rmse_single: leave-one-out RMSE on the modelled source's rows from a model of
            its own data only (metric units; NaN when not computed).
        loo_rmse_multi: the same from the multi-task model over every source.
        loo_rmse_corrected: the same from the bias-corrected model.
        correlations: the multi-task model's learned correlation of each other source with
            the modelled one.
        scales: the bias-corrected model's weight of each other source.
        rows: rows per source.
    """

    metric: str
    sources: tuple[str, ...]
    model: str
    reason: str
    loo_rmse_single: float
    loo_rmse_multi: float
    loo_rmse_corrected: float
    correlations: dict[str, float]
    scales: dict[str, float]
    rows: dict[str, int]


MULTI_TASK = "multi-task"
BIAS_CORRECTED = "bias-corrected"
SINGLE_SOURCE = "single-source"
# Fewer modelled-source rows than this leave no evidence to judge by: the leave-one-out
# RMSE over 4 rows is uncertain by about 35% of itself, so a source that helps could not
# show it, and ignoring the sources from the first model-based proposal on steered the
# online-only search away for good (online/offline benchmark, additive problem, seed 5).
MIN_ROWS_TO_COMPARE = 5
# ... and fewer than this cannot choose between the two models with other sources either.
MIN_ROWS_FOR_LOO = 3
# ... and a model with other sources must beat the target-only one by this share at least.
MIN_IMPROVEMENT = 0.1
# Stopping the multi-task fit early (ftol 1e-6) was three times faster but left it in
# a worse optimum on some data (correlation 0.77 instead of 0.95 for a shifted
# simulator), which then lost the leave-one-out comparison: fits run to convergence.
FIT_OPTIONS = {"maxiter": 200}


@dataclass(frozen=True)
class SourceComparison:
    """The fitted candidates for a multi-source metric and the choice between them.
    ``others`` are the GPs of each other source alone (the bias-corrected model's mean)."""

    single: SingleTaskGP
    multi: MultiTaskGP
    corrected: SingleTaskGP
    others: dict[str, SingleTaskGP]
    choice: SourceChoice

    @property
    def chosen(self) -> Model:
        return {MULTI_TASK: self.multi, BIAS_CORRECTED: self.corrected, SINGLE_SOURCE: self.single}[self.choice.model]


def fit_metric_model(data: MetricData, *, seed: int = 0, warm: WarmStarts | None = None) -> Model:
    """A fitted GP for one metric, hyperparameters by maximum marginal likelihood.

    Single-source data gets a ``SingleTaskGP``. Multi-source data gets a multi-task or a
    bias-corrected GP when leave-one-out evidence on the modelled source's rows says the
    other sources help, else a ``SingleTaskGP`` on its own rows (see :func:`compare_sources`).

    Raises:
        ModelFitError: every attempt failed.
    """
    if data.is_multi_source:
        return compare_sources(data, seed=seed, warm=warm).chosen
    return _fit_single(data, seed=seed)


def compare_sources(data: MetricData, *, seed: int = 0, warm: WarmStarts | None = None) -> SourceComparison:
    """Fit three models of source 0 and choose by leave-one-out RMSE on its rows.

    Candidates: source 0's own data only; a multi-task GP over every source; and a
    bias-corrected GP whose prior mean is a learned combination of the other sources' GPs
    (:mod:`adaptive.modeling.corrected`). The better of the two models with other sources
    is used when it predicts source 0's held-out rows better than source 0's own model by
    more than the noise of that comparison (``1/sqrt(2n)`` relative for ``n`` rows, and
    ``MIN_IMPROVEMENT`` at least), so other sources are ignored unless they clearly help.
    With fewer than ``MIN_ROWS_TO_COMPARE`` rows that comparison has no power and the sources
    are used: the better of the two models with them by leave-one-out RMSE (the multi-task
    model below ``MIN_ROWS_FOR_LOO`` rows). The choice is logged.
    """
    own = data.only(0)
    if own.n == 0:
        raise ValidationError("metrics", data.metric, f"has no observation among completed {data.sources[0]!r} trials")
    single = _fit_single(own, seed=seed)
    multi = _fit(
        lambda: build_multitask(data, _yvar(data)), data.X[:1], name=f"{data.metric!r} (multi-task {data.sources})",
        seed=seed, warm=warm, rows=data.n,
    )
    others = {}
    for i, name in enumerate(data.sources[1:], start=1):
        source_rows = data.only(i)
        fit_source = lambda: _fit_single(source_rows, seed=seed)  # noqa: E731, B023 - called in this iteration
        restore = lambda p: _restore(lambda: _single_model(source_rows), p)  # noqa: E731, B023 - called in this iteration
        others[name] = warm.fitted(source_rows, seed, fit_source, restore) if warm else fit_source()
    corrected = _fit(
        lambda: build_corrected(own.X, own.Y, _yvar(own), list(others.values())), own.X[:1],
        name=f"{data.metric!r} (bias-corrected {data.sources})", seed=seed, warm=warm, rows=own.n,
    )
    rows = {name: int(data.rows_of(i).sum()) for i, name in enumerate(data.sources)}
    corr = task_correlations(multi)[0]
    correlations = {name: float(corr[i]) for i, name in enumerate(data.sources) if i}
    scales = {name: float(b) for name, b in zip(others, source_scales(corrected))}
    if own.n < MIN_ROWS_FOR_LOO:
        loo = {SINGLE_SOURCE: math.nan, MULTI_TASK: math.nan, BIAS_CORRECTED: math.nan}
        model, reason = MULTI_TASK, f"only {own.n} {data.sources[0]!r} rows: too few to compare, using every source"
    else:
        loo = {
            SINGLE_SOURCE: loo_rmse(single), MULTI_TASK: loo_rmse(multi, data.rows_of(0)),
            BIAS_CORRECTED: loo_rmse(corrected),
        }
        best = min((MULTI_TASK, BIAS_CORRECTED), key=lambda k: loo[k])
        # Other sources must earn their place: by more than the sampling error of an RMSE
        # over n rows (about 1/sqrt(2n) relative), and by MIN_IMPROVEMENT at least.
        needed = max(MIN_IMPROVEMENT, 1 / math.sqrt(2 * own.n))
        if own.n < MIN_ROWS_TO_COMPARE:
            model = best
            reason = (
                f"only {own.n} {data.sources[0]!r} rows: too few to judge whether other sources help "
                f"(leave-one-out errors uncertain by {needed:.0%}), using every source"
            )
        elif loo[best] < (1 - needed) * loo[SINGLE_SOURCE]:
            model, reason = best, f"the {best} model lowers the leave-one-out error the most"
        else:
            model = SINGLE_SOURCE
            reason = f"other sources do not lower the leave-one-out error by {needed:.0%}; ignoring them"
    choice = SourceChoice(
        data.metric, data.sources, model, reason, loo[SINGLE_SOURCE], loo[MULTI_TASK], loo[BIAS_CORRECTED],
        correlations, scales, rows,
    )
    logger.info(
        "metric %r: %s model (LOO RMSE on %r: single-source %.4g, multi-task %.4g, bias-corrected %.4g; "
        "correlations %s): %s",
        data.metric, model, data.sources[0], loo[SINGLE_SOURCE], loo[MULTI_TASK], loo[BIAS_CORRECTED],
        {k: round(v, 3) for k, v in correlations.items()}, reason,
    )
    return SourceComparison(single, multi, corrected, others, choice)


def _fit_single(data: MetricData, *, seed: int) -> SingleTaskGP:
    return _fit_outputs(data.X, data.Y, _yvar(data), name=repr(data.metric), seed=seed, categorical=data.categorical)


def _single_model(data: MetricData) -> SingleTaskGP:
    """The unfitted model :func:`_fit_single` fits (its prior hyperparameters)."""
    return _outputs_model(data.X, data.Y, _yvar(data), data.categorical)


def _outputs_model(
    X: torch.Tensor, Y: torch.Tensor, Yvar: torch.Tensor | None, categorical: Sequence[Sequence[int]] = (),
) -> SingleTaskGP:
    if not categorical:
        return SingleTaskGP(X, Y, train_Yvar=Yvar)
    return categorical_model.mixed_model(X, Y, Yvar, categorical)


def _fit_outputs(
    X: torch.Tensor, Y: torch.Tensor, Yvar: torch.Tensor | None, *, name: str, seed: int,
    categorical: Sequence[Sequence[int]] = (),
) -> SingleTaskGP:
    """Independent GPs for the ``m`` columns of ``Y`` (``n x m``), fitted jointly as one batch.
    With ``categorical`` one-hot groups, the kernel treats them as categories (:mod:`.categorical`)."""
    return _fit(lambda: _outputs_model(X, Y, Yvar, categorical), X[:1], name=name, seed=seed)


def _fit(
    build: Callable[[], M], probe: torch.Tensor, *, name: str, seed: int, warm: WarmStarts | None = None, rows: int = 0
) -> M:
    """Build and fit a model by maximum marginal likelihood (from ``warm``'s state for ``name``
    when there is one), retrying from perturbed lengthscales."""
    last: Exception | None = None
    for attempt in range(FIT_ATTEMPTS):
        try:
            # Some modules draw their initial values from torch's global generator (the
            # multi-task GP's inter-source covariance factor), and BoTorch's fallback resamples
            # from the priors: seed it, so a fit depends on the data and the seed only, not
            # on what ran before in the process.
            with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
                # A metric whose observations are all equal standardizes to zeros, and BoTorch
                # says the outcomes are "not standardized": expected (the GP is flat), not for users.
                warnings.filterwarnings("ignore", message=".*is not standardized", category=InputDataWarning)
                torch.manual_seed(seed + attempt)
                model = build()
            if attempt == 0 and warm is not None:
                warm.load(name, model, rows)
            if attempt:
                # Restart from randomly scaled lengthscales.
                generator = torch.Generator().manual_seed(seed + attempt)
                with torch.no_grad():
                    for kernel in model.covar_module.modules():
                        if getattr(kernel, "has_lengthscale", False):
                            ls: Any = kernel.lengthscale
                            kernel.lengthscale = ls * torch.exp(
                                torch.randn(ls.shape, generator=generator, dtype=ls.dtype).to(ls)
                            )
            path = _fastpaths.fit_path(model)
            paths.note(f"fit:{path}")
            with single_threaded_blas():
                if path in (_fastpaths.CLOSED_FORM, _fastpaths.CLOSED_FORM_CATEGORICAL):
                    _fastpaths.fit_closed_form(model, path, maxiter=FIT_OPTIONS["maxiter"])
                else:
                    mll = ExactMarginalLogLikelihood(model.likelihood, model)
                    # The lean paths: the same loss in plain tensors, BoTorch's optimizer.
                    closure = None if path == _fastpaths.BOTORCH else _fastpaths.mll_closure(mll, path)
                    with warnings.catch_warnings(), torch.random.fork_rng(devices=[]):
                        warnings.simplefilter("ignore", category=(BotorchWarning, NumericalWarning, RuntimeWarning, UserWarning))
                        torch.manual_seed(seed + attempt)
                        fit_gpytorch_mll(mll, closure=closure, optimizer=fit_gpytorch_mll_scipy,
                                         optimizer_kwargs={"options": FIT_OPTIONS})
            model.eval()
            with torch.no_grad(), warnings.catch_warnings():
                # A multi-task GP's first posterior in a process builds a sparse tensor, and torch
                # says once that it skips checking sparse tensors; nothing for the user to act on.
                warnings.filterwarnings("ignore", message="Sparse invariant checks", category=UserWarning)
                posterior = model.posterior(probe)
                if not torch.isfinite(posterior.mean).all() or not torch.isfinite(posterior.variance).all():
                    raise ModelFitError(f"non-finite posterior for {name}")
            if warm is not None:
                warm.save(name, model, rows)
            return model
        except Exception as exc:
            if not is_numerical(exc):
                raise  # a bug, not bad luck: retrying would hide it
            last = exc
            logger.info("fit of %s failed (attempt %d/%d): %s", name, attempt + 1, FIT_ATTEMPTS, exc)
    raise ModelFitError(f"could not fit a model for {name} after {FIT_ATTEMPTS} attempts: {last}") from last


def log_evidence(
    X: torch.Tensor, Y: torch.Tensor, Yvar: torch.Tensor | None = None, *,
    categorical: Sequence[Sequence[int]] = (), seed: int = 0,
) -> torch.Tensor:
    """The log likelihood of each column of ``Y`` (``n x m``), in ``Y``'s units, under an
    independent GP fitted to that column (hyperparameters by maximum marginal likelihood).

    That is the exact GP log marginal likelihood of the standardized column at the fitted
    hyperparameters, minus ``n`` times the log of the standardization's scale (its
    Jacobian). Columns that are different monotone transforms of one metric's values
    compare as models of those values once each transform's log-Jacobian is added: the
    warped-GP choice of an output transform (Snelson et al., 2004). Returns shape ``m``.

    Raises:
        ModelFitError: the fit failed.
    """
    model = _fit_outputs(X, Y, Yvar, name="a transform's evidence", seed=seed, categorical=categorical)
    model.train()
    try:
        with torch.no_grad():
            prior = model.likelihood(model(*model.train_inputs))
            log_likelihood = prior.log_prob(model.train_targets).reshape(-1)
    finally:
        model.eval()
    scale = model.outcome_transform.stdvs.reshape(-1)
    return log_likelihood - Y.shape[-2] * torch.log(scale)


def fit_each_metric(
    space: SearchSpace, trials: Sequence[Trial], metrics: Sequence[str], *, source: str, seed: int, device: torch.device
) -> dict[str, Model]:
    """One fitted GP per metric predicting ``source``, from its completed trials and, where
    they help (see :func:`compare_sources`), every other source's.

    Raises:
        ValidationError: a metric has no observation to learn from.
    """
    models: dict[str, Model] = {}
    for metric in metrics:
        data = metric_data(trials, space, metric, source=source, device=device, other_sources=True)
        if int(data.rows_of(0).sum()) == 0:
            raise ValidationError("metrics", metric, f"has no observation among completed {source!r} trials")
        models[metric] = fit_metric_model(data, seed=seed)
    return models


def fit_models(datas: Sequence[MetricData], *, seed: int = 0, warm: WarmStarts | None = None) -> Model:
    """Independent GPs, one per metric, outputs in the order given.

    When every metric was observed on the same trials and sems are known for all or
    none, the GPs are fitted as one batched multi-output model (one optimizer run, and
    batched posteriors during acquisition); otherwise as a list of single-output GPs.
    """
    first = datas[0]
    if len(datas) == 1:
        # A bare model, not a one-element list: BoTorch caches the baseline's root
        # decomposition for noisy acquisition only on non-list models.
        return fit_metric_model(first, seed=seed, warm=warm)
    if any(d.is_multi_source for d in datas):
        return _model_list(datas, seed, warm)
    same_rows = all(d.trial_ids == first.trial_ids for d in datas)
    same_noise = len({d.Yvar is None for d in datas}) == 1
    if len(datas) > 1 and same_rows and same_noise:
        Y = torch.cat([d.Y for d in datas], dim=-1)
        Yvar = None if first.Yvar is None else torch.cat([_yvar(d) for d in datas], dim=-1)
        return _fit_outputs(first.X, Y, Yvar, name=str([d.metric for d in datas]), seed=seed, categorical=first.categorical)
    return _model_list(datas, seed, warm)


def _model_list(datas: Sequence[MetricData], seed: int, warm: WarmStarts | None) -> Model:
    models: list[Any] = [fit_metric_model(d, seed=seed, warm=warm) for d in datas]
    return ModelListGP(*models)
