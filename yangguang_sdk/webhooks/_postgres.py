"""``PostgresInbox``: the inbox for receivers running on several machines (psycopg 3, the
``postgres`` extra, imported on first use).

A claim is one ``INSERT ... ON CONFLICT DO UPDATE ... WHERE`` statement: it inserts the event with
a lease, or takes over an undone event whose lease has expired; concurrent claims of one event
serialise on its row, so exactly one wins. Lease times use the database server's clock, so the
workers' clocks do not matter.
"""

from __future__ import annotations

import os
import re
import threading
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import ParameterError
from ._inbox import DEFAULT_LEASE_SECONDS, check_lease

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql

__all__ = ["PostgresInbox", "DEFAULT_TABLE"]

DEFAULT_TABLE = "yangguang_webhook_inbox"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
T = TypeVar("T")


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise ImportError("PostgresInbox needs psycopg 3: pip install 'yangguang-sdk[postgres]'") from None
    return psycopg


class PostgresInbox:
    """An inbox in a PostgreSQL table (created if missing), shared by any number of processes and
    machines. Keeps up to ``max_idle`` connections open for reuse; ``close()`` closes them.

    ``lease_seconds`` must exceed your slowest function: after it, another worker may take over an
    event whose worker looks dead.
    """

    def __init__(
        self,
        dsn: str,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        table: str = DEFAULT_TABLE,
        *,
        max_idle: int = 4,
    ) -> None:
        if not isinstance(dsn, str) or not dsn:
            raise ParameterError("must be a PostgreSQL connection string", param="dsn")
        parts = table.split(".") if isinstance(table, str) else []
        if not 1 <= len(parts) <= 2 or not all(_NAME.fullmatch(part) for part in parts):
            raise ParameterError(
                "must be a table name, optionally schema-qualified: [schema.]name", param="table"
            )
        self.dsn = dsn
        self.lease_seconds = check_lease(lease_seconds)
        self.table = table
        self._table_parts = tuple(parts)
        self._max_idle = max_idle
        self._idle: list[psycopg.Connection[Any]] = []
        self._orphans: list[psycopg.Connection[Any]] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._ready = False
        self._queries: dict[str, sql.Composed] = {}

    def __repr__(self) -> str:
        # The DSN may hold a password: never shown.
        return f"PostgresInbox(table={self.table!r}, lease_seconds={self.lease_seconds})"

    def __enter__(self) -> PostgresInbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the idle connections (the inbox opens new ones if used again)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    # -- the Inbox protocol ----------------------------------------------------------------------

    def claim(self, event_id: str) -> str | None:
        token = uuid.uuid4().hex
        row = self._run(
            lambda conn: conn.execute(
                self._query("claim"), {"id": event_id, "token": token, "lease": self.lease_seconds}
            ).fetchone()
        )
        return None if row is None else token

    def renew(self, event_id: str, token: str) -> bool:
        return self._update("renew", {"id": event_id, "token": token, "lease": self.lease_seconds})

    def complete(self, event_id: str, token: str) -> bool:
        return self._update("complete", {"id": event_id, "token": token})

    def release(self, event_id: str, token: str) -> bool:
        return self._update("release", {"id": event_id, "token": token})

    def is_done(self, event_id: str) -> bool:
        row = self._run(lambda conn: conn.execute(self._query("status"), {"id": event_id}).fetchone())
        return row is not None and row[0] == "done"

    def purge(self, older_than_seconds: float = 30 * 86400) -> int:
        """Delete events done more than ``older_than_seconds`` ago (keep longer than the insurer's
        retry window, about 3 days); returns how many were deleted."""
        cursor = self._run(
            lambda conn: conn.execute(self._query("purge"), {"age": float(older_than_seconds)})
        )
        return int(cursor.rowcount)

    # -- plumbing --------------------------------------------------------------------------------

    def _update(self, name: str, params: dict[str, Any]) -> bool:
        cursor = self._run(lambda conn: conn.execute(self._query(name), params))
        return int(cursor.rowcount) == 1

    def _query(self, name: str) -> sql.Composed:
        query = self._queries.get(name)
        if query is None:
            from psycopg import sql

            table = sql.Identifier(*self._table_parts)
            query = sql.SQL(_QUERIES[name]).format(table=table)
            self._queries[name] = query
        return query

    def _run(self, operation: Callable[[psycopg.Connection[Any]], T]) -> T:
        driver = _psycopg()
        conn, pooled = self._acquire(driver)
        try:
            if not self._ready:
                self._create_table(conn)
            result = operation(conn)
        except driver.OperationalError:
            conn.close()
            if not pooled:
                raise
            # A pooled connection may have died while idle (server restart): one fresh attempt.
            conn = driver.connect(self.dsn, autocommit=True)
            try:
                result = operation(conn)
            except BaseException:
                conn.close()
                raise
        except BaseException:
            conn.close()
            raise
        self._give_back(conn)
        return result

    def _acquire(self, driver: Any) -> tuple[psycopg.Connection[Any], bool]:
        with self._lock:
            if os.getpid() != self._pid:
                # After fork the inherited connections belong to the parent: never use or close them.
                self._orphans.extend(self._idle)
                self._idle = []
                self._pid = os.getpid()
            conn = self._idle.pop() if self._idle else None
        if conn is not None and not conn.closed:
            return conn, True
        return driver.connect(self.dsn, autocommit=True), False

    def _give_back(self, conn: psycopg.Connection[Any]) -> None:
        from psycopg.pq import TransactionStatus

        if not conn.closed and conn.info.transaction_status == TransactionStatus.IDLE:
            with self._lock:
                if len(self._idle) < self._max_idle and os.getpid() == self._pid:
                    self._idle.append(conn)
                    return
        conn.close()

    def _create_table(self, conn: psycopg.Connection[Any]) -> None:
        # Concurrent CREATE TABLE IF NOT EXISTS can still collide in the catalog: serialise them.
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"yangguang_sdk:{self.table}",))
            conn.execute(self._query("create"))
        self._ready = True


_QUERIES = {
    "create": """
        CREATE TABLE IF NOT EXISTS {table} (
            event_id     text PRIMARY KEY,
            status       text NOT NULL CHECK (status IN ('processing', 'done')),
            token        text,
            lease_until  timestamptz NOT NULL,
            attempts     integer NOT NULL DEFAULT 0,
            created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
            completed_at timestamptz
        )
    """,
    "claim": """
        INSERT INTO {table} AS inbox (event_id, status, token, lease_until, attempts)
        VALUES (%(id)s, 'processing', %(token)s, clock_timestamp() + make_interval(secs => %(lease)s), 1)
        ON CONFLICT (event_id) DO UPDATE
            SET token = EXCLUDED.token, lease_until = EXCLUDED.lease_until, attempts = inbox.attempts + 1
            WHERE inbox.status <> 'done' AND inbox.lease_until <= clock_timestamp()
        RETURNING inbox.event_id
    """,
    "renew": """
        UPDATE {table} SET lease_until = clock_timestamp() + make_interval(secs => %(lease)s)
        WHERE event_id = %(id)s AND token = %(token)s AND status <> 'done'
    """,
    "complete": """
        UPDATE {table} SET status = 'done', token = NULL, completed_at = clock_timestamp()
        WHERE event_id = %(id)s AND token = %(token)s AND status <> 'done'
    """,
    "release": """
        UPDATE {table} SET lease_until = '-infinity', token = NULL
        WHERE event_id = %(id)s AND token = %(token)s AND status <> 'done'
    """,
    "status": "SELECT status FROM {table} WHERE event_id = %(id)s",
    "purge": """
        DELETE FROM {table}
        WHERE status = 'done' AND completed_at < clock_timestamp() - make_interval(secs => %(age)s)
    """,
}
