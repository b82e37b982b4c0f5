"""Sticky assignment of members to configs from an exported distribution.

Stdlib only: a serving process imports this module without torch or numpy
(numpy is imported lazily by :func:`assign_many`, for arrays of integer ids).

A member keeps its arm for the whole time bucket (default one hour): the arm
is a pure function of (salt, member id, bucket index), computed the same way in
every process on every host::

    key    = member_id                    if it is an int (taken mod 2**64)
             FNV-1a-64(utf-8 of str(id))  otherwise
    h      = splitmix64(key ^ splitmix64(salt64 ^ bucket))
    u      = (h >> 11) / 2**53            uniform in [0, 1)
    arm    = first arm whose cumulative weight exceeds u

where ``salt64`` is FNV-1a-64 of the salt (default: the experiment's name) and
``bucket = floor(unix seconds of at / bucket seconds)``.
"""

from __future__ import annotations

import bisect
import json
import math
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
_MASK = (1 << 64) - 1
_FNV_OFFSET, _FNV_PRIME = 0xCBF29CE484222325, 0x100000001B3
DEFAULT_BUCKET = timedelta(hours=1)


def _fnv1a64(text: str) -> int:
    h = _FNV_OFFSET
    for byte in text.encode("utf-8"):
        h = ((h ^ byte) * _FNV_PRIME) & _MASK
    return h


def _splitmix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def member_key(member_id: int | str) -> int:
    """The 64-bit key of a member id (ints as themselves mod 2**64, anything else hashed as text)."""
    if isinstance(member_id, bool):
        raise ValueError(f"member_id={member_id!r}: use an int or a string")
    if isinstance(member_id, int):
        return member_id & _MASK
    return _fnv1a64(str(member_id))


@dataclass(frozen=True)
class Arm:
    """One config to serve and its share of members. ``predictions`` maps metric ->
    ``{"mean", "lower", "upper"}`` (model estimates, metric units)."""

    name: str
    params: dict[str, Any]
    weight: float
    predictions: dict[str, dict[str, float]]


@dataclass(frozen=True)
class ServingDistribution:
    """An exported distribution, ready to assign members. Build with :func:`load`."""

    experiment: str
    version: int
    created_at: str
    arms: tuple[Arm, ...]
    salt: str
    document: Mapping[str, Any]
    _cumulative: tuple[float, ...]

    @property
    def weights(self) -> list[float]:
        return [a.weight for a in self.arms]

    def to_json(self, path: str | Path | None = None) -> str:
        """The export document as JSON (schema version, experiment, time, model summary, arms)."""
        return to_json(self.document, path)


def _read_document(source: str | bytes | Path | Mapping[str, Any]) -> Any:
    if isinstance(source, Mapping):
        return source
    if isinstance(source, (str, bytes)) and source.lstrip()[:1] in ("{", "[", b"{", b"["):
        text, where = source, "source"
    elif isinstance(source, (str, Path)):
        path = Path(source)
        try:
            text, where = path.read_text(encoding="utf-8"), f"file {str(path)!r}"
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"source={str(source)!r}: cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    else:
        raise ValueError(f"source={type(source).__name__}: expected a file path, JSON text or a dict")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where}: not valid JSON ({exc})") from None
    except RecursionError:
        raise ValueError(f"{where}: JSON nested too deeply") from None


def _field(doc: Mapping[str, Any], name: str, kind: type | tuple[type, ...], where: str = "") -> Any:
    value = doc.get(name)
    if isinstance(value, bool) or not isinstance(value, kind):
        expected = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise ValueError(f"{where}{name}={value!r}: expected {expected}")
    return value


def load(source: str | bytes | Path | Mapping[str, Any]) -> ServingDistribution:
    """Read an exported distribution from a JSON file path, JSON text, or a parsed dict.

    Raises:
        ValueError: naming the field: an unreadable file or invalid JSON, an unknown
            schema version, a missing or mistyped field, no arms, or weights that are
            negative, not finite or too large to normalize.
    """
    doc = _read_document(source)
    if not isinstance(doc, Mapping):
        raise ValueError(f"document: expected a JSON object, got {type(doc).__name__}")
    version = doc.get("schema_version")
    if version != SCHEMA_VERSION or isinstance(version, bool):
        raise ValueError(f"schema_version={version!r}: this adaptive.serving reads version {SCHEMA_VERSION}")
    experiment = _field(doc, "experiment", str)
    export_version = _field(doc, "version", int)
    created_at = _field(doc, "created_at", str)
    salt = doc.get("salt")
    if salt is not None and not isinstance(salt, str):
        raise ValueError(f"salt={salt!r}: expected str")
    raw_arms = _field(doc, "arms", list)
    if not raw_arms:
        raise ValueError("arms=[]: a distribution needs at least one arm")
    arms = []
    for i, a in enumerate(raw_arms):
        if not isinstance(a, Mapping):
            raise ValueError(f"arms[{i}]={a!r}: expected an object with name, params, weight")
        where = f"arms[{i}]."
        name = _field(a, "name", str, where)
        params = _field(a, "params", Mapping, where)
        weight = float(_field(a, "weight", (int, float), where))
        predictions = a.get("predictions", {})
        if not isinstance(predictions, Mapping):
            raise ValueError(f"{where}predictions={predictions!r}: expected an object")
        if not math.isfinite(weight) or weight < 0:
            raise ValueError(f"arms.{name}.weight={weight!r}: weights must be finite and >= 0")
        arms.append(Arm(name, dict(params), weight, dict(predictions)))
    try:
        total = math.fsum(a.weight for a in arms)
    except OverflowError:
        total = math.inf
    if total <= 0:
        raise ValueError("arms: the weights sum to zero")
    if not math.isfinite(total):
        raise ValueError("arms: the weights sum to more than a float holds; they cannot be normalized")
    cumulative, running = [], 0.0
    for a in arms:
        running += a.weight / total
        cumulative.append(running)
    cumulative[-1] = 1.0
    return ServingDistribution(
        experiment=experiment, version=export_version, created_at=created_at, arms=tuple(arms),
        salt=salt or experiment, document=doc, _cumulative=tuple(cumulative),
    )


def bucket_index(at: datetime | None, bucket: timedelta = DEFAULT_BUCKET) -> int:
    """Index of the time bucket holding ``at`` (default: now, UTC; naive times are taken as UTC)."""
    seconds = bucket.total_seconds()
    if seconds <= 0:
        raise ValueError(f"bucket={bucket!r}: must be positive")
    at = at or datetime.now(timezone.utc)
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    return math.floor(at.timestamp() / seconds)


def _uniform(salt: str, key: int, bucket: int) -> float:
    mixed = _splitmix64(key ^ _splitmix64((_fnv1a64(salt) ^ bucket) & _MASK))
    return (mixed >> 11) / float(1 << 53)


def assign(
    dist: ServingDistribution, member_id: int | str, at: datetime | None = None, *, bucket: timedelta = DEFAULT_BUCKET
) -> Arm:
    """The arm for ``member_id`` at time ``at``: the same within a bucket, in any process."""
    u = _uniform(dist.salt, member_key(member_id), bucket_index(at, bucket))
    return dist.arms[min(bisect.bisect_right(dist._cumulative, u), len(dist.arms) - 1)]


def assign_many(
    dist: ServingDistribution, member_ids: Iterable[int | str] | Any, at: datetime | None = None, *,
    bucket: timedelta = DEFAULT_BUCKET,
) -> Any:
    """Arm indices (a numpy int array) for many members at once; equal to :func:`assign` member by member.

    Integer ids in a numpy array are hashed vectorized (millions per second); text ids by
    byte length, one vector step per byte (a list may mix integers and text).
    """
    import numpy as np

    ids = member_ids if isinstance(member_ids, np.ndarray) else np.asarray(list(member_ids), dtype=object)
    if ids.dtype.kind in "iu":
        keys = ids.astype(np.uint64, copy=False)
    else:
        keys = _member_keys(ids.tolist(), np)
    seed = _splitmix64((_fnv1a64(dist.salt) ^ bucket_index(at, bucket)) & _MASK)
    with np.errstate(over="ignore"):
        x = keys ^ np.uint64(seed)
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    u = (x >> np.uint64(11)).astype(np.float64) / float(1 << 53)
    return np.minimum(np.searchsorted(np.asarray(dist._cumulative), u, side="right"), len(dist.arms) - 1)


def _member_keys(ids: list[Any], np: Any) -> Any:
    """:func:`member_key` of each id (a uint64 array): integers as themselves, text by FNV-1a
    computed for all ids of one byte length at once (one vector step per byte)."""
    keys = np.empty(len(ids), dtype=np.uint64)
    texts, positions = [], []
    for i, m in enumerate(ids):
        if isinstance(m, bool):
            member_key(m)  # raises, naming the value
        if isinstance(m, int):
            keys[i] = m & _MASK
        else:
            texts.append(str(m).encode("utf-8"))
            positions.append(i)
    if not texts:
        return keys
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    order = np.argsort(lengths, kind="stable")
    where = np.asarray(positions)
    prime = np.uint64(_FNV_PRIME)
    with np.errstate(over="ignore"):
        for group in np.split(order, np.flatnonzero(np.diff(lengths[order])) + 1):
            n = int(lengths[group[0]])
            h = np.full(len(group), _FNV_OFFSET, dtype=np.uint64)
            if n:
                block = np.frombuffer(b"".join([texts[j] for j in group]), dtype=np.uint8).reshape(len(group), n)
                for column in range(n):
                    h = (h ^ block[:, column]) * prime
            keys[where[group]] = h
    return keys


def to_json(document: Mapping[str, Any], path: str | Path | None = None) -> str:
    """Serialize an export document (as stored in the database) to JSON; write it when ``path`` is given.

    The file is replaced atomically (see :func:`write_atomic`): a serving process
    reading it meanwhile sees the old document or the new one, never half of one.
    """
    text = json.dumps(document, indent=2, sort_keys=False)
    if path is not None:
        write_atomic(path, text + "\n")
    return text


def stage_file(path: str | Path, text: str) -> Path:
    """Write ``text`` to a new hidden file beside ``path`` (same folder, so a rename is atomic).

    The staged file has the mode of the file it will replace (0644 for a new one) and
    is on disk (fsync) when this returns. Raises ``OSError`` when the folder is missing
    or not writable, before anything else has changed.
    """
    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(f"{target} is a directory")
    fd, staged = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(staged, target.stat().st_mode & 0o777 if target.exists() else 0o644)
    except BaseException:
        Path(staged).unlink(missing_ok=True)
        raise
    return Path(staged)


def write_atomic(path: str | Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one rename (readers never see a partial file)."""
    staged = stage_file(path, text)
    try:
        os.replace(staged, path)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise


__all__ = [
    "SCHEMA_VERSION", "Arm", "ServingDistribution", "assign", "assign_many", "bucket_index", "load", "member_key",
    "to_json", "write_atomic",
]
