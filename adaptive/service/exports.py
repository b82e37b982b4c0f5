"""The export versions a service answers from, reloaded from the database as they change."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass

from adaptive import serving
from adaptive.storage import Database
from adaptive.storage import repository as repo


@dataclass(frozen=True)
class LoadedExport:
    """One export version, parsed once: what every request for it reads."""

    experiment: str
    version: int
    distribution: serving.ServingDistribution
    body: bytes  # the document as JSON, served as is
    etag: str


class ExportCache:
    """The newest export of each experiment asked for, checked again at most every
    ``interval`` seconds (one small query: the newest version number) and replaced as one
    object when it changed, so a request sees one whole version, never parts of two."""

    def __init__(self, database: Database, interval: float) -> None:
        self.database = database
        self.interval = interval
        self._entries: dict[str, tuple[float, LoadedExport]] = {}
        self._lock = threading.Lock()

    def fresh(self, name: str) -> LoadedExport | None:
        """The loaded export when it was checked within the interval, else None (no database
        access: answers from it need no worker thread)."""
        entry = self._entries.get(name)
        return entry[1] if entry is not None and time.monotonic() - entry[0] < self.interval else None

    def get(self, name: str) -> LoadedExport:
        """The export to serve for ``name``.

        Raises:
            NotFoundError: no such experiment, or it has no export yet.
        """
        now = time.monotonic()
        entry = self._entries.get(name)
        if entry is not None and now - entry[0] < self.interval:
            return entry[1]
        with self._lock:  # one reload per experiment at a time; the others wait for it
            entry = self._entries.get(name)
            if entry is not None and now - entry[0] < self.interval:
                return entry[1]
            current = entry[1] if entry is not None else None
            loaded = self.database.run(lambda s: self._load(s, name, current), readonly=True)
            self._entries[name] = (time.monotonic(), loaded)
            return loaded

    @staticmethod
    def _load(session, name: str, current: LoadedExport | None) -> LoadedExport:  # noqa: ANN001 - a SQLAlchemy Session
        experiment = repo.get_experiment(session, name)
        version = repo.latest_export_version(session, experiment)
        if current is not None and current.version == version:
            return current
        document = repo.get_export(session, experiment)  # NotFoundError when there is none
        distribution = serving.load(document)
        body = json.dumps(document, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()
        return LoadedExport(name, distribution.version, distribution, body, f'"{distribution.version}"')
