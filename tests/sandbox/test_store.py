"""Storage: SQLite durability across reopen, atomic operations, and parity with the memory store."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from yangguang_sdk.sandbox.app import error_answer
from yangguang_sdk.sandbox.engine import Engine
from yangguang_sdk.sandbox.idempotency import Idempotency
from yangguang_sdk.sandbox.store import MemoryStore, SQLiteStore, Store, Timer

from .test_engine import START, T, check_ledger
from .test_pricing import quote_params

ROOT = Path(__file__).resolve().parents[2]
DAY = dt.timedelta(days=1)


def scenario_part_one(engine: Engine) -> dict[str, Any]:
    """Quotes, a policy with a repayment and an overdue installment, a pending referral, a key."""
    quote = engine.create_quote(T, quote_params())
    policy = engine.bind_policy(T, quote["id"])
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
    assert second.now() >= START + DAY
    assert second.now() < START + DAY + dt.timedelta(minutes=5)
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
        engine.bind_policy(T, quote["id"])
    monkeypatch.undo()

    assert engine.list_policies(T)["data"] == []
    assert engine.ledger(T)["entries"] == []
    assert engine.list_events(T)["data"] == []
    assert engine.get_quote(T, quote["id"])["policy_id"] is None
    policy = engine.bind_policy(T, quote["id"])  # and the quote is still bindable
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
        engine.bind_policy("{T}", quote["id"])
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
    assert engine.bind_policy(T, quote_id)["status"] == "active"
    engine.close()


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    s: Store = MemoryStore() if request.param == "memory" else SQLiteStore(str(tmp_path / "s.sqlite"))
    yield s
    s.close()


def test_nested_savepoint_rolls_back_only_its_own_writes(store: Store) -> None:
    with store.transaction():
        store.put("t", "a", "1", {"v": 1})
        with pytest.raises(ValueError), store.transaction():
            store.put("t", "a", "2", {"v": 2})
            store.put("t", "a", "1", {"v": 99})
            store.set_meta("m", "x")
            store.add_timer(Timer(1, 10, "a", None, {"kind": "k"}))
            raise ValueError
        store.put("t", "a", "3", {"v": 3})
    assert [d["v"] for d in store.scan("t", "a")] == [1, 3]
    assert store.get_meta("m") is None
    assert store.next_timer(100) is None


def test_scan_filters_and_pages_in_insertion_order(store: Store) -> None:
    with store.transaction():
        for n in range(6):
            store.put("t", "a", f"k{n}", {"n": n, "even": n % 2 == 0, "s": "x" if n < 3 else "y"}, ts=n)
        store.put("t", "b", "k0", {"n": 100})
        store.put("t", "a", "k1", {"n": 1, "even": False, "s": "changed"})  # keeps its place
    assert [d["n"] for d in store.scan("t", "a")] == [0, 1, 2, 3, 4, 5]
    assert [d["n"] for d in store.scan("t", "a", equals={"s": "y"})] == [3, 4, 5]
    assert [d["n"] for d in store.scan("t", "a", equals={"even": True})] == [0, 2, 4]
    assert [d["n"] for d in store.scan("t", "a", ts_gte=4)] == [4, 5]
    assert [d["n"] for d in store.scan("t", "a", after="k1", limit=2)] == [2, 3]
    with pytest.raises(KeyError):
        store.scan("t", "a", after="missing")


def test_timers_come_out_by_due_time_then_sequence(store: Store) -> None:
    with store.transaction():
        store.add_timer(Timer(3, 50, "a", "r", {"n": 3}))
        store.add_timer(Timer(1, 50, "a", None, {"n": 1}))
        store.add_timer(Timer(2, 20, "b", "r", {"n": 2}))
    order = []
    while (timer := store.next_timer(100)) is not None:
        order.append(timer.data["n"])
        with store.transaction():
            store.delete_timer(timer.seq)
    assert order == [2, 1, 3]
    with store.transaction():
        store.add_timer(Timer(4, 10, "a", "r", {}))
        store.add_timer(Timer(5, 10, "b", "r", {}))
        store.delete_timers("a", "r")
    assert store.count_timers() == 1 and store.next_timer(5) is None
