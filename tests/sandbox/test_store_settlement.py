"""The stores answer the balance transactions' filters (DESIGN §7.6) from indexes: ``type`` and
``policy_id`` equalities and ``ts`` ranges (a month), the same on memory, SQLite and PostgreSQL,
and the engine's statements are the same on each."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.consent import consent_now
from yangguang_sdk.sandbox.engine import Engine
from yangguang_sdk.sandbox.store import MemoryStore, SQLiteStore, Store
from yangguang_sdk.sandbox.store_pg import PostgresStore

from ..pg import fresh_database, fresh_schema
from .test_pricing import quote_params

T = "yg_test_store_settle"
TABLE = "balance_transactions"


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "postgres":
        with fresh_schema(request.getfixturevalue("pg_dsn")) as dsn:
            pg = PostgresStore(dsn)
            yield pg
            pg.close()
        return
    s: Store = MemoryStore() if request.param == "memory" else SQLiteStore(str(tmp_path / "s.sqlite"))
    yield s
    s.close()


def line(n: int, type_: str, policy: str) -> dict[str, Any]:
    return {"id": f"b{n}", "type": type_, "policy_id": policy, "amount": {"amount": n, "currency": "CNY"}}


def keys(rows: list[dict[str, Any]]) -> list[str]:
    return [row["id"] for row in rows]


def test_type_policy_and_ts_filters_agree_with_a_full_scan(store: Store) -> None:
    with store.transaction(T):
        for n in range(40):
            store.put(
                TABLE, T, f"b{n}", line(n, ("premium", "premium_refund")[n % 2], f"p{n % 3}"), ts=n * 10
            )
    with pytest.raises(RuntimeError), store.transaction(T):  # a rolled-back write leaves no trace
        store.put(TABLE, T, "b99", line(99, "premium", "p0"), ts=1000)
        raise RuntimeError
    assert keys(store.scan(TABLE, T, equals={"policy_id": "p1"})) == [
        f"b{n}" for n in range(40) if n % 3 == 1
    ]
    assert keys(store.scan(TABLE, T, equals={"type": "premium", "policy_id": "p0"})) == [
        f"b{n}" for n in range(40) if n % 6 == 0
    ]
    assert keys(store.scan(TABLE, T, ts_gte=100, ts_lt=150)) == ["b10", "b11", "b12", "b13", "b14"]
    assert keys(store.scan(TABLE, T, ts_gte=100, ts_lt=150, after="b11", limit=2)) == ["b12", "b13"]
    assert keys(store.scan(TABLE, T, ts_gte=385)) == ["b39"]
    assert store.scan(TABLE, T, ts_lt=0) == []
    assert keys(store.scan(TABLE, T, equals={"type": "premium_refund"}, ts_lt=40)) == ["b1", "b3"]
    assert store.scan(TABLE, "yg_test_other", equals={"policy_id": "p1"}) == []


_ops = st.lists(
    st.tuples(
        st.sampled_from(["put", "put", "delete"]),
        st.integers(min_value=0, max_value=7),  # key
        st.integers(min_value=0, max_value=5),  # ts, not always increasing
        st.sampled_from(["premium", "premium_refund"]),
        st.booleans(),  # roll this step back
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(ops=_ops)
def test_indexed_scans_answer_what_a_full_scan_would(ops: list[tuple[str, int, int, str, bool]]) -> None:
    for store in (MemoryStore(), SQLiteStore(":memory:")):  # PostgreSQL: the contract test above
        stamps: dict[str, int] = {}
        try:
            for op, n, ts, type_, roll_back in ops:
                try:
                    with store.transaction(T):
                        if op == "put":
                            store.put(TABLE, T, f"b{n}", line(n, type_, f"p{n % 2}"), ts=ts)
                        else:
                            store.delete(TABLE, T, f"b{n}")
                        if roll_back:
                            raise RuntimeError
                    if op == "put":
                        stamps.setdefault(f"b{n}", ts)  # a replaced document keeps its ts
                    else:
                        stamps.pop(f"b{n}", None)
                except RuntimeError:
                    pass
            every = store.scan(TABLE, T)
            for gte, lt in ((None, None), (1, 4), (2, None), (None, 3), (3, 3)):
                for equals in ({}, {"type": "premium"}, {"policy_id": "p1"}):
                    want = [
                        row
                        for row in every
                        if (gte is None or stamps[row["id"]] >= gte)
                        and (lt is None or stamps[row["id"]] < lt)
                        and all(row[k] == v for k, v in equals.items())
                    ]
                    assert store.scan(TABLE, T, equals=equals, ts_gte=gte, ts_lt=lt) == want
                    if want:
                        got = store.scan(TABLE, T, equals=equals, ts_gte=gte, ts_lt=lt, after=want[0]["id"])
                        assert got == want[1:]
        finally:
            store.close()


class _Counting(dict[Any, Any]):
    reads = 0

    def __getitem__(self, key: Any) -> Any:
        type(self).reads += 1
        return super().__getitem__(key)


def test_the_memory_store_reads_only_the_month_or_the_policy_asked_for() -> None:
    store = MemoryStore()
    with store.transaction(T):
        for n in range(3000):
            store.put(TABLE, T, f"b{n}", line(n, "premium", f"p{n}"), ts=n)
    store._rows = _Counting(store._rows)  # noqa: SLF001 - counting the documents a scan touches
    _Counting.reads = 0
    assert keys(store.scan(TABLE, T, ts_gte=1000, ts_lt=1003)) == ["b1000", "b1001", "b1002"]
    assert _Counting.reads == 3
    _Counting.reads = 0
    assert keys(store.scan(TABLE, T, equals={"policy_id": "p2500"})) == ["b2500"]
    assert _Counting.reads == 1


def test_sqlite_answers_the_filters_from_its_indexes() -> None:
    store = SQLiteStore(":memory:")
    try:
        conn: sqlite3.Connection = store._conn  # noqa: SLF001 - reading the query plans
        for kwargs in (
            {"equals": {"policy_id": "pol_1"}},
            {"equals": {"type": "premium"}},
            {"ts_gte": 10, "ts_lt": 20},
        ):
            traced: list[str] = []
            conn.set_trace_callback(traced.append)
            store.scan(TABLE, T, **kwargs)
            conn.set_trace_callback(None)
            [query] = [q for q in traced if q.startswith("SELECT o.data")]
            plan = " | ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + query))
            index = {"equals": "objects_type" if "type" in str(kwargs) else "objects_policy_id"}.get(
                next(iter(kwargs)), "objects_ts"
            )
            assert f"USING INDEX {index}" in plan, plan
            assert "SCAN" not in plan
    finally:
        store.close()


def lifecycle(engine: Engine) -> list[str]:
    """A bind, a cancel, two months: the statements as JSON text."""
    start = engine.now(T)
    params = quote_params(first_due="2027-03-15")
    params["merchant_order_id"] = "订单-店"
    quote = engine.create_quote(T, params)
    policy = engine.bind_policy(T, quote["id"], consent_now(engine, T))
    engine.advance(T, dt.timedelta(days=25))
    engine.cancel_policy(T, policy["id"], reason="returned")
    engine.advance(T, dt.datetime(2027, 3, 1, tzinfo=dt.timezone.utc) - engine.now(T))
    assert start.month == 1
    return [json.dumps(engine.get_statement(T, m), sort_keys=True) for m in ("2027-01", "2027-02")]


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_statements_are_the_same_on_every_store(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    now = dt.datetime(2027, 1, 10, 9, tzinfo=dt.timezone.utc)
    memory = Engine(now=now)
    try:
        want = lifecycle(memory)
    finally:
        memory.close()
    assert json.loads(want[0])["lines"] and json.loads(want[1])["lines"]
    with engine_db(backend, tmp_path, request) as db:
        assert db.startswith("postgresql://") == (backend == "postgres")
        engine = Engine(db=db, now=now)
        try:
            assert lifecycle(engine) == want
        finally:
            engine.close()
        reopened = Engine(db=db)  # the finalized snapshots and the timers survive a reopen
        try:
            assert [
                json.dumps(reopened.get_statement(T, m), sort_keys=True) for m in ("2027-01", "2027-02")
            ] == want
        finally:
            reopened.close()


def engine_db(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    """The engine's ``db``: a fresh PostgreSQL schema or a SQLite file."""
    if backend == "postgres":
        return fresh_database(request.getfixturevalue("pg_dsn"))  # a postgresql:// URL
    return contextlib.nullcontext(str(tmp_path / "engine.sqlite"))
