"""``PostgresStore``: the sandbox's storage in PostgreSQL, shared by several sandbox processes (on one
machine or many) through one database. psycopg 3 (the ``postgres`` extra) is imported here only.

How it keeps the guarantees of ``store.py`` across processes:

- ``transaction(tenant)`` at the outermost level is ``BEGIN`` plus a transaction-scoped advisory lock
  on a 64-bit hash of the tenant (in a namespace of its own), so one tenant's operations run one at
  a time across every process, and different tenants' run side by side. Reads that follow the lock
  see everything the lock's previous holder committed (READ COMMITTED takes a snapshot a statement).
- Listing order and timer order come from sequences, never from a counter row that every tenant's
  transaction would have to lock. Within a tenant the order of ``seq`` is the order of commits,
  because the tenant's lock serialises its writers.
- ``scan`` filters on a ``fields`` column: the document's top-level scalars as ``jsonb`` (booleans
  as 0/1, nulls left out, which gives the memory store's ``True == 1`` and "missing is None"),
  behind a GIN index, so an equality filter is not a scan of every row. ``data`` keeps the exact
  JSON text (``jsonb`` would reorder keys). ``fields`` also holds the document's ``metadata``
  object (its string pairs), so a metadata filter is a containment (``@>``) answered by the same
  GIN index; a database from before that is filled in once at connect.
- ``claim_timers`` is one statement: the heads of the lanes (each lane's earliest timer), those due
  and unleased locked ``FOR UPDATE SKIP LOCKED``, then leased. Two workers claiming at once never
  get the same timer (the row lock), never the second timer of a lane whose head the other has
  just leased (the lease is re-checked on the latest row version, and a lane whose head is leased
  or locked is skipped whole).
- The tables are created at connect, idempotently, under an advisory lock, so processes that start
  together do not collide in the catalog.

Outside a transaction each call is a statement of its own (autocommit). One connection per store:
the engine serialises its calls in-process. The DSN may hold a password: it is never shown in a
``repr`` or an error message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .store import Scalar, Store, Timer, metadata_of

if TYPE_CHECKING:
    import psycopg

__all__ = ["APPLICATION_NAME", "PostgresStore", "describe_dsn"]

_LOCK_NAMESPACE = "yangguang_sandbox:tenant:"
"""Prefix of the hashed advisory-lock keys of tenants (the webhook inbox hashes other names)."""
_SCHEMA_LOCK = "yangguang_sandbox:schema"
APPLICATION_NAME = "yangguang-sandbox"
"""The ``application_name`` of the store's connections (``pg_stat_activity`` shows it)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sandbox_objects (
    tbl text NOT NULL, tenant text NOT NULL, key text NOT NULL,
    seq bigserial NOT NULL, ts bigint NOT NULL, data text NOT NULL, fields jsonb NOT NULL,
    PRIMARY KEY (tbl, tenant, key)
);
CREATE INDEX IF NOT EXISTS sandbox_objects_order ON sandbox_objects (tbl, tenant, seq);
CREATE INDEX IF NOT EXISTS sandbox_objects_ts ON sandbox_objects (tbl, tenant, ts, seq);
CREATE INDEX IF NOT EXISTS sandbox_objects_fields ON sandbox_objects USING gin (fields jsonb_path_ops);
CREATE TABLE IF NOT EXISTS sandbox_meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS sandbox_clocks (tenant text PRIMARY KEY, skew bigint NOT NULL);
CREATE TABLE IF NOT EXISTS sandbox_timers (
    seq bigserial PRIMARY KEY, due bigint NOT NULL, tenant text NOT NULL, ref text,
    data text NOT NULL, lane text, leased_until bigint
);
CREATE INDEX IF NOT EXISTS sandbox_timers_ref ON sandbox_timers (tenant, ref);
CREATE INDEX IF NOT EXISTS sandbox_timers_every ON sandbox_timers (tenant, due, seq);
CREATE INDEX IF NOT EXISTS sandbox_timers_transitions ON sandbox_timers (tenant, due, seq)
    WHERE lane IS NULL;
CREATE INDEX IF NOT EXISTS sandbox_timers_lanes ON sandbox_timers (tenant, lane, due, seq)
    WHERE lane IS NOT NULL;
"""
_TIMER_COLUMNS = "t.seq, t.due, t.tenant, t.ref, t.data, t.lane"

_CLAIM = """
WITH heads AS (
    SELECT DISTINCT ON (tenant, lane) seq FROM sandbox_timers
    WHERE lane IS NOT NULL {tenant_filter}
    ORDER BY tenant, lane, due, seq
), picked AS (
    SELECT t.seq FROM sandbox_timers t
    JOIN heads h ON h.seq = t.seq
    LEFT JOIN sandbox_clocks c ON c.tenant = t.tenant
    WHERE (t.leased_until IS NULL OR t.leased_until < %(now)s) AND {due_filter}
    ORDER BY t.due, t.seq
    LIMIT %(limit)s
    FOR UPDATE OF t SKIP LOCKED
)
UPDATE sandbox_timers t SET leased_until = %(lease_until)s FROM picked p WHERE t.seq = p.seq
RETURNING {columns}
"""


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise ImportError("PostgresStore needs psycopg 3: pip install 'yangguang-sdk[postgres]'") from None
    return psycopg


def _dumps(data: Mapping[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _fields(data: Mapping[str, Any]) -> str:
    """What ``scan`` can filter on, as the ``fields`` column's JSON: the top-level scalars, and the
    ``metadata`` object's string pairs under ``metadata`` (the metadata index, DESIGN §7.3)."""
    fields = {k: _scalar(v) for k, v in data.items() if v is not None and not isinstance(v, (dict, list))}
    meta = metadata_of(data)
    if meta:
        fields["metadata"] = {_scalar(k): _scalar(v) for k, v in meta.items()}
    return _dumps(fields)


def _scalar(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str):
        # jsonb refuses NUL: escape it (and the escape character, so distinct strings stay distinct)
        return value.replace("\\", "\\\\").replace("\x00", "\\0")
    return value


def _timer(row: tuple[Any, ...]) -> Timer:
    return Timer(int(row[0]), int(row[1]), str(row[2]), row[3], dict(json.loads(row[4])), row[5])


_URL_PASSWORD = re.compile(r"(://[^:/@?#]*:)([^@/?#]*)@")


def describe_dsn(dsn: str) -> str:
    """``dsn`` fit to show: host, port and database, never the password (nor other options)."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        parts = conninfo_to_dict(dsn)
    except Exception:
        return "postgresql (an unreadable DSN)"
    shown = {k: parts[k] for k in ("host", "port", "dbname") if parts.get(k)}
    return "postgresql " + " ".join(f"{k}={v}" for k, v in shown.items())


def _redact(text: str, dsn: str) -> str:
    """``text`` (an error message) without the DSN's password."""
    secrets: list[str] = []
    match = _URL_PASSWORD.search(dsn)
    if match and match.group(2):
        secrets.append(match.group(2))
    try:
        from psycopg.conninfo import conninfo_to_dict

        password = conninfo_to_dict(dsn).get("password")
        if password:
            secrets.append(str(password))
    except Exception:
        pass
    for secret in secrets:
        text = text.replace(secret, "****")
    return _URL_PASSWORD.sub(r"\1****@", text)


class PostgresStore(Store):
    """The sandbox's tables in a PostgreSQL database (created if missing), in the first schema of
    the connection's ``search_path``; several processes may share them."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._shown = describe_dsn(dsn)
        self._depth = 0
        self._closed = False
        self._conn = self._connect()
        with self._conn.transaction():
            # Concurrent CREATE ... IF NOT EXISTS can still collide in the catalog: serialise them.
            self._conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (_SCHEMA_LOCK,))
            self._conn.execute(_SCHEMA)
            self._index_old_metadata()

    def _index_old_metadata(self) -> None:
        """Once per database: put the metadata of documents written before the metadata index into
        their ``fields`` (a flag in ``sandbox_meta`` says it was done)."""
        done = self._conn.execute("SELECT 1 FROM sandbox_meta WHERE key = 'metadata_indexed'").fetchone()
        if done is not None:
            return
        rows = self._conn.execute(
            "SELECT tbl, tenant, key, data FROM sandbox_objects WHERE data LIKE '%%\"metadata\":{%%'"
        ).fetchall()
        for tbl, tenant, key, text in rows:
            self._conn.execute(
                "UPDATE sandbox_objects SET fields = %s::jsonb WHERE tbl = %s AND tenant = %s AND key = %s",
                (_fields(json.loads(text)), tbl, tenant, key),
            )
        self._conn.execute("INSERT INTO sandbox_meta (key, value) VALUES ('metadata_indexed', '1')")

    def __repr__(self) -> str:
        return f"PostgresStore({self._shown})"

    def _connect(self) -> psycopg.Connection[Any]:
        driver = _psycopg()
        try:
            conn: psycopg.Connection[Any] = driver.connect(self._dsn, autocommit=True, **self._options())
        except driver.Error as exc:
            # libpq's messages may quote the connection string; ours never shows its password
            raise driver.OperationalError(
                f"cannot connect to {self._shown}: {_redact(str(exc), self._dsn)}"
            ) from None
        return conn

    def _options(self) -> dict[str, str]:
        """``application_name``, unless the DSN names one: operators see the sandbox's connections."""
        try:
            from psycopg.conninfo import conninfo_to_dict

            named = "application_name" in conninfo_to_dict(self._dsn)
        except Exception:
            named = False  # connect() says what is wrong with the DSN
        return {} if named else {"application_name": APPLICATION_NAME}

    def _connection(self) -> psycopg.Connection[Any]:
        if self._closed:
            raise RuntimeError("the store is closed")
        if self._conn.closed and self._depth == 0:
            self._conn = self._connect()  # the server dropped us between transactions: reconnect
        return self._conn

    @contextmanager
    def transaction(self, tenant: str | None = None) -> Iterator[None]:
        depth = self._depth
        if depth == 0:
            conn = self._begin(tenant)
        else:
            conn = self._conn
            conn.execute(f"SAVEPOINT sp{depth}")
        self._depth += 1
        try:
            yield
        except BaseException:
            self._depth -= 1
            try:
                if depth == 0:
                    conn.execute("ROLLBACK")
                else:
                    conn.execute(f"ROLLBACK TO SAVEPOINT sp{depth}")
                    conn.execute(f"RELEASE SAVEPOINT sp{depth}")
            except _psycopg().OperationalError:
                if not conn.closed:
                    raise
                # the connection died with the transaction (the server rolled it back)
            raise
        self._depth -= 1
        conn.execute("COMMIT" if depth == 0 else f"RELEASE SAVEPOINT sp{depth}")

    def _begin(self, tenant: str | None) -> psycopg.Connection[Any]:
        """BEGIN (and take the tenant's lock). A connection found dead here (the server restarted
        while we were idle) is replaced once: nothing of this transaction was done yet."""
        driver = _psycopg()
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.execute("BEGIN")
                if tenant is not None:
                    conn.execute(
                        "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (_LOCK_NAMESPACE + tenant,)
                    )
                return conn
            except driver.OperationalError:
                if conn.closed and attempt == 1:
                    continue
                if not conn.closed:
                    conn.execute("ROLLBACK")
                raise
            except BaseException:
                if not conn.closed:
                    conn.execute("ROLLBACK")
                raise
        raise AssertionError("unreachable")

    def _read(self, query: str, args: Any) -> list[tuple[Any, ...]]:
        """The rows of a read. Outside a transaction a connection found dead is replaced once (a
        read can be repeated safely)."""
        driver = _psycopg()
        conn = self._connection()
        try:
            return conn.execute(query, args).fetchall()
        except driver.OperationalError:
            if self._depth or not conn.closed:
                raise
        return self._connection().execute(query, args).fetchall()

    def get(self, table: str, tenant: str, key: str) -> dict[str, Any] | None:
        rows = self._read(
            "SELECT data FROM sandbox_objects WHERE tbl = %s AND tenant = %s AND key = %s",
            (table, tenant, key),
        )
        return dict(json.loads(rows[0][0])) if rows else None

    def put(self, table: str, tenant: str, key: str, data: Mapping[str, Any], *, ts: int = 0) -> None:
        text = _dumps(data)
        self._connection().execute(
            "INSERT INTO sandbox_objects (tbl, tenant, key, ts, data, fields) VALUES (%s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (tbl, tenant, key) DO UPDATE SET data = excluded.data, fields = excluded.fields",
            (table, tenant, key, ts, text, _fields(json.loads(text))),
        )

    def delete(self, table: str, tenant: str, key: str) -> None:
        self._connection().execute(
            "DELETE FROM sandbox_objects WHERE tbl = %s AND tenant = %s AND key = %s", (table, tenant, key)
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
        sql = ["SELECT data FROM sandbox_objects WHERE tbl = %s AND tenant = %s"]
        args: list[Any] = [table, tenant]
        if after is not None:
            anchor = self._read(
                "SELECT seq FROM sandbox_objects WHERE tbl = %s AND tenant = %s AND key = %s",
                (table, tenant, after),
            )
            if not anchor:
                raise KeyError(after)
            sql.append("AND seq > %s")
            args.append(anchor[0][0])
        if ts_gte is not None:
            sql.append("AND ts >= %s")
            args.append(ts_gte)
        if ts_lt is not None:
            sql.append("AND ts < %s")
            args.append(ts_lt)
        present: dict[str, Any] = {
            name: _scalar(value) for name, value in (equals or {}).items() if value is not None
        }
        if metadata:  # one containment with the equalities: the GIN index on fields answers both
            present["metadata"] = {_scalar(k): _scalar(v) for k, v in metadata.items()}
        if present:
            sql.append("AND fields @> %s::jsonb")
            args.append(_dumps(present))
        for name, value in (equals or {}).items():
            if value is None:
                sql.append("AND NOT fields ? %s")
                args.append(name)
        sql.append("ORDER BY seq")
        if limit is not None:
            sql.append("LIMIT %s")
            args.append(limit)
        return [dict(json.loads(r[0])) for r in self._read(" ".join(sql), args)]

    def get_meta(self, key: str) -> str | None:
        rows = self._read("SELECT value FROM sandbox_meta WHERE key = %s", (key,))
        return str(rows[0][0]) if rows else None

    def set_meta(self, key: str, value: str) -> None:
        self._connection().execute(
            "INSERT INTO sandbox_meta (key, value) VALUES (%s, %s)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def counter(self, name: str) -> int:
        # one statement, atomic even without the tenant's lock
        row = (
            self._connection()
            .execute(
                "INSERT INTO sandbox_meta AS m (key, value) VALUES (%s, '1')"
                " ON CONFLICT (key) DO UPDATE SET value = (m.value::bigint + 1)::text RETURNING m.value",
                (name,),
            )
            .fetchone()
        )
        assert row is not None
        return int(row[0])

    def get_skew(self, tenant: str) -> int | None:
        rows = self._read("SELECT skew FROM sandbox_clocks WHERE tenant = %s", (tenant,))
        return int(rows[0][0]) if rows else None

    def set_skew(self, tenant: str, skew: int) -> None:
        self._connection().execute(
            "INSERT INTO sandbox_clocks (tenant, skew) VALUES (%s, %s)"
            " ON CONFLICT (tenant) DO UPDATE SET skew = excluded.skew",
            (tenant, skew),
        )

    def add_timer(
        self, tenant: str, due: int, ref: str | None, data: Mapping[str, Any], *, lane: str | None = None
    ) -> int:
        row = (
            self._connection()
            .execute(
                "INSERT INTO sandbox_timers (due, tenant, ref, data, lane) VALUES (%s, %s, %s, %s, %s)"
                " RETURNING seq",
                (due, tenant, ref, _dumps(data), lane),
            )
            .fetchone()
        )
        assert row is not None
        return int(row[0])

    def next_timer(self, tenant: str, until: int, *, deferred: bool = False) -> Timer | None:
        kinds = "" if deferred else "AND lane IS NULL "
        rows = self._read(
            f"SELECT {_TIMER_COLUMNS} FROM sandbox_timers t WHERE tenant = %s AND due <= %s "
            f"{kinds}ORDER BY due, seq LIMIT 1",
            (tenant, until),
        )
        return _timer(rows[0]) if rows else None

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
        args: dict[str, Any] = {"now": now, "lease_until": lease_until, "limit": limit}
        tenant_filter = ""
        if tenant is not None:
            tenant_filter = "AND tenant = %(tenant)s"
            args["tenant"] = tenant
        if until is not None:
            due_filter = "t.due <= %(until)s"
            args["until"] = until
        else:
            due_filter = "t.due <= %(base)s + COALESCE(c.skew, 0)"
            args["base"] = base or 0
        query = _CLAIM.format(tenant_filter=tenant_filter, due_filter=due_filter, columns=_TIMER_COLUMNS)
        rows = self._connection().execute(query, args).fetchall()
        return sorted((_timer(r) for r in rows), key=lambda t: (t.due, t.seq))

    def due_tenants(self, base: int) -> list[str]:
        rows = self._read(
            "SELECT DISTINCT t.tenant FROM sandbox_timers t"
            " LEFT JOIN sandbox_clocks c ON c.tenant = t.tenant"
            " WHERE t.lane IS NULL AND t.due <= %s + COALESCE(c.skew, 0)",
            (base,),
        )
        return [str(r[0]) for r in rows]

    def delete_timer(self, seq: int) -> None:
        self._connection().execute("DELETE FROM sandbox_timers WHERE seq = %s", (seq,))

    def delete_timers(self, tenant: str, ref: str) -> None:
        self._connection().execute("DELETE FROM sandbox_timers WHERE tenant = %s AND ref = %s", (tenant, ref))

    def count_timers(self) -> int:
        return int(self._read("SELECT count(*) FROM sandbox_timers", ())[0][0])

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._conn.close()
