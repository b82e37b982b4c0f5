"""Bearer tokens with read and write scopes, from the environment.

``ADAPTIVE_SERVE_READ_TOKENS`` and ``ADAPTIVE_SERVE_WRITE_TOKENS`` hold comma-separated
tokens; a write token may also read. With neither set the service refuses to start unless
told ``--insecure-no-auth`` (for a laptop). Tokens are compared in constant time and never
logged: a refused request is logged with its route and the reason only.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass

READ, WRITE = "read", "write"
READ_ENV, WRITE_ENV = "ADAPTIVE_SERVE_READ_TOKENS", "ADAPTIVE_SERVE_WRITE_TOKENS"
MIN_TOKEN_LENGTH = 16


def _split(text: str | None, variable: str) -> tuple[str, ...]:
    tokens = tuple(t.strip() for t in (text or "").split(",") if t.strip())
    for token in tokens:
        if len(token) < MIN_TOKEN_LENGTH:
            # The token itself is never echoed, only its length.
            raise ValueError(f"{variable}: a token of {len(token)} characters; use at least {MIN_TOKEN_LENGTH}")
    return tokens


@dataclass(frozen=True)
class Tokens:
    """The accepted tokens per scope; ``open`` means no authentication at all."""

    read: tuple[str, ...] = ()
    write: tuple[str, ...] = ()
    open: bool = False

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None, *, allow_open: bool = False) -> Tokens:
        """Tokens from ``ADAPTIVE_SERVE_READ_TOKENS`` / ``ADAPTIVE_SERVE_WRITE_TOKENS``.

        Raises:
            ValueError: no token is set and ``allow_open`` is False, or a token is too short.
        """
        environ = os.environ if environ is None else environ
        read, write = _split(environ.get(READ_ENV), READ_ENV), _split(environ.get(WRITE_ENV), WRITE_ENV)
        if not read and not write and not allow_open:
            raise ValueError(
                f"{READ_ENV} / {WRITE_ENV}: no token set; set them (comma-separated, {MIN_TOKEN_LENGTH}+ characters) "
                "or pass --insecure-no-auth on a machine nobody else reaches"
            )
        return cls(read=read, write=write, open=not read and not write)

    def scopes(self, authorization: str | None) -> frozenset[str] | None:
        """The scopes an ``Authorization`` header grants, or None when it names no valid token."""
        if self.open:
            return frozenset({READ, WRITE})
        if not authorization or not authorization.startswith("Bearer "):
            return None
        given = authorization[len("Bearer "):].strip().encode()
        # Check every token (no early exit) so the time does not tell which one came close.
        is_write = any([hmac.compare_digest(given, t.encode()) for t in self.write])
        is_read = any([hmac.compare_digest(given, t.encode()) for t in self.read])
        if is_write:
            return frozenset({READ, WRITE})
        return frozenset({READ}) if is_read else None
