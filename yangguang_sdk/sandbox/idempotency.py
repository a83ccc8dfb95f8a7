"""HTTP idempotency of the sandbox API (DESIGN §3): stored answers, request fingerprints, keys in flight.

The app runs every POST that carries an ``Idempotency-Key`` through ``Idempotency.run``. The first
request with a key runs its operation; its answer (status and body, an error answer included) is
stored with the request's fingerprint for ``KEY_TTL`` on the sandbox clock. A replay with the same
key and fingerprint gets the stored answer again (``replayed`` True); the same key with another
fingerprint is 422 ``idempotency_key_reused``; a first request still running makes the second 409
``idempotency_request_in_progress`` (never stored, so a retry later gets the answer).

An operation that cannot run inside one transaction (``test_clock.advance``, which releases the
engine between the webhook attempts of its window) runs with ``atomic=False``: the key is first
claimed with an in-progress record (so a second request, in this process or another, gets the 409),
the operation runs, and its answer replaces the claim.

This module extends the engine the way ``delivery.py`` does, through its public extension points:
the answers are records of the ``idempotency`` table (``put_record`` / ``get_record``), written in
one ``atomic()`` transaction with the operation's own writes. An operation that raises a
``SandboxError`` has its writes rolled back (a savepoint) while its error answer is stored. The
engine itself knows nothing of keys, statuses or fingerprints.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .clock import format_ts, parse_ts
from .engine import Engine
from .errors import Conflict, Invalid, SandboxError

__all__ = ["Idempotency", "JSONText", "KEY_TTL", "TABLE", "IN_PROGRESS", "request_fingerprint"]

KEY_TTL = dt.timedelta(hours=24)
"""How long an answer is kept for its key (sandbox clock)."""
TABLE = "idempotency"
"""The engine store table of the stored answers (the name older sandbox files already use)."""
IN_PROGRESS = "idempotency_request_in_progress"
CLAIM_TTL = 120.0
"""Seconds (wall) after which the claim of a non-atomic operation whose process died is ignored."""

Json = dict[str, Any]


@dataclass(frozen=True)
class JSONText:
    """A body already encoded as JSON, stored and answered as this text. The store would otherwise
    encode the body's objects again inside the record: for a quote batch's answer (about 5 kB per
    quote) that was the largest cost of the route after the engine's own work."""

    text: str


Body = Json | JSONText
Answer = tuple[int, Body]
"""An HTTP status and a JSON body."""


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    """What an idempotency key is bound to: the method, the path and the raw body."""
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


class Idempotency:
    """Runs operations at most once per (tenant, key) over ``engine`` (module docstring).

    ``error_answer`` turns a ``SandboxError`` into the answer to store for it (the app's mapping of
    error kinds to statuses and bodies).
    """

    def __init__(self, engine: Engine, error_answer: Callable[[SandboxError], Answer]) -> None:
        self.engine = engine
        self._error_answer = error_answer
        self._inflight: set[tuple[str, str]] = set()
        self._inflight_lock = threading.Lock()

    def run(
        self, tenant: str, key: str, fingerprint: str, op: Callable[[], Answer], *, atomic: bool = True
    ) -> tuple[int, Body, bool]:
        """``(status, body, replayed)`` of ``op`` run once for ``(tenant, key)``. An op that raises a
        ``SandboxError`` has its error answer stored and the error raised again; its replay returns
        that answer like any other."""
        slot = (tenant, key)
        with self._inflight_lock:
            if slot in self._inflight:
                raise Conflict(
                    IN_PROGRESS,
                    "A request with this Idempotency-Key is still being processed; retry shortly.",
                )
            self._inflight.add(slot)
        try:
            if atomic:
                return self._run(tenant, key, fingerprint, op)
            return self._run_claimed(tenant, key, fingerprint, op)
        finally:
            with self._inflight_lock:
                self._inflight.discard(slot)

    def _run(
        self, tenant: str, key: str, fingerprint: str, op: Callable[[], Answer]
    ) -> tuple[int, Body, bool]:
        engine = self.engine
        error: SandboxError | None = None
        with engine.atomic(tenant):
            stored = self._stored(tenant, key, fingerprint)
            if stored is not None:
                return stored
            try:
                with engine.atomic(tenant):  # a savepoint: an error rolls back the op's writes only
                    status, body = op()
            except SandboxError as exc:
                if exc.code == IN_PROGRESS:
                    raise
                error = exc
                status, body = self._error_answer(exc)
            self._store(tenant, key, fingerprint, status, body)
        if error is not None:
            raise error
        return status, body, False

    def _run_claimed(
        self, tenant: str, key: str, fingerprint: str, op: Callable[[], Answer]
    ) -> tuple[int, Body, bool]:
        engine = self.engine
        with engine.atomic(tenant):
            stored = self._stored(tenant, key, fingerprint)
            if stored is not None:
                return stored
            self._store(tenant, key, fingerprint, None, {"claimed_at": time.time()})
        error: SandboxError | None = None
        try:
            status, body = op()
        except SandboxError as exc:
            error = exc
            status, body = self._error_answer(exc)
        except BaseException:
            with engine.atomic(tenant):
                engine.delete_record(TABLE, tenant, key)
            raise
        with engine.atomic(tenant):
            self._store(tenant, key, fingerprint, status, body)
        if error is not None:
            raise error
        return status, body, False

    def _stored(self, tenant: str, key: str, fingerprint: str) -> tuple[int, Body, bool] | None:
        """The stored answer of ``key`` (replayed), None if there is none; 422 for another request's
        key, 409 while a claimed operation runs."""
        stored = self.engine.get_record(TABLE, tenant, key)
        if stored is None or parse_ts(stored["expires_at"]) <= self.engine.now(tenant):
            return None
        if stored["fingerprint"] != fingerprint:
            raise Invalid(
                "idempotency_key_reused",
                "This Idempotency-Key was already used with a different request; use a new key.",
                param="Idempotency-Key",
            )
        if stored["status"] is None:
            if time.time() - float(stored["body"]["claimed_at"]) > CLAIM_TTL:
                return None  # its process died mid-operation
            raise Conflict(
                IN_PROGRESS, "A request with this Idempotency-Key is still being processed; retry shortly."
            )
        if "body_json" in stored:
            return int(stored["status"]), JSONText(stored["body_json"]), True
        return int(stored["status"]), stored["body"], True

    def _store(self, tenant: str, key: str, fingerprint: str, status: int | None, body: Body) -> None:
        now = self.engine.now(tenant)  # after the op: an advance of the clock moves it
        record: Json = {"key": key, "fingerprint": fingerprint, "status": status}
        if isinstance(body, JSONText):
            record["body_json"] = body.text  # one string for the store to write, not objects
        else:
            record["body"] = body
        record["created_at"] = format_ts(now)
        record["expires_at"] = format_ts(now + KEY_TTL)
        self.engine.put_record(TABLE, tenant, key, record)
