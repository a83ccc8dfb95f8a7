"""Storage: SQLite durability across reopen, atomic operations, and one contract kept by the memory,
SQLite and PostgreSQL stores (the PostgreSQL ones on ``pg_dsn``, each test in a fresh schema)."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.consent import consent_now
from yangguang_sdk.sandbox.app import error_answer
from yangguang_sdk.sandbox.engine import Engine
from yangguang_sdk.sandbox.idempotency import Idempotency
from yangguang_sdk.sandbox.store import MemoryStore, SQLiteStore, Store, Timer, open_store
from yangguang_sdk.sandbox.store_pg import APPLICATION_NAME, PostgresStore

from ..pg import fresh_database, fresh_schema
from .test_engine import START, T, check_ledger
from .test_pricing import quote_params

ROOT = Path(__file__).resolve().parents[2]
DAY = dt.timedelta(days=1)


def scenario_part_one(engine: Engine) -> dict[str, Any]:
    """Quotes, a policy with a repayment and an overdue installment, a pending referral, a key."""
    quote = engine.create_quote(T, quote_params())
    policy = engine.bind_policy(T, quote["id"], consent_now(engine, T))
    engine.create_repayment(
        T,
        {
            "policy_id": policy["id"],
            "installment": 1,
            "amount": policy["installments"][0]["amount"],
            "paid_at": "2027-02-01T00:00:00Z",
        },
    )
    engine.advance(T, 65 * DAY)  # 2027-03-16: installment 2 (due 03-15) is overdue
    _, referred, _ = Idempotency(engine, error_answer).run(
        T,
        "quote-2",
        "fp",
        lambda: (200, engine.create_quote(T, quote_params(score=None, first_due="2027-04-15"))),
    )
    return {"quote": quote, "policy": policy, "referred": referred}


def snapshot(engine: Engine, ids: dict[str, Any]) -> dict[str, Any]:
    return {
        "clock": engine.clock(T),
        "quote": engine.get_quote(T, ids["quote"]["id"]),
        "referred": engine.get_quote(T, ids["referred"]["id"]),
        "policy": engine.get_policy(T, ids["policy"]["id"]),
        "events": engine.list_events(T, limit=100),
        "repayments": engine.list_repayments(T),
        "ledger": engine.ledger(T),
    }


def scenario_part_two(engine: Engine, ids: dict[str, Any]) -> dict[str, Any]:
    """After the (re)open: the key replays, the referral decides, the default and claim follow."""
    replay = Idempotency(engine, error_answer).run(
        T, "quote-2", "fp", lambda: pytest.fail("replayed, not run")
    )
    engine.advance(T, dt.timedelta(minutes=30))
    engine.advance(T, 120 * DAY)
    new_quote = engine.create_quote(T, quote_params(first_due="2027-12-01"))
    result = snapshot(engine, ids)
    result.update(new_quote=new_quote, claims=engine.list_claims(T), replay=replay)
    return result


def test_sqlite_keeps_everything_across_close_and_reopen(tmp_path: Path) -> None:
    path = str(tmp_path / "sandbox.sqlite")
    first = Engine(db=path, now=START)
    ids = scenario_part_one(first)
    before = snapshot(first, ids)
    first.close()

    reopened = Engine(db=path, now=START + dt.timedelta(days=999))  # ``now`` is ignored on reopen
    assert snapshot(reopened, ids) == before
    after = scenario_part_two(reopened, ids)
    reopened.close()

    # the same story without the reopen, in memory: same ids, events, clock and ledger
    memory = Engine(now=START)
    assert scenario_part_two(memory, scenario_part_one(memory)) == after
    memory.close()

    assert after["referred"]["decision"] == "approved"
    assert after["replay"] == (200, ids["referred"], True)
    assert [c["status"] for c in after["claims"]["data"]] == ["paid"]
    assert after["clock"]["now"] == "2027-07-14T09:30:00Z"


def test_reopened_realtime_engine_resumes_from_the_saved_clock(tmp_path: Path) -> None:
    path = str(tmp_path / "rt.sqlite")
    first = Engine(db=path, now=START)
    first.advance(T, DAY)
    first.close()
    second = Engine(db=path, realtime=True)
    assert second.now(T) >= START + DAY
    assert second.now(T) < START + DAY + dt.timedelta(minutes=5)
    second.close()


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_a_failure_in_the_middle_of_a_bind_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    path = str(tmp_path / "crash.sqlite") if backend == "sqlite" else None
    engine = Engine(db=path, now=START)
    quote = engine.create_quote(T, quote_params())

    def boom(*args: Any, **kwargs: Any) -> None:  # after the policy insert, before the commit
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(engine, "_post", boom)
    with pytest.raises(RuntimeError):
        engine.bind_policy(T, quote["id"], consent_now(engine, T))
    monkeypatch.undo()

    assert engine.list_policies(T)["data"] == []
    assert engine.ledger(T)["entries"] == []
    assert engine.list_events(T)["data"] == []
    assert engine.get_quote(T, quote["id"])["policy_id"] is None
    policy = engine.bind_policy(T, quote["id"], consent_now(engine, T))  # and the quote is still bindable
    assert engine.list_policies(T)["data"] == [policy]
    check_ledger(engine, T)
    engine.close()


def test_a_killed_process_in_the_middle_of_a_bind_leaves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "killed.sqlite"
    script = textwrap.dedent(
        f"""
        import datetime as dt, os
        from yangguang_sdk.sandbox.engine import Engine
        from yangguang_sdk.sandbox import store
        from tests.consent import consent_now
        from tests.sandbox.test_pricing import quote_params

        engine = Engine(db={str(path)!r}, now=dt.datetime(2027, 1, 10, 9, tzinfo=dt.timezone.utc))
        quote = engine.create_quote("{T}", quote_params())
        print(quote["id"], flush=True)
        real_put = store.SQLiteStore.put

        def put(self, table, tenant, key, data, *, ts=0):
            real_put(self, table, tenant, key, data, ts=ts)
            if table == "journal":  # the policy and the journal entry are written, not committed
                os._exit(3)

        store.SQLiteStore.put = put
        engine.bind_policy("{T}", quote["id"], consent_now(engine, "{T}"))
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 3, done.stderr
    quote_id = done.stdout.split()[0]

    engine = Engine(db=str(path))
    assert engine.list_policies(T)["data"] == []
    assert engine.ledger(T)["entries"] == []
    assert engine.get_quote(T, quote_id)["policy_id"] is None
    assert engine.bind_policy(T, quote_id, consent_now(engine, T))["status"] == "active"
    engine.close()


# --- the store contract: every backend behaves the same ---------------------------------------------


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


def test_nested_savepoint_rolls_back_only_its_own_writes(store: Store) -> None:
    with store.transaction("a"):
        store.put("t", "a", "1", {"v": 1})
        with pytest.raises(ValueError), store.transaction():
            store.put("t", "a", "2", {"v": 2})
            store.put("t", "a", "1", {"v": 99})
            store.set_meta("m", "x")
            store.set_skew("a", 5)
            store.add_timer("a", 10, None, {"kind": "k"})
            store.counter("ids:a")
            raise ValueError
        store.put("t", "a", "3", {"v": 3})
    assert [d["v"] for d in store.scan("t", "a")] == [1, 3]
    assert store.get_meta("m") is None
    assert store.get_meta("ids:a") is None
    assert store.get_skew("a") is None
    assert store.next_timer("a", 100) is None
    assert store.count_timers() == 0


def test_an_error_rolls_back_the_whole_outermost_transaction(store: Store) -> None:
    with store.transaction("a"):
        store.put("t", "a", "1", {"v": 1})
    with pytest.raises(RuntimeError), store.transaction("a"):
        store.put("t", "a", "1", {"v": 2})
        store.put("t", "a", "2", {"v": 2})
        store.delete("t", "a", "1")
        store.add_timer("a", 10, "r", {})
        raise RuntimeError
    assert store.scan("t", "a") == [{"v": 1}]
    assert store.count_timers() == 0
    with store.transaction("a"):  # and the store is usable afterwards
        store.put("t", "a", "2", {"v": 3})
    assert [d["v"] for d in store.scan("t", "a")] == [1, 3]


def test_scan_filters_and_pages_in_insertion_order(store: Store) -> None:
    with store.transaction():
        for n in range(6):
            store.put("t", "a", f"k{n}", {"n": n, "even": n % 2 == 0, "s": "x" if n < 3 else "y"}, ts=n)
        store.put("t", "b", "k0", {"n": 100})
        store.put("t", "a", "k1", {"n": 1, "even": False, "s": "changed"}, ts=99)  # keeps place and ts
    assert [d["n"] for d in store.scan("t", "a")] == [0, 1, 2, 3, 4, 5]
    assert [d["n"] for d in store.scan("t", "a", equals={"s": "y"})] == [3, 4, 5]
    assert [d["n"] for d in store.scan("t", "a", equals={"even": True})] == [0, 2, 4]
    assert store.scan("t", "a", equals={"even": False, "s": "x"}) == []
    assert store.scan("t", "a", equals={"s": "changed", "n": 2}) == []
    assert [d["n"] for d in store.scan("t", "a", ts_gte=4)] == [4, 5]
    assert [d["n"] for d in store.scan("t", "a", after="k1", limit=2)] == [2, 3]
    assert store.scan("t", "a", equals={"s": "changed"}) == [{"n": 1, "even": False, "s": "changed"}]
    with pytest.raises(KeyError):
        store.scan("t", "a", after="missing")


def test_scan_equality_on_none_matches_missing_and_null_fields(store: Store) -> None:
    with store.transaction():
        store.put("t", "a", "1", {"n": 1, "policy_id": None})
        store.put("t", "a", "2", {"n": 2})
        store.put("t", "a", "3", {"n": 3, "policy_id": "pol_1", "nested": {"policy_id": None}})
        store.put("t", "a", "4", {"n": 4, "policy_id": "pol\x00\\0"})  # NUL and backslash survive
    assert [d["n"] for d in store.scan("t", "a", equals={"policy_id": None})] == [1, 2]
    assert [d["n"] for d in store.scan("t", "a", equals={"policy_id": "pol_1"})] == [3]
    assert store.get("t", "a", "4") == {"n": 4, "policy_id": "pol\x00\\0"}
    if isinstance(store, PostgresStore):  # jsonb refuses NUL: the store escapes it, injectively
        assert [d["n"] for d in store.scan("t", "a", equals={"policy_id": "pol\x00\\0"})] == [4]
        assert [d["n"] for d in store.scan("t", "a", equals={"policy_id": "pol\\0\\0"})] == []


def test_documents_come_back_exactly_as_written(store: Store) -> None:
    doc = {"z": 1, "a": [1.5, "二", None, {"b": True}], "m": "0.10", "big": 2**62}
    with store.transaction():
        store.put("t", "a", "1", doc)
    got = store.get("t", "a", "1")
    assert got == doc and list(got or {}) == ["z", "a", "m", "big"]  # key order kept too
    assert store.get("t", "a", "2") is None and store.get("t", "b", "1") is None


def test_a_tenant_clock_starts_unset_and_keeps_its_skew(store: Store) -> None:
    assert store.get_skew("a") is None
    with store.transaction("a"):
        store.set_skew("a", 86_400_000_000)
    with store.transaction("a"):
        store.set_skew("a", -5)
    with store.transaction("b"):
        store.set_skew("b", 7)
    assert (store.get_skew("a"), store.get_skew("b"), store.get_skew("c")) == (-5, 7, None)


def test_counters_count_per_name(store: Store) -> None:
    with store.transaction("a"):
        assert [store.counter("ids:a") for _ in range(3)] == [1, 2, 3]
        assert store.counter("ids:b") == 1
    with store.transaction("a"):
        assert store.counter("ids:a") == 4


def test_timer_seqs_increase_in_the_order_the_timers_were_added(store: Store) -> None:
    with store.transaction("a"):
        seqs = [store.add_timer("a", due, None, {"n": due}) for due in (30, 10, 20)]
        seqs.append(store.add_timer("b", 5, "r", {}, lane="we_1"))
    assert seqs == sorted(seqs) and len(set(seqs)) == 4


def test_timers_come_out_by_due_time_then_sequence(store: Store) -> None:
    with store.transaction():
        store.add_timer("a", 50, "r", {"n": 3})
        store.add_timer("a", 50, None, {"n": 4})
        store.add_timer("a", 20, "r", {"n": 2})
        store.add_timer("a", 5, None, {"n": 1})
        store.add_timer("b", 1, "r", {"n": 100})
    order = []
    while (timer := store.next_timer("a", 100)) is not None:
        assert timer.tenant == "a" and timer.lane is None
        order.append(timer.data["n"])
        with store.transaction("a"):
            store.delete_timer(timer.seq)
    assert order == [1, 2, 3, 4]
    with store.transaction():
        store.add_timer("a", 10, "r", {})
        store.add_timer("b", 10, "r", {})
        store.add_timer("b", 10, "other", {})
        store.delete_timers("a", "r")
        store.delete_timers("b", "r")
    assert store.count_timers() == 1
    assert store.next_timer("a", 1000) is None
    remaining = store.next_timer("b", 1000)
    assert remaining is not None and remaining.ref == "other"
    assert store.next_timer("b", 9) is None  # not due yet


def test_next_timer_sees_deferred_work_only_when_asked(store: Store) -> None:
    with store.transaction("a"):
        attempt = store.add_timer("a", 10, "evt_1", {"attempt": 1}, lane="we_1")
        transition = store.add_timer("a", 20, "pol_1", {"kind": "overdue"})
    first = store.next_timer("a", 100)
    assert first is not None and (first.seq, first.lane) == (transition, None)
    either = store.next_timer("a", 100, deferred=True)
    assert either is not None
    assert (either.seq, either.due, either.ref, either.data, either.lane) == (
        attempt,
        10,
        "evt_1",
        {"attempt": 1},
        "we_1",
    )
    assert store.next_timer("a", 15) is None
    assert store.next_timer("a", 15, deferred=True) == either
    assert store.next_timer("b", 100, deferred=True) is None


def seqs(timers: list[Timer]) -> list[int]:
    return [t.seq for t in timers]


def test_claim_takes_the_head_of_each_lane_and_a_leased_head_holds_its_lane(store: Store) -> None:
    with store.transaction("a"):
        a1 = store.add_timer("a", 10, "e1", {}, lane="we_1")
        a2 = store.add_timer("a", 11, "e2", {}, lane="we_1")
        b1 = store.add_timer("a", 12, "e3", {}, lane="we_2")
        store.add_timer("a", 5, "pol", {})  # a transition: never claimed
        other = store.add_timer("b", 1, "e4", {}, lane="we_1")  # another tenant's lane of that name
    claimed = store.claim_timers(now=100, lease_until=200, limit=10, tenant="a", until=1000)
    assert [t.seq for t in claimed] == [a1, b1]
    # both heads are leased: nothing more of tenant a, however due
    assert store.claim_timers(now=150, lease_until=300, limit=10, tenant="a", until=1000) == []
    # the lane moves on once its head is done
    with store.transaction("a"):
        store.delete_timer(a1)
    assert seqs(store.claim_timers(now=150, lease_until=300, limit=10, tenant="a", until=1000)) == [a2]
    # tenant b's lane was never held by tenant a's
    assert seqs(store.claim_timers(now=150, lease_until=300, limit=10, tenant="b", until=1)) == [other]


def test_an_expired_lease_lets_another_worker_claim_the_timer_again(store: Store) -> None:
    with store.transaction("a"):
        seq = store.add_timer("a", 10, "e1", {"n": 1}, lane="we_1")
        store.add_timer("a", 11, "e2", {"n": 2}, lane="we_1")
    assert seqs(store.claim_timers(now=100, lease_until=200, limit=5, tenant="a", until=50)) == [seq]
    # still held at 200
    assert store.claim_timers(now=200, lease_until=300, limit=5, tenant="a", until=50) == []
    again = store.claim_timers(now=201, lease_until=300, limit=5, tenant="a", until=50)
    assert [(t.seq, t.data) for t in again] == [(seq, {"n": 1})]  # the head again, not the next one


def test_claim_respects_due_limit_and_order(store: Store) -> None:
    with store.transaction():
        late = store.add_timer("a", 40, "e", {}, lane="we_1")
        early = store.add_timer("a", 20, "e", {}, lane="we_2")
        tie = store.add_timer("a", 20, "e", {}, lane="we_3")
        store.add_timer("a", 60, "e", {}, lane="we_4")
    assert seqs(store.claim_timers(now=0, lease_until=9, limit=2, tenant="a", until=50)) == [early, tie]
    assert seqs(store.claim_timers(now=0, lease_until=9, limit=5, tenant="a", until=50)) == [late]


def test_claim_for_every_tenant_uses_each_tenants_clock(store: Store) -> None:
    with store.transaction():
        store.set_skew("ahead", 1000)
        store.set_skew("behind", -1000)
        ahead = store.add_timer("ahead", 1500, "e", {}, lane="we_1")
        store.add_timer("behind", 1, "e", {}, lane="we_1")
        plain = store.add_timer("plain", 600, "e", {}, lane="we_1")  # no clock row yet: skew 0
        store.add_timer("plain", 700, "e", {}, lane="we_2")
    claimed = store.claim_timers(now=0, lease_until=10, limit=10, base=600)
    assert [(t.tenant, t.seq) for t in claimed] == [("plain", plain), ("ahead", ahead)]


def test_due_tenants_uses_each_tenants_clock_and_ignores_deferred_work(store: Store) -> None:
    with store.transaction():
        store.set_skew("ahead", 1000)
        store.add_timer("ahead", 1500, "p", {})
        store.add_timer("plain", 500, "p", {})
        store.add_timer("plain", 501, "p", {})
        store.add_timer("later", 900, "p", {})
        store.add_timer("deliveries", 1, "e", {}, lane="we_1")
    assert sorted(store.due_tenants(600)) == ["ahead", "plain"]
    assert store.due_tenants(0) == []


# --- PostgreSQL: several connections (processes) on one database -------------------------------------


@pytest.fixture
def schema_dsn(pg_dsn: str) -> Iterator[str]:
    with fresh_schema(pg_dsn) as dsn:
        yield dsn


@contextlib.contextmanager
def pg_stores(dsn: str, count: int) -> Iterator[list[PostgresStore]]:
    stores = [PostgresStore(dsn) for _ in range(count)]
    try:
        yield stores
    finally:
        for s in stores:
            s.close()


@pytest.mark.postgres
def test_one_tenant_is_serialised_across_connections_and_two_tenants_are_not(schema_dsn: str) -> None:
    with pg_stores(schema_dsn, 2) as (one, two):
        holding, release = threading.Event(), threading.Event()

        def hold() -> None:
            with one.transaction("acme"):
                one.put("t", "acme", "k", {"v": 1})
                holding.set()
                release.wait(30)

        holder = threading.Thread(target=hold)
        holder.start()
        assert holding.wait(30)
        started = time.monotonic()
        with two.transaction("other"):  # another tenant: not held up
            two.put("t", "other", "k", {"v": 2})
        assert time.monotonic() - started < 3.0

        seen: list[Any] = []

        def follow() -> None:
            with two.transaction("acme"):
                seen.append(two.get("t", "acme", "k"))

        follower = threading.Thread(target=follow)
        follower.start()
        follower.join(1.0)
        assert follower.is_alive() and seen == []  # waits for acme's lock
        release.set()
        holder.join(30)
        follower.join(30)
        assert seen == [{"v": 1}]  # and then reads what the holder committed


@pytest.mark.postgres
def test_a_failed_transaction_releases_the_tenant_lock(schema_dsn: str) -> None:
    with pg_stores(schema_dsn, 2) as (one, two):
        with pytest.raises(RuntimeError), one.transaction("acme"):
            one.put("t", "acme", "k", {"v": 1})
            raise RuntimeError
        done = threading.Event()

        def take() -> None:
            with two.transaction("acme"):
                done.set()

        taker = threading.Thread(target=take)
        taker.start()
        taker.join(10)
        assert done.is_set() and two.get("t", "acme", "k") is None


@pytest.mark.postgres
def test_a_lane_whose_head_another_worker_is_claiming_is_skipped_whole(schema_dsn: str) -> None:
    with pg_stores(schema_dsn, 2) as (one, two):
        with one.transaction("a"):
            head = one.add_timer("a", 10, "e1", {}, lane="we_1")
            one.add_timer("a", 11, "e2", {}, lane="we_1")
            elsewhere = one.add_timer("a", 12, "e3", {}, lane="we_2")
        with one.transaction():
            # worker one leases the head of we_1 and has not committed yet
            assert seqs(one.claim_timers(now=0, lease_until=99, limit=1, base=100)) == [head]
            # worker two skips the locked head and does not take the lane's second timer either
            assert seqs(two.claim_timers(now=0, lease_until=99, limit=10, base=100)) == [elsewhere]
        assert two.claim_timers(now=50, lease_until=99, limit=10, base=100) == []  # committed leases hold


@pytest.mark.postgres
def test_concurrent_claims_from_two_workers_never_share_a_timer(schema_dsn: str) -> None:
    lanes, per_lane = 8, 6
    with pg_stores(schema_dsn, 3) as (setup, *workers):
        with setup.transaction("a"):
            expected = {
                f"we_{lane}": [setup.add_timer("a", n, "e", {}, lane=f"we_{lane}") for n in range(per_lane)]
                for lane in range(lanes)
            }
        claims: list[tuple[str, int]] = []
        guard = threading.Lock()

        errors: list[BaseException] = []

        def work(store: PostgresStore) -> None:
            idle = 0
            try:
                while idle < 20:
                    got = store.claim_timers(now=0, lease_until=10**12, limit=3, base=10**6)
                    idle = 0 if got else idle + 1
                    for timer in got:
                        with guard:
                            claims.append((str(timer.lane), timer.seq))
                        with store.transaction("a"):
                            store.delete_timer(timer.seq)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(w,)) for w in workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == []
        assert sorted(seq for _, seq in claims) == sorted(s for seqs in expected.values() for s in seqs)
        for lane, seqs in expected.items():
            assert [seq for name, seq in claims if name == lane] == seqs  # each lane in order


@pytest.mark.postgres
def test_processes_creating_the_tables_at_once_do_not_collide(schema_dsn: str) -> None:
    errors: list[BaseException] = []
    stores: list[PostgresStore] = []
    barrier = threading.Barrier(6)

    def open_one() -> None:
        try:
            barrier.wait(30)
            stores.append(PostgresStore(schema_dsn))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for s in stores:
        s.close()
    assert errors == [] and len(stores) == 6


@pytest.mark.postgres
def test_an_equality_scan_can_use_the_fields_index(schema_dsn: str) -> None:
    import psycopg

    with pg_stores(schema_dsn, 1) as (store,):
        with store.transaction("a"):
            for n in range(2000):
                doc = {"policy_id": f"pol_{n % 500}", "n": n, "schedule": [n]}
                store.put("repayments", "a", f"r{n}", doc)
        found = store.scan("repayments", "a", equals={"policy_id": "pol_7"})
        assert [d["n"] for d in found] == [7, 507, 1007, 1507]
        with psycopg.connect(schema_dsn, autocommit=True) as conn:
            conn.execute("ANALYZE sandbox_objects")
            plan = "\n".join(
                str(r[0])
                for r in conn.execute(
                    "EXPLAIN SELECT data FROM sandbox_objects WHERE tbl = 'repayments' AND tenant = 'a'"
                    """ AND fields @> '{"policy_id": "pol_7"}'::jsonb ORDER BY seq"""
                )
            )
        assert "sandbox_objects_fields" in plan, plan


@pytest.mark.postgres
def test_the_dsn_password_is_never_shown(pg_dsn: str) -> None:
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    port = conninfo_to_dict(pg_dsn).get("port", "5432")
    secret = "s3cret-Pa55word"
    with pytest.raises(Exception) as failed:
        PostgresStore(f"postgresql://nobody:{secret}@127.0.0.1:{port}/nowhere?connect_timeout=5")
    assert secret not in str(failed.value) and secret not in repr(failed.value)
    assert failed.value.__cause__ is None and failed.value.__suppress_context__
    with pytest.raises(Exception) as malformed:
        PostgresStore(f"postgresql://nobody:{secret}@127.0.0.1:notaport/nowhere")
    assert secret not in str(malformed.value)
    with fresh_schema(pg_dsn) as dsn:
        store = PostgresStore(make_conninfo(dsn, password=secret))  # trust auth ignores it
        try:
            assert secret not in repr(store) and "127.0.0.1" in repr(store)
        finally:
            store.close()


@pytest.mark.postgres
def test_open_store_opens_postgresql_urls_in_the_schema_the_url_names(pg_dsn: str) -> None:
    import psycopg

    with fresh_database(pg_dsn) as url:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute("CREATE SCHEMA sandbox")
        for form in (url, url.replace("postgresql://", "postgres://", 1)):
            store = open_store(f"{form}?options=-csearch_path%3Dsandbox")
            try:
                assert isinstance(store, PostgresStore)
                with store.transaction("a"):
                    store.put("t", "a", "k", {"form": form[:8]})
            finally:
                store.close()
        with psycopg.connect(url, autocommit=True) as admin:
            row = admin.execute("SELECT count(*) FROM sandbox.sandbox_objects").fetchone()
        assert row == (1,)


@pytest.mark.postgres
def test_a_connection_the_server_dropped_is_replaced_without_a_failed_call(pg_dsn: str) -> None:
    import psycopg

    with fresh_database(pg_dsn) as url:
        store = PostgresStore(url)
        try:
            with store.transaction("a"):
                store.put("t", "a", "k", {"v": 1})

            def drop() -> None:
                with psycopg.connect(url, autocommit=True) as admin:
                    admin.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND application_name = %s",
                        (APPLICATION_NAME,),
                    )

            drop()
            assert store.get("t", "a", "k") == {"v": 1}  # a read outside a transaction
            drop()
            with store.transaction("a"):  # a transaction's BEGIN
                store.put("t", "a", "k", {"v": 2})
            assert store.scan("t", "a") == [{"v": 2}]
        finally:
            store.close()
