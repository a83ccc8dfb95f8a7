"""Inboxes: where a receiver remembers which events it has processed, so each runs once.

A worker ``claim``s an event before running its function: the claim succeeds when the event is not
done and nobody else holds a live lease on it. Success ``complete``s the event; failure
``release``s it so the insurer's next delivery can try again. A lease that is never completed or
released (the worker crashed) expires after ``lease_seconds``.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ..errors import ParameterError

if TYPE_CHECKING:
    import sqlite3

__all__ = ["DEFAULT_LEASE_SECONDS", "Inbox", "MemoryInbox", "SQLiteInbox", "check_lease"]

DEFAULT_LEASE_SECONDS = 60.0
"""How long a claim lasts without being completed or released; longer than your slowest function."""


@runtime_checkable
class Inbox(Protocol):
    """What ``WebhookHandler`` needs to run each event's function exactly once."""

    def claim(self, event_id: str) -> bool:
        """True if this worker may process the event now: it is not done and no live lease is held."""
        ...

    def complete(self, event_id: str) -> None:
        """Mark the event done: later claims return False."""
        ...

    def release(self, event_id: str) -> None:
        """Give up this worker's claim after a failure, so a redelivery can claim it at once."""
        ...

    def is_done(self, event_id: str) -> bool:
        """True once the event has been completed."""
        ...


def check_lease(lease_seconds: float) -> float:
    """``lease_seconds`` as a float, or ParameterError unless it is a positive number (every inbox)."""
    if (
        isinstance(lease_seconds, bool)
        or not isinstance(lease_seconds, (int, float))
        or not lease_seconds > 0
    ):
        raise ParameterError("must be a positive number of seconds", param="lease_seconds")
    return float(lease_seconds)


class MemoryInbox:
    """An in-process inbox (thread-safe). Forgets everything on restart, and is not shared between
    processes: use ``SQLiteInbox`` or ``PostgresInbox`` for that."""

    def __init__(
        self, lease_seconds: float = DEFAULT_LEASE_SECONDS, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.lease_seconds = check_lease(lease_seconds)
        self._clock = clock
        self._lock = threading.Lock()
        self._done: set[str] = set()
        self._leases: dict[str, float] = {}  # event id -> lease expiry

    def __repr__(self) -> str:
        return f"MemoryInbox(done={len(self._done)}, leased={len(self._leases)})"

    def claim(self, event_id: str) -> bool:
        with self._lock:
            if event_id in self._done:
                return False
            now = self._clock()
            lease = self._leases.get(event_id)
            if lease is not None and lease > now:
                return False
            self._leases[event_id] = now + self.lease_seconds
            return True

    def complete(self, event_id: str) -> None:
        with self._lock:
            self._done.add(event_id)
            self._leases.pop(event_id, None)

    def release(self, event_id: str) -> None:
        with self._lock:
            self._leases.pop(event_id, None)

    def is_done(self, event_id: str) -> bool:
        with self._lock:
            return event_id in self._done


_SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS yangguang_webhook_inbox (
    event_id     TEXT PRIMARY KEY,
    status       TEXT NOT NULL CHECK (status IN ('processing', 'done')),
    token        TEXT,
    lease_until  REAL NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    created_at   REAL NOT NULL,
    completed_at REAL
)
"""

_SQLITE_CLAIM = """
INSERT INTO yangguang_webhook_inbox (event_id, status, token, lease_until, attempts, created_at)
VALUES (?1, 'processing', ?2, ?3 + ?4, 1, ?3)
ON CONFLICT (event_id) DO UPDATE
    SET token = excluded.token, lease_until = excluded.lease_until, attempts = attempts + 1
    WHERE status <> 'done' AND lease_until <= ?3
"""

_SQLITE_COMPLETE = """
INSERT INTO yangguang_webhook_inbox (event_id, status, token, lease_until, attempts, created_at, completed_at)
VALUES (?1, 'done', NULL, ?2, 1, ?2, ?2)
ON CONFLICT (event_id) DO UPDATE SET status = 'done', token = NULL, completed_at = ?2
"""


class SQLiteInbox:
    """An inbox in a SQLite file, shared safely by the threads and processes of one machine.

    Each operation opens its own connection and runs in a ``BEGIN IMMEDIATE`` transaction, so
    concurrent claims of one event serialise on SQLite's write lock; the lease clock is this
    machine's wall clock.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        *,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        path = os.fspath(path)
        if not isinstance(path, str) or not path or path == ":memory:" or path.startswith("file::memory:"):
            raise ParameterError(
                "must be a file path; an in-memory SQLite database is not shared, use MemoryInbox()",
                param="path",
            )
        self.path = path
        self.lease_seconds = check_lease(lease_seconds)
        self._timeout = timeout
        self._clock = clock
        self._tokens: dict[str, str] = {}
        self._tokens_lock = threading.Lock()
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(_SQLITE_SCHEMA)

    def __repr__(self) -> str:
        return f"SQLiteInbox({self.path!r}, lease_seconds={self.lease_seconds})"

    def _connect(self) -> _SQLiteConnection:
        return _SQLiteConnection(self.path, self._timeout)

    def claim(self, event_id: str) -> bool:
        token = uuid.uuid4().hex
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            claimed = (
                conn.execute(_SQLITE_CLAIM, (event_id, token, self._clock(), self.lease_seconds)).rowcount
                == 1
            )
        if claimed:
            with self._tokens_lock:
                self._tokens[event_id] = token
        return claimed

    def complete(self, event_id: str) -> None:
        with self._tokens_lock:
            self._tokens.pop(event_id, None)
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(_SQLITE_COMPLETE, (event_id, self._clock()))

    def release(self, event_id: str) -> None:
        with self._tokens_lock:
            token = self._tokens.pop(event_id, None)
        if token is None:
            return
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                "UPDATE yangguang_webhook_inbox SET lease_until = 0, token = NULL "
                "WHERE event_id = ? AND token = ? AND status <> 'done'",
                (event_id, token),
            )

    def is_done(self, event_id: str) -> bool:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT status FROM yangguang_webhook_inbox WHERE event_id = ?", (event_id,)
            ).fetchone()
        return row is not None and row[0] == "done"


class _SQLiteConnection:
    """A connection for one operation: commits on success, rolls back on error, always closes."""

    def __init__(self, path: str, timeout: float) -> None:
        import sqlite3

        self._conn: sqlite3.Connection = sqlite3.connect(path, timeout=timeout, isolation_level=None)

    def __enter__(self) -> sqlite3.Connection:
        return self._conn

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK" if exc_type is not None else "COMMIT")
        finally:
            self._conn.close()
