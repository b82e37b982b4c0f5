"""``adaptive serve``: the parameter service over HTTP/JSON, for systems in any language.

Reads the same database as the rest of adaptive (SQLAlchemy only: a serving host needs
neither torch nor numpy for assignments; policies load numpy). Routes, all JSON:

- ``GET /v1/experiments/{name}/assignment?member_id=...[&id_type=int][&at=ISO-8601]``: the
  member's arm, its parameters and the export version; identical to
  ``adaptive.serving.assign`` for the same export.
- ``POST /v1/experiments/{name}/assignments`` with ``{"member_ids": [...], "at": ...}``:
  many members at once (ids as JSON strings or integers, hashed as ``assign`` hashes them).
- ``GET /v1/experiments/{name}/distribution``: the export document, its version as a strong
  ETag; ``If-None-Match`` with that ETag answers 304, so clients can cache it and assign
  locally with the documented hash (``adaptive.serving``'s module docstring).
- ``POST /v1/policies/{name}/decisions`` and ``POST /v1/rewards``: bandit policies from a
  TOML file (:mod:`adaptive.service.policies`), each decision logged before it is answered.
- ``GET /healthz``; ``GET /metrics`` (Prometheus text: requests, latency histogram, the
  export versions being served).

A new export version is served within ``reload_interval`` seconds of being stored, without a
restart; each request sees one whole version (the loaded export is swapped as one object).
Bearer tokens come from the environment (:mod:`adaptive.service.auth`).
"""

from adaptive.service.app import ServiceSettings, create_app

__all__ = ["ServiceSettings", "create_app"]
