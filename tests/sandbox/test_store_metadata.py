"""The stores' metadata index (DESIGN §7.3): ``scan(metadata=...)`` answers what a filter over every
document would, in every store, through an index kept by put and delete in the same transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yangguang_sdk.sandbox.store import MemoryStore, SQLiteStore, Store

from ..pg import fresh_schema

T = "yg_test_store"
StoreFactory = Callable[[], Store]


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    made: list[Store] = []
    if request.param == "postgres":
        from yangguang_sdk.sandbox.store_pg import PostgresStore

        with fresh_schema(request.getfixturevalue("pg_dsn")) as dsn:

            def make_pg() -> Store:
                assert not made, "one PostgreSQL store per test (one schema)"
                made.append(PostgresStore(dsn))
                return made[-1]

            yield make_pg
            for store in made:
                store.close()
        return

    def make() -> Store:
        store: Store = MemoryStore() if request.param == "memory" else SQLiteStore(":memory:")
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


def doc(key: str, meta: dict[str, str], status: str = "active") -> dict[str, Any]:
    return {"id": key, "status": status, "metadata": meta}


def ids(rows: list[dict[str, Any]]) -> list[str]:
    return [row["id"] for row in rows]


def test_scan_by_metadata_matches_every_pair_in_insertion_order(make_store: StoreFactory) -> None:
    store = make_store()
    with store.transaction(T):
        for n in range(12):
            store.put(
                "policies",
                T,
                f"p{n}",
                doc(f"p{n}", {"cart": f"c{n % 3}", "shop": "n" if n < 6 else "s"}),
                ts=n,
            )
        store.put("quotes", T, "q0", doc("q0", {"cart": "c0"}))  # another table
        store.put("policies", "yg_test_other", "x0", doc("x0", {"cart": "c0"}))  # another tenant
    assert ids(store.scan("policies", T, metadata={"cart": "c0"})) == ["p0", "p3", "p6", "p9"]
    assert ids(store.scan("policies", T, metadata={"cart": "c0", "shop": "s"})) == ["p6", "p9"]
    assert ids(store.scan("policies", T, metadata={"cart": "c0"}, after="p3", limit=1)) == ["p6"]
    assert ids(store.scan("policies", T, metadata={"cart": "c0"}, ts_gte=3, ts_lt=9)) == ["p3", "p6"]
    assert ids(store.scan("policies", T, metadata={"cart": "c0"}, equals={"status": "x"})) == []
    assert store.scan("policies", T, metadata={"cart": "nope"}) == []


def test_the_index_follows_replace_delete_and_rollback(make_store: StoreFactory) -> None:
    store = make_store()
    with store.transaction(T):
        store.put("policies", T, "a", doc("a", {"cart": "c1"}))
        store.put("policies", T, "b", doc("b", {"cart": "c1"}))
        store.put("policies", T, "a", doc("a", {"cart": "c2"}))  # replaced: keeps its place
        store.delete("policies", T, "b")
    assert ids(store.scan("policies", T, metadata={"cart": "c1"})) == []
    assert ids(store.scan("policies", T, metadata={"cart": "c2"})) == ["a"]
    with pytest.raises(RuntimeError), store.transaction(T):
        store.put("policies", T, "a", doc("a", {"cart": "c3"}))
        store.put("policies", T, "c", doc("c", {"cart": "c3"}))
        store.delete("policies", T, "a")
        raise RuntimeError
    assert ids(store.scan("policies", T, metadata={"cart": "c2"})) == ["a"]
    assert store.scan("policies", T, metadata={"cart": "c3"}) == []


_ops = st.lists(
    st.tuples(
        st.sampled_from(["put", "delete"]),
        st.sampled_from(["k0", "k1", "k2", "k3", "k4"]),
        st.dictionaries(st.sampled_from(["cart", "shop"]), st.sampled_from(["v1", "v2"]), max_size=2),
        st.booleans(),  # roll this step back
    ),
    max_size=30,
)


@settings(max_examples=40, deadline=None)
@given(ops=_ops)
def test_the_index_answers_what_a_full_scan_would(ops: list[tuple[str, str, dict[str, str], bool]]) -> None:
    for store in (MemoryStore(), SQLiteStore(":memory:")):  # PostgreSQL: the contract tests above
        try:
            for op, key, meta, roll_back in ops:
                try:
                    with store.transaction(T):
                        if op == "put":
                            store.put("policies", T, key, doc(key, meta))
                        else:
                            store.delete("policies", T, key)
                        if roll_back:
                            raise RuntimeError
                except RuntimeError:
                    pass
            every = store.scan("policies", T)
            for wanted in ({"cart": "v1"}, {"shop": "v2"}, {"cart": "v1", "shop": "v2"}):
                expected = [
                    row for row in every if all(row["metadata"].get(k) == v for k, v in wanted.items())
                ]
                assert store.scan("policies", T, metadata=wanted) == expected
        finally:
            store.close()


def test_the_memory_store_reads_only_the_matching_documents() -> None:
    store = MemoryStore()
    with store.transaction(T):
        for n in range(2000):
            store.put("policies", T, f"p{n}", doc(f"p{n}", {"cart": "hit" if n in (7, 1500) else f"c{n}"}))
    reads = 0
    rows = store._rows  # noqa: SLF001 - counting the documents a scan touches

    class Counting(dict[Any, Any]):
        def __getitem__(self, key: Any) -> Any:
            nonlocal reads
            reads += 1
            return super().__getitem__(key)

    store._rows = Counting(rows)  # noqa: SLF001
    assert ids(store.scan("policies", T, metadata={"cart": "hit"})) == ["p7", "p1500"]
    assert reads == 2


def test_sqlite_answers_a_metadata_filter_from_its_index() -> None:
    store = SQLiteStore(":memory:")
    try:
        conn: sqlite3.Connection = store._conn  # noqa: SLF001 - reading the query plan
        traced: list[str] = []
        conn.set_trace_callback(traced.append)
        store.scan("policies", T, metadata={"cart": "c", "shop": "s"}, after=None, ts_gte=1)
        conn.set_trace_callback(None)
        [query] = [q for q in traced if "object_metadata" in q]
        plan = " | ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + query))
        assert "SEARCH m USING PRIMARY KEY (tbl=? AND tenant=? AND name=? AND value=?" in plan
        assert "SEARCH o USING INDEX objects_order (tbl=? AND tenant=? AND seq=?)" in plan
        assert "SCAN" not in plan
    finally:
        store.close()


def test_sqlite_fills_the_index_of_a_file_made_before_it(tmp_path: Path) -> None:
    path = str(tmp_path / "old.sqlite")
    store = SQLiteStore(path)
    with store.transaction(T):
        store.put("policies", T, "a", doc("a", {"cart": "c1"}))
    store.close()
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE object_metadata")  # as a file from before the index
    conn.commit()
    conn.close()
    reopened = SQLiteStore(path)
    try:
        assert ids(reopened.scan("policies", T, metadata={"cart": "c1"})) == ["a"]
    finally:
        reopened.close()


@pytest.mark.postgres
def test_postgres_answers_a_metadata_filter_from_its_gin_index(pg_dsn: str) -> None:
    from yangguang_sdk.sandbox.store_pg import PostgresStore

    with fresh_schema(pg_dsn) as dsn:
        store = PostgresStore(dsn)
        try:
            with store.transaction(T):
                for n in range(300):
                    store.put("policies", T, f"p{n}", doc(f"p{n}", {"cart": f"c{n}"}))
            assert ids(store.scan("policies", T, metadata={"cart": "c7"})) == ["p7"]
            import psycopg

            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("ANALYZE sandbox_objects")
                conn.execute("SET enable_seqscan = off")
                plan = " ".join(
                    row[0]
                    for row in conn.execute(
                        "EXPLAIN SELECT data FROM sandbox_objects WHERE tbl = %s AND tenant = %s"
                        " AND fields @> %s::jsonb ORDER BY seq",
                        ("policies", T, '{"metadata": {"cart": "c7"}}'),
                    )
                )
            assert "sandbox_objects_fields" in plan
        finally:
            store.close()


@pytest.mark.postgres
def test_postgres_indexes_the_metadata_of_documents_written_before_the_index(pg_dsn: str) -> None:
    from yangguang_sdk.sandbox.store_pg import PostgresStore

    with fresh_schema(pg_dsn) as dsn:
        store = PostgresStore(dsn)
        with store.transaction(T):
            store.put("policies", T, "a", doc("a", {"cart": "c1"}))
        store.close()
        import psycopg

        with psycopg.connect(dsn, autocommit=True) as conn:  # as written before the index
            conn.execute("UPDATE sandbox_objects SET fields = fields - 'metadata'")
            conn.execute("DELETE FROM sandbox_meta WHERE key = 'metadata_indexed'")
        reopened = PostgresStore(dsn)
        try:
            assert ids(reopened.scan("policies", T, metadata={"cart": "c1"})) == ["a"]
        finally:
            reopened.close()
