"""The Starlette application behind ``adaptive serve``."""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from adaptive import serving
from adaptive._checks import is_number
from adaptive.errors import DuplicateNameError, NotFoundError, StorageError, ValidationError
from adaptive.service.auth import READ, WRITE, Tokens
from adaptive.service.exports import ExportCache
from adaptive.service.metrics import Metrics
from adaptive.service.policies import PolicySpec, ServedPolicy
from adaptive.storage import Database, open_database

logger = logging.getLogger(__name__)

MAX_MEMBER_ID_CHARS = 256
DECISION_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


@dataclass(frozen=True)
class ServiceSettings:
    """What a service process is configured with.

    Attributes:
        storage: database URL (the default SQLite file when None).
        tokens: accepted bearer tokens (:class:`~adaptive.service.auth.Tokens`); by default
            none, so a service built without them refuses every request (``Tokens(open=True)``
            serves without authentication).
        reload_interval: seconds between checks for a new export version of an experiment.
        max_batch: most member ids in one batch request.
        max_body_bytes: largest request body accepted.
        policies: bandit policies served at ``/v1/policies/{name}/decisions``
            (:func:`~adaptive.service.policies.load_policies`).
    """

    storage: str | None = None
    tokens: Tokens = field(default_factory=Tokens)  # none: every request is refused until given
    reload_interval: float = 10.0
    max_batch: int = 10_000
    max_body_bytes: int = 2 << 20
    policies: dict[str, PolicySpec] = field(default_factory=dict)


class RequestError(Exception):
    """A refused request: its HTTP status and the field and value at fault."""

    def __init__(self, status: int, field: str, value: Any, message: str) -> None:
        super().__init__(message)
        self.status, self.field, self.value, self.message = status, field, value, message


def _error(status: int, field: str, value: Any, message: str) -> JSONResponse:
    shown = value if isinstance(value, (int, float, bool)) or value is None else str(value)[:200]
    return JSONResponse({"error": {"field": field, "value": shown, "message": message}}, status_code=status)


Handler = Callable[[Request], Awaitable[Response]]


class _Service:
    def __init__(self, settings: ServiceSettings, database: Database) -> None:
        self.settings = settings
        self.database = database
        self.exports = ExportCache(database, settings.reload_interval)
        self.metrics = Metrics()
        self.policies = {name: ServedPolicy(spec) for name, spec in settings.policies.items()}
        self._decision_log: Any = None
        self._committer: Any = None

    @property
    def decision_log(self) -> Any:
        if self._decision_log is None:  # pandas and numpy load only where policies are served
            from adaptive.bandits.log import DecisionLog

            self._decision_log = DecisionLog(self.database)
        return self._decision_log

    @property
    def committer(self) -> Any:
        if self._committer is None:
            from adaptive.service.group_commit import GroupCommitter

            self._committer = GroupCommitter(self.decision_log)
        return self._committer

    def endpoint(self, template: str, scope: str | None) -> Callable[[Handler], Handler]:
        """Wrap a handler: authentication for ``scope``, JSON errors, timing and counting by route template."""

        def wrap(handler: Handler) -> Handler:
            async def run(request: Request) -> Response:
                start = time.perf_counter()
                try:
                    if scope is not None:
                        self._authorize(request, template, scope)
                    response = await handler(request)
                except RequestError as exc:
                    if exc.status in (401, 403):
                        logger.warning("%s %s refused (%d): %s", request.method, template, exc.status, exc.message)
                    response = _error(exc.status, exc.field, exc.value, exc.message)
                except NotFoundError as exc:
                    response = _error(404, exc.field, exc.value, str(exc))
                except DuplicateNameError as exc:
                    response = _error(409, exc.field, exc.value, str(exc))
                except ValidationError as exc:
                    response = _error(400, exc.field, exc.value, str(exc))
                except (StorageError, DBAPIError) as exc:  # the database, not the request: try again later
                    logger.warning("%s %s: storage unavailable: %s", request.method, template, type(exc).__name__)
                    response = _error(503, "storage", None, "the database is unavailable; try again")
                except Exception:
                    logger.exception("%s %s failed", request.method, template)
                    response = _error(500, "server", None, "internal error; see the service log")
                self.metrics.observe(request.method, template, response.status_code, time.perf_counter() - start)
                return response

            return run

        return wrap

    def _authorize(self, request: Request, template: str, scope: str) -> None:
        scopes = self.settings.tokens.scopes(request.headers.get("authorization"))
        if scopes is None:
            raise RequestError(401, "authorization", None, "a valid bearer token is required")
        if scope not in scopes:
            raise RequestError(403, "authorization", None, f"the token lacks the {scope!r} scope")

    async def json_body(self, request: Request) -> Any:
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise RequestError(413, "body", f"{declared} bytes", f"request bodies are limited to {limit} bytes")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise RequestError(413, "body", f"more than {limit} bytes", f"request bodies are limited to {limit} bytes")
            chunks.append(chunk)
        try:
            return json.loads(b"".join(chunks) or b"null", parse_constant=_no_constant)
        except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError is a ValueError
            raise RequestError(400, "body", None, f"not valid JSON: {exc}") from None

    def loaded(self, name: str) -> Any:
        loaded = self.exports.get(name)
        self.metrics.served_version(name, loaded.version)
        return loaded

    async def export(self, name: str) -> Any:
        """The export to answer from: straight from memory while fresh, else (re)loaded in a
        worker thread (a database round trip must not block the event loop)."""
        return self.exports.fresh(name) or await run_in_threadpool(self.loaded, name)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _at(value: Any, field: str = "at") -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise RequestError(400, field, value, "must be an ISO 8601 time, e.g. 2026-12-03T10:00:00Z")
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise RequestError(400, field, value, "must be an ISO 8601 time, e.g. 2026-12-03T10:00:00Z") from None
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def _member(value: Any, field: str) -> int | str:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise RequestError(400, field, value, "must be a string or an integer")
    if isinstance(value, str) and not 0 < len(value) <= MAX_MEMBER_ID_CHARS:
        raise RequestError(400, field, value, f"must have 1 to {MAX_MEMBER_ID_CHARS} characters")
    return value


def create_app(settings: ServiceSettings, *, database: Database | None = None) -> Starlette:
    """The service's ASGI application (run it with uvicorn: ``adaptive serve``)."""
    service = _Service(settings, database or open_database(settings.storage, create=False))
    endpoint = service.endpoint

    @endpoint("/v1/experiments/{name}/assignment", READ)
    async def assignment(request: Request) -> Response:
        name = request.path_params["name"]
        query = request.query_params
        raw = query.get("member_id")
        if raw is None:
            raise RequestError(400, "member_id", None, "is required, e.g. ?member_id=m-42")
        id_type = query.get("id_type", "str")
        if id_type not in ("str", "int"):
            raise RequestError(400, "id_type", id_type, "must be 'str' (hashed as text, the default) or 'int'")
        member: int | str = _member(raw, "member_id")
        if id_type == "int":
            try:
                member = int(raw)
            except ValueError:
                raise RequestError(400, "member_id", raw, "is not an integer (id_type=int)") from None
        at = _at(query.get("at"))
        loaded = await service.export(name)
        arm = serving.assign(loaded.distribution, member, at)
        return JSONResponse({
            "experiment": name, "version": loaded.version, "member_id": member, "arm": arm.name,
            "params": arm.params, "bucket": serving.bucket_index(at),
        })

    @endpoint("/v1/experiments/{name}/assignments", READ)
    async def assignments(request: Request) -> Response:
        name = request.path_params["name"]
        body = await service.json_body(request)
        if not isinstance(body, dict):
            raise RequestError(400, "body", None, 'must be an object: {"member_ids": [...], "at": optional}')
        unknown = sorted(set(body) - {"member_ids", "at"})
        if unknown:
            raise RequestError(400, unknown[0], body[unknown[0]], "unknown field; expected member_ids and at")
        ids = body.get("member_ids")
        if not isinstance(ids, list) or not ids:
            raise RequestError(400, "member_ids", None if ids is None else str(ids)[:50], "must be a non-empty list")
        if len(ids) > settings.max_batch:
            raise RequestError(413, "member_ids", f"{len(ids)} ids", f"at most {settings.max_batch} per request")
        members = [_member(m, f"member_ids[{i}]") for i, m in enumerate(ids)]
        at = _at(body.get("at"))
        loaded = await service.export(name)
        dist = loaded.distribution
        names = [a.name for a in dist.arms]
        # Hashed in vectors (numpy, loaded for the first batch): equal to assign() member by member.
        arms = [names[i] for i in serving.assign_many(dist, members, at).tolist()]
        return JSONResponse({
            "experiment": name, "version": loaded.version, "bucket": serving.bucket_index(at),
            "arms": arms, "params": {a.name: a.params for a in dist.arms},
        })

    @endpoint("/v1/experiments/{name}/distribution", READ)
    async def distribution(request: Request) -> Response:
        loaded = await service.export(request.path_params["name"])
        headers = {"ETag": loaded.etag, "Cache-Control": "no-cache"}
        matches = [t.strip() for t in request.headers.get("if-none-match", "").split(",")]
        if loaded.etag in matches or "*" in matches:
            return Response(status_code=304, headers=headers)
        return Response(loaded.body, media_type="application/json", headers=headers)

    def _object(body: Any, allowed: set[str], example: str) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise RequestError(400, "body", None, f"must be an object: {example}")
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise RequestError(400, unknown[0], body[unknown[0]], f"unknown field; expected {sorted(allowed)}")
        return body

    @endpoint("/v1/policies/{name}/decisions", WRITE)
    async def decisions(request: Request) -> Response:
        name = request.path_params["name"]
        served = service.policies.get(name)
        if served is None:
            raise RequestError(404, "name", name, "no such policy; policies come from 'adaptive serve --policies FILE'")
        body = _object(await service.json_body(request), {"context", "decision_id"},
                       '{"context": ..., "decision_id": optional}')
        decision_id = body.get("decision_id")
        if decision_id is not None and (not isinstance(decision_id, str) or not DECISION_ID.fullmatch(decision_id)):
            raise RequestError(400, "decision_id", decision_id, "must be 1 to 64 characters of A-Z a-z 0-9 _ . : -")
        context = served.check_context(body.get("context"))
        decision = await run_in_threadpool(served.choose, service.decision_log, context)
        # Logged before the answer leaves, in one transaction with the decisions that came meanwhile.
        logged_id = await service.committer.record(name, decision, context, decision_id)
        return JSONResponse(served.answer(decision, logged_id), status_code=201)

    @endpoint("/v1/rewards", WRITE)
    async def rewards(request: Request) -> Response:
        body = _object(await service.json_body(request), {"rewards", "metric"},
                       '{"rewards": [{"decision_id": ..., "value": ..., "at": optional}], "metric": optional}')
        metric = body.get("metric", "reward")
        if not isinstance(metric, str) or not 0 < len(metric) <= 200:
            raise RequestError(400, "metric", metric, "must be a name of 1 to 200 characters")
        items = body.get("rewards")
        if not isinstance(items, list) or not items:
            raise RequestError(400, "rewards", None if items is None else str(items)[:50], "must be a non-empty list")
        if len(items) > settings.max_batch:
            raise RequestError(413, "rewards", f"{len(items)} rewards", f"at most {settings.max_batch} per request")
        rows = []
        for i, item in enumerate(items):
            where = f"rewards[{i}]"
            item = _object(item, {"decision_id", "value", "at"}, '{"decision_id": ..., "value": ..., "at": optional}')
            decision_id, value = item.get("decision_id"), item.get("value")
            if not isinstance(decision_id, str) or not DECISION_ID.fullmatch(decision_id):
                raise RequestError(400, f"{where}.decision_id", decision_id, "must be a logged decision's id")
            if not is_number(value) or not math.isfinite(value):
                raise RequestError(400, f"{where}.value", value, "must be a finite number")
            rows.append((decision_id, float(value), _at(item.get("at"), f"{where}.at")))
        written = await run_in_threadpool(service.decision_log.record_rewards, rows, metric=metric)
        return JSONResponse({"recorded": written, "metric": metric}, status_code=201)

    @endpoint("/healthz", None)
    async def healthz(request: Request) -> Response:
        try:
            await run_in_threadpool(service.database.run, lambda s: s.execute(text("SELECT 1")), readonly=True)
        except Exception as exc:  # the database is what this reports on, whatever its failure
            logger.warning("health check: database unreachable: %s", type(exc).__name__)
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    @endpoint("/metrics", READ)
    async def metrics(request: Request) -> Response:
        counts = None
        if service.policies:  # decision counters where decisions are served
            counts = (service.committer.groups, service.committer.decisions)
        return PlainTextResponse(service.metrics.render(counts), media_type="text/plain; version=0.0.4")

    routes = [
        Route("/v1/experiments/{name}/assignment", assignment, methods=["GET"]),
        Route("/v1/experiments/{name}/assignments", assignments, methods=["POST"]),
        Route("/v1/experiments/{name}/distribution", distribution, methods=["GET"]),
        Route("/v1/policies/{name}/decisions", decisions, methods=["POST"]),
        Route("/v1/rewards", rewards, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    app = Starlette(routes=routes, exception_handlers={
        404: lambda request, exc: _error(404, "path", request.url.path, "no such route"),
        405: lambda request, exc: _error(405, "method", request.method, "method not allowed on this route"),
    })
    app.state.service = service
    return app
