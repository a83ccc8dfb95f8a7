"""Inboxes: the claim / complete / release contract, leases, threads and processes.

The same contract runs against MemoryInbox, SQLiteInbox and PostgresInbox (marked ``postgres``).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from yangguang_sdk.errors import ParameterError
from yangguang_sdk.webhooks import Inbox, MemoryInbox, SQLiteInbox

from ._events import REPO_ROOT, run_worker_processes

InboxFactory = Callable[..., Inbox]


@pytest.fixture(
    params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def make_inbox(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[InboxFactory]:
    """``make_inbox(lease_seconds=...)``: a fresh, empty inbox of each kind."""
    created: list[Inbox] = []

    def make(lease_seconds: float = 60) -> Inbox:
        inbox: Inbox
        if request.param == "memory":
            inbox = MemoryInbox(lease_seconds)
        elif request.param == "sqlite":
            inbox = SQLiteInbox(tmp_path / f"{uuid.uuid4().hex}.db", lease_seconds)
        else:
            from yangguang_sdk.webhooks import PostgresInbox

            dsn = request.getfixturevalue("pg_dsn")
            inbox = PostgresInbox(dsn, lease_seconds, table=f"inbox_{uuid.uuid4().hex[:12]}")
        created.append(inbox)
        return inbox

    yield make
    for inbox in created:
        close = getattr(inbox, "close", None)
        if callable(close):
            close()


def test_first_claim_wins_and_a_second_waits(make_inbox: InboxFactory) -> None:
    inbox = make_inbox()
    first = inbox.claim("evt_1")
    assert isinstance(first, str) and first
    assert inbox.claim("evt_1") is None
    second = inbox.claim("evt_2")
    assert isinstance(second, str) and second != first
    assert not inbox.is_done("evt_1")


def test_released_event_can_be_claimed_again(make_inbox: InboxFactory) -> None:
    inbox = make_inbox()
    token = inbox.claim("evt_1")
    assert token is not None
    assert inbox.release("evt_1", token)
    assert inbox.claim("evt_1")


def test_completed_event_is_done_and_never_claimed_again(make_inbox: InboxFactory) -> None:
    inbox = make_inbox()
    token = inbox.claim("evt_1")
    assert token is not None
    assert inbox.complete("evt_1", token)
    assert inbox.is_done("evt_1")
    assert not inbox.claim("evt_1")
    assert not inbox.release("evt_1", token)  # a late release changes nothing
    assert not inbox.complete("evt_1", token)
    assert inbox.is_done("evt_1") and not inbox.claim("evt_1")


def test_complete_without_a_claim_changes_nothing(make_inbox: InboxFactory) -> None:
    inbox = make_inbox()
    assert not inbox.complete("evt_1", "not-a-token")
    assert not inbox.is_done("evt_1") and inbox.claim("evt_1")


def test_a_stale_release_cannot_free_the_next_workers_claim(make_inbox: InboxFactory) -> None:
    # A claims; A's lease expires; B claims; A's function fails and calls release: B keeps the
    # event, so C cannot claim it while B runs (issue #16).
    inbox = make_inbox(lease_seconds=3)
    a = inbox.claim("evt_1")
    assert a is not None
    _expire(inbox, "evt_1")
    b = inbox.claim("evt_1")
    assert b is not None and b != a
    assert not inbox.release("evt_1", a)
    assert inbox.claim("evt_1") is None  # C
    assert not inbox.complete("evt_1", a)  # nor can A complete B's claim
    assert not inbox.is_done("evt_1")
    assert inbox.complete("evt_1", b) and inbox.is_done("evt_1")


def test_renew_keeps_the_claim_and_a_lost_token_cannot_renew(make_inbox: InboxFactory) -> None:
    inbox = make_inbox(lease_seconds=3)
    a = inbox.claim("evt_1")
    assert a is not None
    assert inbox.renew("evt_1", a)
    assert inbox.claim("evt_1") is None
    _expire(inbox, "evt_1")
    b = inbox.claim("evt_1")
    assert b is not None
    assert not inbox.renew("evt_1", a)
    assert inbox.renew("evt_1", b)
    assert inbox.complete("evt_1", b)
    assert not inbox.renew("evt_1", b)  # done: nothing left to renew


def _expire(inbox: Inbox, event_id: str) -> None:
    """Make the event's live lease expire now, as if its worker stalled past ``lease_seconds``."""
    if isinstance(inbox, MemoryInbox):
        token, _ = inbox._leases[event_id]
        inbox._leases[event_id] = (token, 0.0)
    elif isinstance(inbox, SQLiteInbox):
        with sqlite3.connect(inbox.path) as conn:
            conn.execute("UPDATE yangguang_webhook_inbox SET lease_until = 0 WHERE event_id = ?", (event_id,))
    else:
        import psycopg

        from yangguang_sdk.webhooks import PostgresInbox

        assert isinstance(inbox, PostgresInbox)
        with psycopg.connect(inbox.dsn, autocommit=True) as conn:
            conn.execute(
                f"UPDATE {inbox.table} SET lease_until = '-infinity' WHERE event_id = %s",  # noqa: S608
                (event_id,),
            )


def test_unknown_event_is_not_done(make_inbox: InboxFactory) -> None:
    assert not make_inbox().is_done("evt_never_seen")


def test_crashed_workers_lease_expires(make_inbox: InboxFactory) -> None:
    inbox = make_inbox(lease_seconds=0.3)
    assert inbox.claim("evt_1")  # ...and the worker dies without complete or release
    assert not inbox.claim("evt_1")
    time.sleep(0.45)
    assert inbox.claim("evt_1")


def test_odd_event_ids_are_stored_verbatim(make_inbox: InboxFactory) -> None:
    inbox = make_inbox()
    for event_id in ("evt_'; DROP TABLE x; --", "事件_1", "x" * 256):
        token = inbox.claim(event_id)
        assert token is not None
        assert inbox.complete(event_id, token)
        assert inbox.is_done(event_id)


def test_concurrent_claims_from_threads_have_one_winner(make_inbox: InboxFactory) -> None:
    inbox = make_inbox()
    wins: Counter[str] = Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(6)

    def worker() -> None:
        barrier.wait()
        for n in range(25):
            if inbox.claim(f"evt_{n}"):
                with lock:
                    wins[f"evt_{n}"] += 1

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wins == Counter({f"evt_{n}": 1 for n in range(25)})


def test_every_inbox_satisfies_the_protocol(make_inbox: InboxFactory) -> None:
    assert isinstance(make_inbox(), Inbox)


# -- MemoryInbox and SQLiteInbox specifics --------------------------------------------------------


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_lease_follows_the_injected_clock(kind: str, tmp_path: Path) -> None:
    now = [1000.0]
    inbox: Inbox
    if kind == "memory":
        inbox = MemoryInbox(60, clock=lambda: now[0])
    else:
        inbox = SQLiteInbox(tmp_path / "inbox.db", 60, clock=lambda: now[0])
    assert inbox.claim("evt_1")
    now[0] += 59.9
    assert not inbox.claim("evt_1")
    now[0] += 0.2
    assert inbox.claim("evt_1")


def test_sqlite_inbox_persists_across_instances(tmp_path: Path) -> None:
    with SQLiteInbox(tmp_path / "inbox.db") as inbox:
        token = inbox.claim("evt_1")
        assert token is not None and inbox.complete("evt_1", token)
    assert SQLiteInbox(tmp_path / "inbox.db").is_done("evt_1")


def test_sqlite_release_by_another_instance_does_not_steal_a_live_claim(tmp_path: Path) -> None:
    first, second = SQLiteInbox(tmp_path / "inbox.db"), SQLiteInbox(tmp_path / "inbox.db")
    assert first.claim("evt_1")
    assert not second.release("evt_1", "a-token-it-never-had")
    assert not second.claim("evt_1")


def test_memory_inbox_forgets_done_events_after_the_retention() -> None:
    now = [1000.0]
    inbox = MemoryInbox(60, retention_seconds=3600, clock=lambda: now[0])
    for n in range(3):
        token = inbox.claim(f"evt_{n}")
        assert token is not None and inbox.complete(f"evt_{n}", token)
        now[0] += 1000
    assert repr(inbox) == "MemoryInbox(done=3, leased=0)"
    now[0] += 700  # evt_0 was completed 3,700 s ago, evt_1 2,700 s ago
    assert inbox.claim("evt_other") is not None
    assert not inbox.is_done("evt_0") and inbox.is_done("evt_1") and inbox.is_done("evt_2")
    assert len(inbox._done) == 2


def test_memory_inbox_retention_defaults_to_seven_days() -> None:
    assert MemoryInbox().retention_seconds == 7 * 86400
    with pytest.raises(ParameterError, match="retention_seconds"):
        MemoryInbox(retention_seconds=0)


def test_sqlite_inbox_refuses_an_in_memory_database() -> None:
    with pytest.raises(ParameterError, match="MemoryInbox"):
        SQLiteInbox(":memory:")


@pytest.mark.parametrize("lease", [0, -1, True, "60"])
def test_lease_must_be_positive(lease: object, tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="lease_seconds"):
        MemoryInbox(lease)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="lease_seconds"):
        SQLiteInbox(tmp_path / "inbox.db", lease)  # type: ignore[arg-type]


def test_four_processes_on_one_sqlite_inbox_run_each_event_once(tmp_path: Path) -> None:
    counts = run_worker_processes(f"sqlite:{tmp_path / 'inbox.db'}", tmp_path, events=30, workers=4)
    assert set(counts.values()) == {1}, {k: v for k, v in counts.items() if v != 1}


def test_four_processes_with_a_lease_shorter_than_the_function_run_each_event_once(tmp_path: Path) -> None:
    # Lease 3 s, function 5 s: without renewal a second worker takes over after 3 s (issue #16).
    counts = run_worker_processes(
        f"sqlite:{tmp_path / 'inbox.db'}", tmp_path, events=3, lease=3, function_seconds=5, fail_rate=0
    )
    assert set(counts.values()) == {1}, {k: v for k, v in counts.items() if v != 1}


_KILLED_AFTER_COMPLETE = """
import os, signal, sys
from yangguang_sdk.webhooks import SQLiteInbox

inbox = SQLiteInbox(sys.argv[1])
for n in range(50):
    token = inbox.claim(f"evt_{n}")
    assert token is not None and inbox.complete(f"evt_{n}", token)
print("completed", flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_sqlite_inbox_keeps_completed_events_when_the_process_is_killed(tmp_path: Path) -> None:
    # WAL + synchronous=NORMAL: a commit is in the WAL file when complete() returns, so a SIGKILL
    # right after (no close, no checkpoint) loses nothing.
    path = tmp_path / "inbox.db"
    result = subprocess.run(
        [sys.executable, "-c", _KILLED_AFTER_COMPLETE, str(path)],
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == -signal.SIGKILL and result.stdout == "completed\n", result.stderr
    inbox = SQLiteInbox(path)
    assert all(inbox.is_done(f"evt_{n}") for n in range(50))
    assert inbox.claim("evt_49") is None
