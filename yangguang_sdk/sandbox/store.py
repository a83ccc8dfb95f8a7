"""Storage of the sandbox engine: one interface, kept in memory or in SQLite.

Objects are JSON documents in named tables, keyed by (tenant, key), listed in insertion order.
Beside them the store keeps a few metadata values (the clock, id counters) and the queue of timers
(scheduled transitions). ``transaction()`` nests: the outermost level is a transaction (SQLite
``BEGIN IMMEDIATE … COMMIT``), inner levels are savepoints; an exception rolls back its own level
and propagates. The memory store gives the same guarantees with an undo log, so an error in the
middle of an operation leaves nothing half-written in either store.

Neither store is thread-safe on its own: the engine calls it under its lock.
"""

from __future__ import annotations

import bisect
import heapq
import json
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

__all__ = ["MemoryStore", "SQLiteStore", "Store", "Timer"]

Scalar = str | int | bool | None


@dataclass(frozen=True)
class Timer:
    """A scheduled transition: fires at ``due`` (epoch microseconds); ties break by ``seq``."""

    seq: int
    due: int
    tenant: str
    ref: str | None
    data: dict[str, Any]


def _dumps(data: Mapping[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


class Store(ABC):
    """What the engine needs from storage."""

    @abstractmethod
    def transaction(self) -> Any:
        """A context manager: a transaction at the outermost level, a savepoint inside one."""

    @abstractmethod
    def get(self, table: str, tenant: str, key: str) -> dict[str, Any] | None:
        """A fresh copy of the stored document, or None."""

    @abstractmethod
    def put(self, table: str, tenant: str, key: str, data: Mapping[str, Any], *, ts: int = 0) -> None:
        """Insert or replace. A replaced document keeps its place in the listing order and its ``ts``."""

    @abstractmethod
    def delete(self, table: str, tenant: str, key: str) -> None: ...

    @abstractmethod
    def scan(
        self,
        table: str,
        tenant: str,
        *,
        equals: Mapping[str, Scalar] | None = None,
        ts_gte: int | None = None,
        after: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Documents in insertion order whose top-level fields equal ``equals`` and whose ``ts`` is at
        least ``ts_gte``, starting after the document keyed ``after`` (which must exist)."""

    @abstractmethod
    def get_meta(self, key: str) -> str | None: ...

    @abstractmethod
    def set_meta(self, key: str, value: str) -> None: ...

    @abstractmethod
    def add_timer(self, timer: Timer) -> None: ...

    @abstractmethod
    def next_timer(self, until: int) -> Timer | None:
        """The earliest timer (by due, then seq) due at or before ``until``, left in place."""

    @abstractmethod
    def delete_timer(self, seq: int) -> None: ...

    @abstractmethod
    def delete_timers(self, tenant: str, ref: str) -> None:
        """Every timer of ``tenant`` scheduled with ``ref``."""

    @abstractmethod
    def count_timers(self) -> int: ...

    @abstractmethod
    def close(self) -> None: ...

    def counter(self, name: str) -> int:
        """Increment and return the persisted counter ``name`` (inside the current transaction)."""
        value = int(self.get_meta(name) or "0") + 1
        self.set_meta(name, str(value))
        return value


# --- memory ---------------------------------------------------------------------------------------


@dataclass
class _Row:
    seq: int
    ts: int
    text: str
    fields: dict[str, Any]


class MemoryStore(Store):
    """Everything in dictionaries; transactions and savepoints through an undo log."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str, str], _Row] = {}
        self._order: dict[tuple[str, str], list[tuple[int, str]]] = {}
        self._meta: dict[str, str] = {}
        self._timers: dict[int, Timer] = {}
        self._heap: list[tuple[int, int]] = []
        self._seq = 0
        self._undo: list[Callable[[], object]] = []
        self._depth = 0
        self._closed = False

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._check_open()
        mark = len(self._undo)
        self._depth += 1
        try:
            yield
        except BaseException:
            while len(self._undo) > mark:
                self._undo.pop()()
            raise
        finally:
            self._depth -= 1
            if self._depth == 0:
                self._undo.clear()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the store is closed")

    def _log(self, undo: Callable[[], object]) -> None:
        if self._depth:
            self._undo.append(undo)

    def get(self, table: str, tenant: str, key: str) -> dict[str, Any] | None:
        self._check_open()
        row = self._rows.get((table, tenant, key))
        return None if row is None else json.loads(row.text)

    def put(self, table: str, tenant: str, key: str, data: Mapping[str, Any], *, ts: int = 0) -> None:
        self._check_open()
        text = _dumps(data)
        # Only top-level scalars are kept parsed (``scan`` filters on them); nested objects such as
        # a schedule would cost tens of kilobytes a row in Python objects.
        fields = {k: v for k, v in json.loads(text).items() if not isinstance(v, (dict, list))}
        ident = (table, tenant, key)
        old = self._rows.get(ident)
        if old is not None:
            self._rows[ident] = _Row(old.seq, old.ts, text, fields)
            self._log(lambda: self._rows.__setitem__(ident, old))
            return
        self._seq += 1
        row = _Row(self._seq, ts, text, fields)
        self._rows[ident] = row
        order = self._order.setdefault((table, tenant), [])
        order.append((row.seq, key))
        self._log(lambda: self._unput(ident, row))

    def _unput(self, ident: tuple[str, str, str], row: _Row) -> None:
        del self._rows[ident]
        order = self._order[(ident[0], ident[1])]
        order.remove((row.seq, ident[2]))

    def delete(self, table: str, tenant: str, key: str) -> None:
        self._check_open()
        ident = (table, tenant, key)
        row = self._rows.get(ident)
        if row is None:
            return
        self._unput(ident, row)
        self._log(lambda: self._reput(ident, row))

    def _reput(self, ident: tuple[str, str, str], row: _Row) -> None:
        self._rows[ident] = row
        bisect.insort(self._order.setdefault((ident[0], ident[1]), []), (row.seq, ident[2]))

    def scan(
        self,
        table: str,
        tenant: str,
        *,
        equals: Mapping[str, Scalar] | None = None,
        ts_gte: int | None = None,
        after: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        self._check_open()
        order = self._order.get((table, tenant), [])
        start = 0
        if after is not None:
            anchor = self._rows.get((table, tenant, after))
            if anchor is None:
                raise KeyError(after)
            start = bisect.bisect_right(order, (anchor.seq, after))
        result: list[dict[str, Any]] = []
        for _, key in order[start:]:
            row = self._rows[(table, tenant, key)]
            if ts_gte is not None and row.ts < ts_gte:
                continue
            if equals and any(row.fields.get(name) != value for name, value in equals.items()):
                continue
            result.append(json.loads(row.text))
            if limit is not None and len(result) >= limit:
                break
        return result

    def get_meta(self, key: str) -> str | None:
        self._check_open()
        return self._meta.get(key)

    def set_meta(self, key: str, value: str) -> None:
        self._check_open()
        old = self._meta.get(key)
        self._meta[key] = value
        if old is None:
            self._log(lambda: self._meta.pop(key, None))
        else:
            self._log(lambda: self._meta.__setitem__(key, old))

    def add_timer(self, timer: Timer) -> None:
        self._check_open()
        self._timers[timer.seq] = timer
        heapq.heappush(self._heap, (timer.due, timer.seq))
        self._log(lambda: self._timers.pop(timer.seq, None))

    def next_timer(self, until: int) -> Timer | None:
        self._check_open()
        while self._heap:
            due, seq = self._heap[0]
            timer = self._timers.get(seq)
            if timer is None or timer.due != due:
                heapq.heappop(self._heap)  # deleted: drop the stale heap entry
                continue
            return timer if due <= until else None
        return None

    def delete_timer(self, seq: int) -> None:
        self._check_open()
        timer = self._timers.pop(seq, None)
        if timer is not None:
            self._log(lambda: self._restore_timer(timer))

    def _restore_timer(self, timer: Timer) -> None:
        self._timers[timer.seq] = timer
        heapq.heappush(self._heap, (timer.due, timer.seq))

    def delete_timers(self, tenant: str, ref: str) -> None:
        for timer in [t for t in self._timers.values() if t.tenant == tenant and t.ref == ref]:
            self.delete_timer(timer.seq)

    def count_timers(self) -> int:
        return len(self._timers)

    def close(self) -> None:
        self._closed = True


# --- SQLite ---------------------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    tbl TEXT NOT NULL, tenant TEXT NOT NULL, key TEXT NOT NULL,
    seq INTEGER NOT NULL, ts INTEGER NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (tbl, tenant, key)
);
CREATE INDEX IF NOT EXISTS objects_order ON objects (tbl, tenant, seq);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS timers (
    seq INTEGER PRIMARY KEY, due INTEGER NOT NULL, tenant TEXT NOT NULL, ref TEXT, data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS timers_due ON timers (due, seq);
CREATE INDEX IF NOT EXISTS timers_ref ON timers (tenant, ref);
"""


class SQLiteStore(Store):
    """One SQLite file in WAL mode, one connection (the engine's lock guards it)."""

    def __init__(self, path: str) -> None:
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._conn.executescript(_SCHEMA)
        row = self._conn.execute("SELECT COALESCE(MAX(seq), 0) FROM objects").fetchone()
        self._seq = int(row[0])
        self._depth = 0

    @contextmanager
    def transaction(self) -> Iterator[None]:
        depth = self._depth
        if depth == 0:
            self._conn.execute("BEGIN IMMEDIATE")
        else:
            self._conn.execute(f"SAVEPOINT sp{depth}")
        self._depth += 1
        try:
            yield
        except BaseException:
            self._depth -= 1
            if depth == 0:
                self._conn.execute("ROLLBACK")
                self._seq = int(self._conn.execute("SELECT COALESCE(MAX(seq), 0) FROM objects").fetchone()[0])
            else:
                self._conn.execute(f"ROLLBACK TO sp{depth}")
                self._conn.execute(f"RELEASE sp{depth}")
            raise
        self._depth -= 1
        if depth == 0:
            self._conn.execute("COMMIT")
        else:
            self._conn.execute(f"RELEASE sp{depth}")

    def get(self, table: str, tenant: str, key: str) -> dict[str, Any] | None:
        row = self._conn.execute(
            "SELECT data FROM objects WHERE tbl = ? AND tenant = ? AND key = ?", (table, tenant, key)
        ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def put(self, table: str, tenant: str, key: str, data: Mapping[str, Any], *, ts: int = 0) -> None:
        self._seq += 1
        self._conn.execute(
            "INSERT INTO objects (tbl, tenant, key, seq, ts, data) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (tbl, tenant, key) DO UPDATE SET data = excluded.data",
            (table, tenant, key, self._seq, ts, _dumps(data)),
        )

    def delete(self, table: str, tenant: str, key: str) -> None:
        self._conn.execute(
            "DELETE FROM objects WHERE tbl = ? AND tenant = ? AND key = ?", (table, tenant, key)
        )

    def scan(
        self,
        table: str,
        tenant: str,
        *,
        equals: Mapping[str, Scalar] | None = None,
        ts_gte: int | None = None,
        after: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        sql = ["SELECT data FROM objects WHERE tbl = ? AND tenant = ?"]
        args: list[Any] = [table, tenant]
        if after is not None:
            row = self._conn.execute(
                "SELECT seq FROM objects WHERE tbl = ? AND tenant = ? AND key = ?", (table, tenant, after)
            ).fetchone()
            if row is None:
                raise KeyError(after)
            sql.append("AND seq > ?")
            args.append(row[0])
        if ts_gte is not None:
            sql.append("AND ts >= ?")
            args.append(ts_gte)
        for name, value in (equals or {}).items():
            if not name.isidentifier():
                raise ValueError(f"bad field name {name!r}")
            sql.append(f"AND json_extract(data, '$.{name}') IS ?")
            args.append(int(value) if isinstance(value, bool) else value)
        sql.append("ORDER BY seq")
        if limit is not None:
            sql.append("LIMIT ?")
            args.append(limit)
        return [dict(json.loads(r[0])) for r in self._conn.execute(" ".join(sql), args)]

    def get_meta(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self._conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def add_timer(self, timer: Timer) -> None:
        self._conn.execute(
            "INSERT INTO timers (seq, due, tenant, ref, data) VALUES (?, ?, ?, ?, ?)",
            (timer.seq, timer.due, timer.tenant, timer.ref, _dumps(timer.data)),
        )

    def next_timer(self, until: int) -> Timer | None:
        row = self._conn.execute(
            "SELECT seq, due, tenant, ref, data FROM timers WHERE due <= ? ORDER BY due, seq LIMIT 1",
            (until,),
        ).fetchone()
        if row is None:
            return None
        return Timer(int(row[0]), int(row[1]), str(row[2]), row[3], dict(json.loads(row[4])))

    def delete_timer(self, seq: int) -> None:
        self._conn.execute("DELETE FROM timers WHERE seq = ?", (seq,))

    def delete_timers(self, tenant: str, ref: str) -> None:
        self._conn.execute("DELETE FROM timers WHERE tenant = ? AND ref = ?", (tenant, ref))

    def count_timers(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM timers").fetchone()[0])

    def close(self) -> None:
        self._conn.close()
