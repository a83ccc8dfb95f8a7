"""Inboxes: the claim / complete / release contract, leases, threads and processes.

The same contract runs against MemoryInbox, SQLiteInbox and PostgresInbox (marked ``postgres``).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from yangguang_sdk.errors import ParameterError
from yangguang_sdk.webhooks import Inbox, MemoryInbox, SQLiteInbox

from ._events import run_worker_processes

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
    assert inbox.claim("evt_1") is True
    assert inbox.claim("evt_1") is False
    assert inbox.claim("evt_2") is True
    assert not inbox.is_done("evt_1")


def test_released_event_can_be_claimed_again(make_inbox: InboxFactory) -> None:
    inbox = make_inbox()
    assert inbox.claim("evt_1")
    inbox.release("evt_1")
    assert inbox.claim("evt_1")


def test_completed_event_is_done_and_never_claimed_again(make_inbox: InboxFactory) -> None:
    inbox = make_inbox()
    assert inbox.claim("evt_1")
    inbox.complete("evt_1")
    assert inbox.is_done("evt_1")
    assert not inbox.claim("evt_1")
    inbox.release("evt_1")  # a late release changes nothing
    assert inbox.is_done("evt_1") and not inbox.claim("evt_1")


def test_complete_without_a_claim_marks_done(make_inbox: InboxFactory) -> None:
    inbox = make_inbox()
    inbox.complete("evt_1")
    assert inbox.is_done("evt_1") and not inbox.claim("evt_1")


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
        assert inbox.claim(event_id)
        inbox.complete(event_id)
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
    SQLiteInbox(tmp_path / "inbox.db").complete("evt_1")
    assert SQLiteInbox(tmp_path / "inbox.db").is_done("evt_1")


def test_sqlite_release_by_another_instance_does_not_steal_a_live_claim(tmp_path: Path) -> None:
    first, second = SQLiteInbox(tmp_path / "inbox.db"), SQLiteInbox(tmp_path / "inbox.db")
    assert first.claim("evt_1")
    second.release("evt_1")  # second never claimed it
    assert not second.claim("evt_1")


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
