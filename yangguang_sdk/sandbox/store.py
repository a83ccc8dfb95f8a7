"""Storage of the sandbox engine: one interface, kept in memory, in SQLite or in PostgreSQL.

Objects are JSON documents in named tables, keyed by (tenant, key), listed in insertion order.
A document's top-level ``metadata`` object (string keys and values, DESIGN §7.3) is indexed: every
store answers ``scan(metadata={...})`` from an index of (table, tenant, key, value) → documents,
maintained by ``put`` and ``delete`` in the same transaction, never by reading every document. The
top-level fields of ``INDEXED_FIELDS`` (``type``, ``policy_id``) and the ``ts`` stamp are indexed too,
so ``scan(equals={"policy_id": ...})`` and a ``ts`` range (a month of balance transactions, DESIGN
§7.6) read only what they return (plus, for a ``ts`` range in memory, a bisection).
Beside them the store keeps a few metadata values (the base clock, id counters), each tenant's
clock (its skew from the base clock, in microseconds) and the queue of timers (scheduled
transitions). ``transaction(tenant)`` nests: the outermost level is a transaction (SQLite
``BEGIN IMMEDIATE … COMMIT``; PostgreSQL also takes the tenant's transaction-scoped advisory lock,
so one tenant's operations are serialised across processes), inner levels are savepoints; an
exception rolls back its own level and propagates. The memory store gives the same guarantees with
an undo log, so an error in the middle of an operation leaves nothing half-written in any store.

Timers come in two kinds. A timer with ``lane`` None is a transition the engine runs under its
lock. A timer with a lane (a webhook endpoint's id) is *deferred* work made outside the lock (a
delivery attempt): a worker claims it with ``claim_timers`` (a lease: the earliest timer of each
lane whose lease is free; a lane waits while its earliest timer is leased), does the work, and then
deletes it in a transaction of its own. A lease that expires (its worker died) lets another worker
claim the timer again.

No store is thread-safe on its own: the engine calls it under its lock.
"""

from __future__ import annotations

import bisect
import heapq
import json
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

__all__ = ["INDEXED_FIELDS", "MemoryStore", "SQLiteStore", "Store", "Timer", "metadata_of", "open_store"]

Scalar = str | int | bool | None

INDEXED_FIELDS = ("type", "policy_id")
"""Top-level string fields every store indexes for ``scan(equals=...)`` (events and balance
transactions by ``type``; repayments, claims and balance transactions by ``policy_id``)."""


@dataclass(frozen=True)
class Timer:
    """A scheduled transition of ``tenant``: fires at ``due`` (epoch microseconds on the tenant's
    clock); ties break by ``seq`` (assigned by the store, increasing). ``lane``: None for a
    transition run under the engine's lock; the lane of deferred work otherwise."""

    seq: int
    due: int
    tenant: str
    ref: str | None
    data: dict[str, Any]
    lane: str | None = None


def _dumps(data: Mapping[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def open_store(db: str | None) -> Store:
    """The store for ``db``: None in memory, ``postgresql://…`` (or ``postgres://…``) PostgreSQL,
    anything else a SQLite file path."""
    if db is None:
        return MemoryStore()
    if db.startswith(("postgresql://", "postgres://")):
        from .store_pg import PostgresStore

        return PostgresStore(db)
    return SQLiteStore(db)


class Store(ABC):
    """What the engine needs from storage."""

    @abstractmethod
    def transaction(self, tenant: str | None = None) -> AbstractContextManager[None]:
        """A transaction at the outermost level (holding ``tenant``'s lock where the store has
        one), a savepoint inside one (``tenant`` is then ignored)."""

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
        ts_lt: int | None = None,
        metadata: Mapping[str, str] | None = None,
        after: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Documents in insertion order whose top-level fields equal ``equals``, whose ``ts`` is at
        least ``ts_gte`` and below ``ts_lt``, and whose ``metadata`` holds every pair of
        ``metadata`` (answered from the metadata index), starting after the document keyed
        ``after`` (which must exist)."""

    @abstractmethod
    def get_meta(self, key: str) -> str | None: ...

    @abstractmethod
    def set_meta(self, key: str, value: str) -> None: ...

    @abstractmethod
    def get_skew(self, tenant: str) -> int | None:
        """The tenant's clock as microseconds ahead of the base clock, or None for a new tenant."""

    @abstractmethod
    def set_skew(self, tenant: str, skew: int) -> None: ...

    @abstractmethod
    def add_timer(
        self, tenant: str, due: int, ref: str | None, data: Mapping[str, Any], *, lane: str | None = None
    ) -> int:
        """Queue a timer; returns its ``seq``."""

    @abstractmethod
    def next_timer(self, tenant: str, until: int, *, deferred: bool = False) -> Timer | None:
        """The tenant's earliest timer (by due, then seq) due at or before ``until``, left in place:
        among its transitions only, or among all its timers when ``deferred``."""

    @abstractmethod
    def claim_timers(
        self,
        *,
        now: int,
        lease_until: int,
        limit: int,
        tenant: str | None = None,
        until: int | None = None,
        base: int | None = None,
    ) -> list[Timer]:
        """Lease deferred timers that are due: the earliest timer of each lane, if its lease is free
        (never leased, or leased until before ``now``), leased until ``lease_until``. Due means
        ``due <= until`` for the one ``tenant`` given, else ``due <= base + the timer's tenant's
        skew`` for every tenant. At most ``limit``, by due then seq."""

    @abstractmethod
    def due_tenants(self, base: int) -> list[str]:
        """The tenants with a transition (not deferred work) due by their clock (``base + skew``)."""

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
        """Increment and return the persisted counter ``name`` (inside the current transaction).
        Names are per tenant (``ids:<tenant>``), so the tenant's lock guards them."""
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
    meta: dict[str, str]


def metadata_of(data: Mapping[str, Any]) -> dict[str, str]:
    """The indexed metadata of a document: its top-level ``metadata``'s string pairs."""
    meta = data.get("metadata")
    if not isinstance(meta, dict):
        return {}
    return {k: v for k, v in meta.items() if isinstance(k, str) and isinstance(v, str)}


def _postings(data: Mapping[str, Any]) -> dict[str, str]:
    """What the memory store indexes of a document: its metadata pairs and, under ``=name``, its
    ``INDEXED_FIELDS`` that are strings."""
    pairs = metadata_of(data)
    for name in INDEXED_FIELDS:
        value = data.get(name)
        if isinstance(value, str):
            pairs[f"={name}"] = value
    return pairs


class MemoryStore(Store):
    """Everything in dictionaries; transactions and savepoints through an undo log."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str, str], _Row] = {}
        self._order: dict[tuple[str, str], list[tuple[int, str]]] = {}
        # the metadata index: (table, tenant, key, value) -> [(seq, document key)], sorted; the
        # INDEXED_FIELDS go in it too, under the names "=type" and "=policy_id" (no metadata key
        # starts with "=")
        self._meta_index: dict[tuple[str, str, str, str], list[tuple[int, str]]] = {}
        # the ts of each entry of _order, aligned with it, while a table's ts never went down in
        # insertion order (then a ts range is a bisection); a table that breaks it has none
        self._ts: dict[tuple[str, str], list[int] | None] = {}
        self._meta: dict[str, str] = {}
        self._skews: dict[str, int] = {}
        self._timers: dict[int, Timer] = {}
        # heaps of (due, seq), stale entries dropped lazily: a tenant's transitions, a tenant's
        # timers of every kind, and each (tenant, lane)'s deferred timers
        self._internal: dict[str, list[tuple[int, int]]] = {}
        self._every: dict[str, list[tuple[int, int]]] = {}
        self._lanes: dict[tuple[str, str], list[tuple[int, int]]] = {}
        self._leases: dict[int, int] = {}
        self._seq = 0
        self._timer_seq = 0
        self._undo: list[Callable[[], object]] = []
        self._depth = 0
        self._closed = False

    @contextmanager
    def transaction(self, tenant: str | None = None) -> Iterator[None]:
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
        parsed = json.loads(text)
        # Only top-level scalars are kept parsed (``scan`` filters on them); nested objects such as
        # a schedule would cost tens of kilobytes a row in Python objects.
        fields = {k: v for k, v in parsed.items() if not isinstance(v, (dict, list))}
        ident = (table, tenant, key)
        old = self._rows.get(ident)
        if old is not None:
            new = _Row(old.seq, old.ts, text, fields, _postings(parsed))
            self._swap(ident, old, new)
            self._log(lambda: self._swap(ident, new, old))
            return
        self._seq += 1
        row = _Row(self._seq, ts, text, fields, _postings(parsed))
        self._rows[ident] = row
        order = self._order.setdefault((table, tenant), [])
        order.append((row.seq, key))
        stamps = self._ts.setdefault((table, tenant), [])
        if stamps is not None:
            if stamps and ts < stamps[-1]:
                self._ts[(table, tenant)] = None
            else:
                stamps.append(ts)
        self._index_meta(ident, row)
        self._log(lambda: self._unput(ident, row))

    def _swap(self, ident: tuple[str, str, str], old: _Row, new: _Row) -> None:
        self._unindex_meta(ident, old)
        self._rows[ident] = new
        self._index_meta(ident, new)

    def _index_meta(self, ident: tuple[str, str, str], row: _Row) -> None:
        table, tenant, key = ident
        for name, value in row.meta.items():
            bisect.insort(self._meta_index.setdefault((table, tenant, name, value), []), (row.seq, key))

    def _unindex_meta(self, ident: tuple[str, str, str], row: _Row) -> None:
        table, tenant, key = ident
        for name, value in row.meta.items():
            postings = self._meta_index[(table, tenant, name, value)]
            postings.remove((row.seq, key))
            if not postings:
                del self._meta_index[(table, tenant, name, value)]

    def _unput(self, ident: tuple[str, str, str], row: _Row) -> None:
        del self._rows[ident]
        order = self._order[(ident[0], ident[1])]
        at = bisect.bisect_left(order, (row.seq, ident[2]))
        del order[at]
        stamps = self._ts.get((ident[0], ident[1]))
        if stamps is not None:
            del stamps[at]
        self._unindex_meta(ident, row)

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
        order = self._order.setdefault((ident[0], ident[1]), [])
        at = bisect.bisect_left(order, (row.seq, ident[2]))
        order.insert(at, (row.seq, ident[2]))
        stamps = self._ts.get((ident[0], ident[1]))
        if stamps is not None:
            if (at and stamps[at - 1] > row.ts) or (at < len(stamps) and stamps[at] < row.ts):
                self._ts[(ident[0], ident[1])] = None
            else:
                stamps.insert(at, row.ts)
        self._index_meta(ident, row)

    def scan(
        self,
        table: str,
        tenant: str,
        *,
        equals: Mapping[str, Scalar] | None = None,
        ts_gte: int | None = None,
        ts_lt: int | None = None,
        metadata: Mapping[str, str] | None = None,
        after: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        self._check_open()
        order = self._order.get((table, tenant), [])
        stamps = self._ts.get((table, tenant))
        indexed = {name: value for name, value in (metadata or {}).items()}
        indexed.update(
            (f"={name}", value)
            for name, value in (equals or {}).items()
            if name in INDEXED_FIELDS and isinstance(value, str)
        )
        if indexed:  # walk the shortest posting list of the index, not the table
            order = min(
                (self._meta_index.get((table, tenant, name, value), []) for name, value in indexed.items()),
                key=len,
            )
            stamps = None
        start, stop = 0, len(order)
        if stamps is not None:  # the table's ts follow its order: a ts range is a slice
            if ts_gte is not None:
                start = bisect.bisect_left(stamps, ts_gte)
            if ts_lt is not None:
                stop = bisect.bisect_left(stamps, ts_lt)
        if after is not None:
            anchor = self._rows.get((table, tenant, after))
            if anchor is None:
                raise KeyError(after)
            start = max(start, bisect.bisect_right(order, (anchor.seq, after)))
        result: list[dict[str, Any]] = []
        for _, key in order[start:stop]:
            row = self._rows[(table, tenant, key)]
            if ts_gte is not None and row.ts < ts_gte:
                continue
            if ts_lt is not None and row.ts >= ts_lt:
                continue
            if metadata and any(row.meta.get(name) != value for name, value in metadata.items()):
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

    def get_skew(self, tenant: str) -> int | None:
        self._check_open()
        return self._skews.get(tenant)

    def set_skew(self, tenant: str, skew: int) -> None:
        self._check_open()
        old = self._skews.get(tenant)
        self._skews[tenant] = skew
        if old is None:
            self._log(lambda: self._skews.pop(tenant, None))
        else:
            self._log(lambda: self._skews.__setitem__(tenant, old))

    def add_timer(
        self, tenant: str, due: int, ref: str | None, data: Mapping[str, Any], *, lane: str | None = None
    ) -> int:
        self._check_open()
        self._timer_seq += 1
        timer = Timer(self._timer_seq, due, tenant, ref, json.loads(_dumps(data)), lane)
        self._index(timer)
        self._log(lambda: self._timers.pop(timer.seq, None))
        return timer.seq

    def _index(self, timer: Timer) -> None:
        self._timers[timer.seq] = timer
        entry = (timer.due, timer.seq)
        heapq.heappush(self._every.setdefault(timer.tenant, []), entry)
        if timer.lane is None:
            heapq.heappush(self._internal.setdefault(timer.tenant, []), entry)
        else:
            heapq.heappush(self._lanes.setdefault((timer.tenant, timer.lane), []), entry)

    def _top(self, heap: list[tuple[int, int]]) -> Timer | None:
        """The live timer at the top of ``heap`` (stale entries of deleted timers are dropped)."""
        while heap:
            due, seq = heap[0]
            timer = self._timers.get(seq)
            if timer is not None and timer.due == due:
                return timer
            heapq.heappop(heap)
        return None

    def next_timer(self, tenant: str, until: int, *, deferred: bool = False) -> Timer | None:
        self._check_open()
        timer = self._top((self._every if deferred else self._internal).get(tenant, []))
        return timer if timer is not None and timer.due <= until else None

    def claim_timers(
        self,
        *,
        now: int,
        lease_until: int,
        limit: int,
        tenant: str | None = None,
        until: int | None = None,
        base: int | None = None,
    ) -> list[Timer]:
        self._check_open()
        found: list[Timer] = []
        for (lane_tenant, _), heap in list(self._lanes.items()):
            if tenant is not None and lane_tenant != tenant:
                continue
            timer = self._top(heap)
            if timer is None:
                continue
            if self._leases.get(timer.seq, now - 1) >= now:
                continue  # leased: the lane waits
            bound = until if until is not None else (base or 0) + self._skews.get(lane_tenant, 0)
            if timer.due <= bound:
                found.append(timer)
        found.sort(key=lambda t: (t.due, t.seq))
        for timer in found[:limit]:
            self._leases[timer.seq] = lease_until
        return found[:limit]

    def due_tenants(self, base: int) -> list[str]:
        self._check_open()
        due = []
        for tenant, heap in self._internal.items():
            timer = self._top(heap)
            if timer is not None and timer.due <= base + self._skews.get(tenant, 0):
                due.append(tenant)
        return due

    def delete_timer(self, seq: int) -> None:
        self._check_open()
        timer = self._timers.pop(seq, None)
        if timer is not None:
            lease = self._leases.pop(seq, None)
            self._log(lambda: self._restore_timer(timer, lease))

    def _restore_timer(self, timer: Timer, lease: int | None) -> None:
        self._index(timer)
        if lease is not None:
            self._leases[timer.seq] = lease

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
CREATE INDEX IF NOT EXISTS objects_ts ON objects (tbl, tenant, ts, seq);
CREATE INDEX IF NOT EXISTS objects_type ON objects (tbl, tenant, json_extract(data, '$.type'), seq);
CREATE INDEX IF NOT EXISTS objects_policy_id ON objects (tbl, tenant, json_extract(data, '$.policy_id'), seq);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS clocks (tenant TEXT PRIMARY KEY, skew INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS timers (
    seq INTEGER PRIMARY KEY, due INTEGER NOT NULL, tenant TEXT NOT NULL, ref TEXT, data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS timers_ref ON timers (tenant, ref);
"""
_METADATA_SCHEMA = """
CREATE TABLE IF NOT EXISTS object_metadata (
    tbl TEXT NOT NULL, tenant TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (tbl, tenant, name, value, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS object_metadata_seq ON object_metadata (tbl, tenant, seq);
"""
# A file from before the metadata index gets it filled from its documents, once.
_METADATA_BACKFILL = """
INSERT OR IGNORE INTO object_metadata (tbl, tenant, name, value, seq)
SELECT o.tbl, o.tenant, j.key, j.value, o.seq FROM objects o, json_each(o.data, '$.metadata') j
WHERE json_type(o.data, '$.metadata') = 'object' AND j.type = 'text'
"""
_TIMER_COLUMNS = "seq, due, tenant, ref, data, lane"


def _timer(row: tuple[Any, ...]) -> Timer:
    return Timer(int(row[0]), int(row[1]), str(row[2]), row[3], dict(json.loads(row[4])), row[5])


class SQLiteStore(Store):
    """One SQLite file in WAL mode, one connection (the engine's lock guards it)."""

    def __init__(self, path: str) -> None:
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._conn.executescript(_SCHEMA)
        had_index = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'object_metadata'"
        ).fetchone()
        self._conn.executescript(_METADATA_SCHEMA)
        if had_index is None:
            self._conn.execute(_METADATA_BACKFILL)
        columns = {r[1] for r in self._conn.execute("PRAGMA table_info(timers)")}
        if "lane" not in columns:  # a file from before deferred timers
            self._conn.execute("ALTER TABLE timers ADD COLUMN lane TEXT")
            self._conn.execute("ALTER TABLE timers ADD COLUMN leased_until INTEGER")
        self._conn.executescript(
            "DROP INDEX IF EXISTS timers_due;"
            "CREATE INDEX IF NOT EXISTS timers_tenant_due ON timers (tenant, due, seq);"
            "CREATE INDEX IF NOT EXISTS timers_lane ON timers (tenant, lane, due, seq) WHERE lane IS NOT NULL;"
        )
        row = self._conn.execute("SELECT COALESCE(MAX(seq), 0) FROM objects").fetchone()
        self._seq = int(row[0])
        self._depth = 0

    @contextmanager
    def transaction(self, tenant: str | None = None) -> Iterator[None]:
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
        (seq,) = self._conn.execute(
            "INSERT INTO objects (tbl, tenant, key, seq, ts, data) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (tbl, tenant, key) DO UPDATE SET data = excluded.data RETURNING seq",
            (table, tenant, key, self._seq, ts, _dumps(data)),
        ).fetchone()
        if seq != self._seq:  # replaced (it keeps its seq): its old metadata leaves the index
            self._conn.execute(
                "DELETE FROM object_metadata WHERE tbl = ? AND tenant = ? AND seq = ?", (table, tenant, seq)
            )
        meta = metadata_of(data)
        if meta:
            self._conn.executemany(
                "INSERT INTO object_metadata (tbl, tenant, name, value, seq) VALUES (?, ?, ?, ?, ?)",
                [(table, tenant, name, value, seq) for name, value in meta.items()],
            )

    def delete(self, table: str, tenant: str, key: str) -> None:
        row = self._conn.execute(
            "DELETE FROM objects WHERE tbl = ? AND tenant = ? AND key = ? RETURNING seq", (table, tenant, key)
        ).fetchone()
        if row is not None:
            self._conn.execute(
                "DELETE FROM object_metadata WHERE tbl = ? AND tenant = ? AND seq = ?",
                (table, tenant, row[0]),
            )

    def scan(
        self,
        table: str,
        tenant: str,
        *,
        equals: Mapping[str, Scalar] | None = None,
        ts_gte: int | None = None,
        ts_lt: int | None = None,
        metadata: Mapping[str, str] | None = None,
        after: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        pairs = list((metadata or {}).items())
        if pairs:
            # driven by the metadata index (its primary key is (tbl, tenant, name, value, seq), so
            # the first pair's documents come in seq order); each further pair is an index probe.
            # ``+m.seq`` keeps the planner from carrying ``m.seq > ?`` over to ``o`` as a range
            # (it would then walk objects_order from the cursor for every match)
            sql = [
                "SELECT o.data FROM object_metadata m JOIN objects o"
                " ON o.tbl = m.tbl AND o.tenant = m.tenant AND o.seq = +m.seq"
                " WHERE m.tbl = ? AND m.tenant = ? AND m.name = ? AND m.value = ?"
            ]
            args: list[Any] = [table, tenant, *pairs[0]]
            for pair in pairs[1:]:
                sql.append(
                    "AND EXISTS (SELECT 1 FROM object_metadata x WHERE x.tbl = m.tbl AND x.tenant = m.tenant"
                    " AND x.name = ? AND x.value = ? AND x.seq = m.seq)"
                )
                args += pair
            order = "m.seq"
        else:
            sql = ["SELECT o.data FROM objects o WHERE o.tbl = ? AND o.tenant = ?"]
            args = [table, tenant]
            order = "o.seq"
        if after is not None:
            row = self._conn.execute(
                "SELECT seq FROM objects WHERE tbl = ? AND tenant = ? AND key = ?", (table, tenant, after)
            ).fetchone()
            if row is None:
                raise KeyError(after)
            sql.append(f"AND {order} > ?")
            args.append(row[0])
        # driven by the metadata index, ``+o.ts`` keeps the join on objects' seq (not on objects_ts)
        stamp = "+o.ts" if pairs else "o.ts"
        if ts_gte is not None:
            sql.append(f"AND {stamp} >= ?")
            args.append(ts_gte)
        if ts_lt is not None:
            sql.append(f"AND {stamp} < ?")
            args.append(ts_lt)
        for name, value in (equals or {}).items():
            if not name.isidentifier():
                raise ValueError(f"bad field name {name!r}")
            sql.append(f"AND json_extract(o.data, '$.{name}') IS ?")
            args.append(int(value) if isinstance(value, bool) else value)
        sql.append(f"ORDER BY {order}")
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

    def get_skew(self, tenant: str) -> int | None:
        row = self._conn.execute("SELECT skew FROM clocks WHERE tenant = ?", (tenant,)).fetchone()
        return None if row is None else int(row[0])

    def set_skew(self, tenant: str, skew: int) -> None:
        self._conn.execute(
            "INSERT INTO clocks (tenant, skew) VALUES (?, ?) ON CONFLICT (tenant) DO UPDATE SET skew = excluded.skew",
            (tenant, skew),
        )

    def add_timer(
        self, tenant: str, due: int, ref: str | None, data: Mapping[str, Any], *, lane: str | None = None
    ) -> int:
        cursor = self._conn.execute(
            "INSERT INTO timers (due, tenant, ref, data, lane) VALUES (?, ?, ?, ?, ?)",
            (due, tenant, ref, _dumps(data), lane),
        )
        return int(cursor.lastrowid or 0)

    def next_timer(self, tenant: str, until: int, *, deferred: bool = False) -> Timer | None:
        kinds = "" if deferred else "AND lane IS NULL "
        row = self._conn.execute(
            f"SELECT {_TIMER_COLUMNS} FROM timers WHERE tenant = ? AND due <= ? {kinds}ORDER BY due, seq LIMIT 1",
            (tenant, until),
        ).fetchone()
        return None if row is None else _timer(row)

    def claim_timers(
        self,
        *,
        now: int,
        lease_until: int,
        limit: int,
        tenant: str | None = None,
        until: int | None = None,
        base: int | None = None,
    ) -> list[Timer]:
        # the earliest timer of each lane, if its lease is free (a leased head holds its lane)
        sql = [f"SELECT {_TIMER_COLUMNS} FROM timers t WHERE lane IS NOT NULL"]
        args: list[Any] = []
        if tenant is not None:
            sql.append("AND tenant = ?")
            args.append(tenant)
        if until is not None:
            sql.append("AND due <= ?")
            args.append(until)
        else:
            sql.append("AND due <= ? + COALESCE((SELECT skew FROM clocks c WHERE c.tenant = t.tenant), 0)")
            args.append(base or 0)
        sql.append(
            "AND NOT EXISTS (SELECT 1 FROM timers e WHERE e.tenant = t.tenant AND e.lane = t.lane"
            " AND (e.due < t.due OR (e.due = t.due AND e.seq < t.seq)))"
            " AND (leased_until IS NULL OR leased_until < ?) ORDER BY due, seq LIMIT ?"
        )
        rows = self._conn.execute(" ".join(sql), [*args, now, limit]).fetchall()
        timers = [_timer(r) for r in rows]
        if timers:
            self._conn.executemany(
                "UPDATE timers SET leased_until = ? WHERE seq = ?", [(lease_until, t.seq) for t in timers]
            )
        return timers

    def due_tenants(self, base: int) -> list[str]:
        rows = self._conn.execute(
            "SELECT DISTINCT t.tenant FROM timers t WHERE t.lane IS NULL AND t.due <= ? + "
            "COALESCE((SELECT skew FROM clocks c WHERE c.tenant = t.tenant), 0)",
            (base,),
        ).fetchall()
        return [str(r[0]) for r in rows]

    def delete_timer(self, seq: int) -> None:
        self._conn.execute("DELETE FROM timers WHERE seq = ?", (seq,))

    def delete_timers(self, tenant: str, ref: str) -> None:
        self._conn.execute("DELETE FROM timers WHERE tenant = ? AND ref = ?", (tenant, ref))

    def count_timers(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM timers").fetchone()[0])

    def close(self) -> None:
        self._conn.close()
