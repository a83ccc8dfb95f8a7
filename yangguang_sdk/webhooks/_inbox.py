"""Inboxes: where a receiver remembers which events it has processed, so each runs once.

A worker ``claim``s an event before running its function: the claim succeeds when the event is not
done and nobody else holds a live lease on it, and returns a token that is this claim's alone.
Success ``complete``s the event; failure ``release``s it so the insurer's next delivery can try
again; a long function ``renew``s its lease while it runs. All three act only while the token still
holds the claim: a worker whose lease expired and was taken over cannot complete or free the new
worker's claim (they return False). A lease that is never completed, released or renewed (the
worker crashed) expires after ``lease_seconds``.
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

__all__ = [
    "DEFAULT_LEASE_SECONDS",
    "DEFAULT_RETENTION_SECONDS",
    "Inbox",
    "MemoryInbox",
    "SQLiteInbox",
    "check_lease",
]

DEFAULT_LEASE_SECONDS = 60.0
"""How long a claim lasts without being completed, released or renewed. ``WebhookHandler`` renews
it every third of this while the function runs, so it only needs to outlast a stalled worker."""

DEFAULT_RETENTION_SECONDS = 7 * 86400.0
"""How long ``MemoryInbox`` remembers a done event (longer than the insurer's ~3-day retry window)."""


@runtime_checkable
class Inbox(Protocol):
    """What ``WebhookHandler`` needs to run each event's function exactly once."""

    lease_seconds: float

    def claim(self, event_id: str) -> str | None:
        """A token for this claim if the worker may process the event now (it is not done and no
        live lease is held); None otherwise."""
        ...

    def renew(self, event_id: str, token: str) -> bool:
        """Extend the claim's lease by ``lease_seconds`` from now; False if the token lost it."""
        ...

    def complete(self, event_id: str, token: str) -> bool:
        """Mark the event done (later claims return None); False, changing nothing, if the token
        no longer holds the claim."""
        ...

    def release(self, event_id: str, token: str) -> bool:
        """Give up the claim after a failure, so a redelivery can claim it at once; False, changing
        nothing, if the token no longer holds the claim."""
        ...

    def is_done(self, event_id: str) -> bool:
        """True once the event has been completed."""
        ...


def check_lease(lease_seconds: float) -> float:
    """``lease_seconds`` as a float, or ParameterError unless it is a positive number (every inbox)."""
    return _positive(lease_seconds, "lease_seconds")


def _positive(value: float, param: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
        raise ParameterError("must be a positive number of seconds", param=param)
    return float(value)


def _token() -> str:
    return uuid.uuid4().hex


class MemoryInbox:
    """An in-process inbox (thread-safe). Forgets everything on restart, and is not shared between
    processes: use ``SQLiteInbox`` or ``PostgresInbox`` for that. A done event is remembered for
    ``retention_seconds`` (default 7 days), then forgotten, so memory stays bounded."""

    def __init__(
        self,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        *,
        retention_seconds: float = DEFAULT_RETENTION_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lease_seconds = check_lease(lease_seconds)
        self.retention_seconds = _positive(retention_seconds, "retention_seconds")
        self._clock = clock
        self._lock = threading.Lock()
        self._done: dict[str, float] = {}  # event id -> when completed, oldest first
        self._leases: dict[str, tuple[str, float]] = {}  # event id -> (token, lease expiry)

    def __repr__(self) -> str:
        return f"MemoryInbox(done={len(self._done)}, leased={len(self._leases)})"

    def _forget_old(self, now: float) -> None:
        # Completion times only grow (one clock), so the expired ids are at the front.
        horizon = now - self.retention_seconds
        while self._done:
            oldest = next(iter(self._done))
            if self._done[oldest] > horizon:
                break
            del self._done[oldest]

    def claim(self, event_id: str) -> str | None:
        with self._lock:
            now = self._clock()
            self._forget_old(now)
            if event_id in self._done:
                return None
            lease = self._leases.get(event_id)
            if lease is not None and lease[1] > now:
                return None
            token = _token()
            self._leases[event_id] = (token, now + self.lease_seconds)
            return token

    def _holds(self, event_id: str, token: str) -> bool:
        lease = self._leases.get(event_id)
        return lease is not None and lease[0] == token

    def renew(self, event_id: str, token: str) -> bool:
        with self._lock:
            if not self._holds(event_id, token):
                return False
            self._leases[event_id] = (token, self._clock() + self.lease_seconds)
            return True

    def complete(self, event_id: str, token: str) -> bool:
        with self._lock:
            if not self._holds(event_id, token):
                return False
            del self._leases[event_id]
            self._done.pop(event_id, None)
            self._done[event_id] = self._clock()
            return True

    def release(self, event_id: str, token: str) -> bool:
        with self._lock:
            if not self._holds(event_id, token):
                return False
            del self._leases[event_id]
            return True

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

_SQLITE_RENEW = """
UPDATE yangguang_webhook_inbox SET lease_until = ?3
WHERE event_id = ?1 AND token = ?2 AND status <> 'done'
"""

_SQLITE_COMPLETE = """
UPDATE yangguang_webhook_inbox SET status = 'done', token = NULL, completed_at = ?3
WHERE event_id = ?1 AND token = ?2 AND status <> 'done'
"""

_SQLITE_RELEASE = """
UPDATE yangguang_webhook_inbox SET lease_until = 0, token = NULL
WHERE event_id = ?1 AND token = ?2 AND status <> 'done'
"""


class SQLiteInbox:
    """An inbox in a SQLite file, shared safely by the threads and processes of one machine.

    Each operation is one SQL statement, atomic on its own; concurrent claims of one event
    serialise on SQLite's write lock. Each thread keeps one connection (``close()`` closes them).
    The file is in WAL mode with ``synchronous=NORMAL``: a completed event survives the process
    being killed (the commit is in the WAL file when ``complete`` returns), but an operating-system
    crash or power loss may lose the last completions, whose events then run again on redelivery.
    The lease clock is this machine's wall clock.
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
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._pid = os.getpid()
        self._conn().execute(_SQLITE_SCHEMA)

    def __repr__(self) -> str:
        return f"SQLiteInbox({self.path!r}, lease_seconds={self.lease_seconds})"

    def __enter__(self) -> SQLiteInbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every thread's connection (the inbox opens new ones if used again)."""
        with self._all_lock:
            conns, self._all = self._all, []
            self._local = threading.local()
        if os.getpid() == self._pid:
            for conn in conns:
                conn.close()

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and os.getpid() == self._pid:
            return conn
        import sqlite3

        with self._all_lock:
            if os.getpid() != self._pid:
                # After fork the inherited connections belong to the parent: never use or close them.
                self._all, self._local, self._pid = [], threading.local(), os.getpid()
        conn = sqlite3.connect(
            self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        with self._all_lock:
            self._all.append(conn)
            self._local.conn = conn
        return conn

    def claim(self, event_id: str) -> str | None:
        token = _token()
        cursor = self._conn().execute(_SQLITE_CLAIM, (event_id, token, self._clock(), self.lease_seconds))
        return token if cursor.rowcount == 1 else None

    def renew(self, event_id: str, token: str) -> bool:
        until = self._clock() + self.lease_seconds
        return self._conn().execute(_SQLITE_RENEW, (event_id, token, until)).rowcount == 1

    def complete(self, event_id: str, token: str) -> bool:
        return self._conn().execute(_SQLITE_COMPLETE, (event_id, token, self._clock())).rowcount == 1

    def release(self, event_id: str, token: str) -> bool:
        return self._conn().execute(_SQLITE_RELEASE, (event_id, token)).rowcount == 1

    def is_done(self, event_id: str) -> bool:
        row = (
            self._conn()
            .execute("SELECT status FROM yangguang_webhook_inbox WHERE event_id = ?", (event_id,))
            .fetchone()
        )
        return row is not None and row[0] == "done"
