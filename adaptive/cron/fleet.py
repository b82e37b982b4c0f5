"""Rounds for a fleet of experiments: every due experiment's round, in one process.

``adaptive round --all`` reads each experiment's schedule (``[rounds] every = "1h"``) and
the start of its last round, and runs the rounds that are due in this process (one worker)
or on a bounded pool of worker processes, each of which imports torch and BoTorch once and
runs many rounds, so the fleet pays the imports once per worker instead of once per
experiment. Processes rather than threads: a round's fitting and acquisition hold the GIL
for much of their Python-level work, so threads of one process share one core's worth of
it. Each round holds its experiment's round lock as a single ``adaptive round``
does: several hosts started with the same command against one PostgreSQL database share
the fleet (a host skips an experiment another host holds, and a killed host's locks go
with its connections). One experiment's failure is recorded on its round and reported;
the others run on.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import time
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from adaptive._checks import is_integer
from adaptive.cron.config import RoundPolicy, Schedule, load_config
from adaptive.cron.rounds import RoundResult, run_round
from adaptive.errors import AdaptiveError, ValidationError
from adaptive.storage import Database, open_database
from adaptive.storage import repository as repo

logger = logging.getLogger(__name__)

MAX_WORKERS = 64


@dataclass
class FleetResult:
    """What one ``--all`` pass did: the rounds run (``rounds``; status BUSY where another
    host held the experiment, SKIPPED where another host ran it during this pass, ERROR
    where it failed, a definition that does not load included), the experiments not yet
    due, and the configs of ``config_dir`` that did not parse or apply (``failed``)."""

    rounds: list[RoundResult] = field(default_factory=list)
    not_due: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.rounds)

    @property
    def failures(self) -> int:
        """Rounds that failed and configs that could not be applied."""
        return self.count("ERROR") + len(self.failed)


def schedules(database: Database, names: Sequence[str] | None = None) -> list[Schedule]:
    """Every experiment's (or those in ``names``) schedule, read in one transaction."""

    def read(session):  # noqa: ANN001, ANN202 - a Database.run callback
        starts = repo.last_round_starts(session)
        out = []
        for name in names if names is not None else repo.experiment_names(session):
            spec = repo.get_experiment(session, name).spec
            out.append(Schedule(name, RoundPolicy.from_dict(spec.get("rounds")).every, starts.get(name)))
        return out

    return database.run(read, readonly=True)


def run_due_rounds(
    storage: str | Database | None = None, *, config_dir: str | Path | None = None, workers: int = 1,
    now: datetime | None = None,
) -> FleetResult:
    """Run the round of every due experiment (with ``config_dir``: apply each ``*.toml`` there
    first and run only those experiments) on ``workers`` processes (threads for an in-memory
    SQLite database, which other processes cannot open).

    Raises:
        ValidationError: ``workers`` is not an integer from 1 to 64, or ``config_dir`` is not a folder.
    """
    if not is_integer(workers) or not 1 <= workers <= MAX_WORKERS:
        raise ValidationError("workers", workers, f"must be an integer from 1 to {MAX_WORKERS}")
    start = time.perf_counter()
    database = open_database(storage)
    result = FleetResult()
    names = None
    if config_dir is not None:
        names = _apply_configs(Path(config_dir), database, result)
    began = datetime.now(timezone.utc)
    now = now or began
    due: list[Any] = []
    for schedule in schedules(database, names):
        (due if schedule.is_due(now) else result.not_due).append(schedule.experiment)
    logger.info("fleet: %d experiment(s) due, %d not yet, %d worker(s)", len(due), len(result.not_due), workers)

    in_memory = database.url.get_backend_name() == "sqlite" and database.url.database in (None, "", ":memory:")
    if workers == 1 or len(due) <= 1:
        finished_rounds: Any = (_one_round(database, name, began) for name in due)
        _collect(finished_rounds, result)
    elif in_memory:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="round") as threads:
            _collect(threads.map(lambda name: _one_round(database, name, began), due), result)
    else:
        url = database.url.render_as_string(hide_password=False)
        # spawn: a fresh interpreter per worker; forking a process whose torch or BLAS
        # already started threads can deadlock the child.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(workers, len(due)), mp_context=context, initializer=_start_worker,
                                 initargs=(url, workers, _logging_setup(), os.getpid())) as processes:
            futures = [(name, processes.submit(_round_in_worker, name, began)) for name in due]
            _collect((_outcome(name, future) for name, future in futures), result)
    result.seconds = time.perf_counter() - start
    return result


def _collect(finished_rounds: Any, result: FleetResult) -> None:
    for finished in finished_rounds:
        result.rounds.append(finished)
        logger.info("fleet: %r %s", finished.experiment, finished.status)


def _outcome(name: str, future: Future) -> RoundResult:
    """A worker's round, or an ERROR round when the worker process itself died (killed for
    memory, a crash in native code): the fleet goes on and reports it."""
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - BrokenProcessPool and kin: that experiment's failure only
        logger.error("fleet: the worker running %r died: %r", name, exc)
        return RoundResult(name, "ERROR", errors=[f"worker process died: {type(exc).__name__}"])


def _one_round(database: Database, name: str, began: datetime) -> RoundResult:
    try:
        return run_round(name, storage=database, skip_if_started_after=began)
    except Exception as exc:  # noqa: BLE001 - one experiment must not stop the fleet; recorded here
        logger.exception("fleet: the round of %r could not run", name)
        return RoundResult(name, "ERROR", errors=[f"{type(exc).__name__}: {exc}".splitlines()[0]])


_worker_database: Database | None = None


def _logging_setup() -> tuple[int, int, str | None]:
    """The caller's logging (root level, ``adaptive``'s level, the first handler's format), for workers."""
    root = logging.getLogger()
    formats = [h.formatter._fmt for h in root.handlers if h.formatter is not None]  # noqa: SLF001 - no public getter
    return root.level, logging.getLogger("adaptive").level, formats[0] if formats else None


def _start_worker(url: str, workers: int, setup: tuple[int, int, str | None], host: int) -> None:
    """A worker process: dies with its host, the caller's logging, its own connection pool,
    torch threads split between the workers, and torch imported now rather than inside the
    first round."""
    global _worker_database
    _die_with(host)
    root_level, adaptive_level, fmt = setup
    logging.basicConfig(level=root_level, format=fmt or logging.BASIC_FORMAT)
    logging.getLogger("adaptive").setLevel(adaptive_level)
    import torch

    torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))
    _worker_database = open_database(url)


def _die_with(host: int) -> None:
    """Ask Linux to SIGKILL this worker when its host process dies: a host killed mid-pass
    must take its rounds (and their locks) with it, as a single-process host does, instead
    of leaving workers to finish rounds nobody waits for."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != host:  # the host died before the request took effect
        os._exit(1)


def _round_in_worker(name: str, began: datetime) -> RoundResult:
    assert _worker_database is not None, "started without _start_worker"
    return _one_round(_worker_database, name, began)


def _apply_configs(folder: Path, database: Database, result: FleetResult) -> list[str]:
    from adaptive.cron.apply_config import apply_config

    if not folder.is_dir():
        raise ValidationError("config_dir", str(folder), "not a folder of TOML configs")
    names = []
    for path in sorted(folder.glob("*.toml")):
        try:
            names.append(apply_config(load_config(path), storage=database)[0].name)
        except AdaptiveError as exc:  # a bad config is that experiment's failure, not the fleet's
            logger.error("fleet: %s: %s", path.name, exc)
            result.failed[path.name] = str(exc).splitlines()[0]
    return names
