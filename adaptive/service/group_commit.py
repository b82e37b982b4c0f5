"""Group commit of logged decisions: one transaction for every decision that arrived while the last one committed.

Each decision must be in the database before its response leaves (a killed worker loses no
acknowledged decision), and one transaction per decision made the commit the service's
limit (the figures, before and after, are in docs/serving.md).
Here one writer thread takes the first waiting decision at once, and with it every decision
queued behind it (up to ``max_group``), writes them in one transaction, and only then
answers each request. An idle service adds no wait; a busy one pays one commit per group.
A decision refused on its own (an id already logged) fails alone; a storage failure fails
the whole group, none of it acknowledged.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
from typing import Any

logger = logging.getLogger(__name__)

MAX_GROUP = 256


class GroupCommitter:
    """Queue of decisions to log, written by one thread in groups (see module doc)."""

    def __init__(self, log: Any, *, max_group: int = MAX_GROUP) -> None:
        """``log``: a :class:`~adaptive.bandits.log.DecisionLog`."""
        self._log = log
        self._max_group = max_group
        self._queue: queue.SimpleQueue[tuple[tuple[Any, ...], concurrent.futures.Future[str]]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.groups = 0  # transactions written, for /metrics and tests
        self.decisions = 0

    async def record(self, policy: str, decision: Any, context: Any, decision_id: str | None) -> str:
        """The decision's id once its group is committed; raises what kept it out."""
        self._ensure_started()
        future: concurrent.futures.Future[str] = concurrent.futures.Future()
        self._queue.put(((policy, decision, context, decision_id), future))
        return await asyncio.wrap_future(future)

    def _ensure_started(self) -> None:
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="decision-group-commit", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        while True:
            group = [self._queue.get()]  # waits for the first; takes what queued behind it
            while len(group) < self._max_group:
                try:
                    group.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._write(group)

    def _write(self, group: list[tuple[tuple[Any, ...], concurrent.futures.Future[str]]]) -> None:
        try:
            outcome = self._log.record_many([entry for entry, _ in group])
        except Exception as error:  # noqa: BLE001 - every waiting request gets the storage error
            logger.debug("group of %d decisions not written: %s", len(group), error)
            for _, future in group:
                future.set_exception(error)
            return
        self.groups += 1
        self.decisions += sum(not isinstance(result, Exception) for result in outcome)
        for (_, future), result in zip(group, outcome):
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)
