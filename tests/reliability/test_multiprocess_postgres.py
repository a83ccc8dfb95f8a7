"""The served sandbox as several processes on one PostgreSQL database (DESIGN §7.2): every guarantee
holds across processes.

- Two worker processes (``python -m yangguang_sdk.sandbox --db postgresql://...``, each on its own
  port) behind ``Balancer``, a load balancer that alternates requests between them and takes a
  worker that refuses connections out of rotation. Concurrent binds of one quote, with one
  idempotency key and with many keys, spread over both workers: exactly one policy.
- The checkout-under-faults flow of ``test_checkout_faults.py`` through the balancer.
- kill -9 (SIGKILL) of one worker in the middle of a burst of checkouts: every acknowledged bind
  exists exactly once, every order ends with one policy, the ledger balances and the tenant's events
  are in order.
- ``--workers 2``: two processes sharing one listening socket under a supervisor that replaces a
  killed worker; SQLite refuses it in one line.

Each test gets a fresh database on ``pg_dsn`` (a throwaway cluster or YANGGUANG_TEST_PG_DSN). The
assertions read the books through an in-process ``Sandbox`` opened on the same database: a third
process's view, which must agree with what the callers were told.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from yangguang_sdk import Client
from yangguang_sdk.sandbox import Sandbox
from yangguang_sdk.sandbox.store_pg import APPLICATION_NAME
from yangguang_sdk.types import Policy

from ..pg import fresh_database
from ..servers import ROOT, free_port, start_server, stop_server, wait_for_port
from .conftest import API_KEY, FAULTS, FakeClock, FaultPlan, FaultyTransport, borrower, loan, sized
from .test_checkout_faults import Tally, _assert_exactly_one_policy_per_order, _checkout, _order

pytestmark = [
    pytest.mark.postgres,
    # A connection to a worker killed mid-request may be dropped by httpcore without an explicit
    # close; its socket's ResourceWarning surfaces whenever the collector runs. It says nothing about
    # the sandbox, so it is ignored here and collected before each test ends (not in a later test).
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


@pytest.fixture(autouse=True)
def _collect_dropped_connections() -> Iterator[None]:
    yield
    gc.collect()


RACERS = 12
"""Concurrent binds of one quote (half to each worker)."""
N_FAULTS = sized(60, 2_000)
N_KILL = sized(60, 1_000)
THREADS = 6
HEADERS = {"Authorization": f"Bearer {API_KEY}"}


@pytest.fixture
def database(pg_dsn: str) -> Iterator[str]:
    with fresh_database(pg_dsn) as url:
        yield url


@dataclass
class Worker:
    port: int
    proc: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextlib.contextmanager
def worker_processes(database: str, count: int = 2) -> Iterator[list[Worker]]:
    """``count`` sandbox processes on ``database``, each serving its own port."""
    workers: list[Worker] = []
    try:
        for _ in range(count):
            port = free_port()
            workers.append(
                Worker(
                    port,
                    start_server(
                        ["-m", "yangguang_sdk.sandbox", "--port", str(port), "--db", database], port
                    ),
                )
            )
        yield workers
    finally:
        for worker in workers:
            if worker.proc.poll() is None:
                stop_server(worker.proc)
            else:
                worker.proc.communicate()


class Balancer(httpx.BaseTransport):
    """A load balancer in front of the workers: requests alternate between them; a worker that
    refuses a connection is taken out of rotation (the SDK's retry then reaches another)."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.dead: set[int] = set()
        self.failures: Counter[int] = Counter()
        self.served: Counter[int] = Counter()
        self._turn = itertools.count()
        self._lock = threading.Lock()
        self._inner = httpx.HTTPTransport(limits=httpx.Limits(max_connections=64))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            alive = [p for p in self.ports if p not in self.dead] or self.ports
            port = alive[next(self._turn) % len(alive)]
        request.url = request.url.copy_with(host="127.0.0.1", port=port)
        try:
            response = self._inner.handle_request(request)
        except httpx.TransportError as exc:
            with self._lock:
                self.failures[port] += 1
                if isinstance(exc, httpx.ConnectError):
                    self.dead.add(port)
            raise
        with self._lock:
            self.served[port] += 1
        return response

    def close(self) -> None:
        self._inner.close()


@contextlib.contextmanager
def books(database: str) -> Iterator[Sandbox]:
    """The books as a third process sees them: an in-process Sandbox on the same database."""
    sb = Sandbox(db=database, api_key=API_KEY)
    try:
        yield sb
    finally:
        sb.close()


def _quote(base: str, order: str) -> str:
    body = {
        "product": "consumer_installment",
        "merchant_order_id": order,
        "borrower": borrower(),
        "loan": {**loan(), "principal": {"amount": 1299900, "currency": "CNY"}},
    }
    response = httpx.post(f"{base}/v1/quotes", json=body, headers=HEADERS, timeout=30)
    assert response.status_code == 200, response.text
    quote_id: str = response.json()["id"]
    _DECIDED[quote_id] = response.json()["decided_at"]
    return quote_id


_DECIDED: dict[str, str] = {}
"""Each quote's decision time: the borrower's consent is dated there (DESIGN §7.3)."""


def _bind_body(quote_id: str) -> dict[str, Any]:
    """A bind with the individual borrower's consent, acknowledged when the quote was decided."""
    return {
        "quote_id": quote_id,
        "consent": {"disclosure_acknowledged_at": _DECIDED[quote_id], "reference": f"CONSENT-{quote_id}"},
    }


def _race_binds(workers: list[Worker], quote_id: str, keys: list[str]) -> list[tuple[int, dict[str, Any]]]:
    """One bind per key, all released at once, alternating between the workers; a 409
    ``idempotency_request_in_progress`` is retried (as the SDK would) until it has an answer."""
    start = threading.Barrier(len(keys))
    answers: list[tuple[int, dict[str, Any]]] = []
    guard = threading.Lock()

    def bind(i: int, key: str) -> None:
        base = workers[i % len(workers)].url
        with httpx.Client(base_url=base, timeout=30) as http:
            start.wait(30)
            for _ in range(300):
                response = http.post(
                    "/v1/policies", json=_bind_body(quote_id), headers={**HEADERS, "Idempotency-Key": key}
                )
                body = response.json()
                if response.status_code == 409 and body["error"]["code"] == "idempotency_request_in_progress":
                    time.sleep(0.05)
                    continue
                with guard:
                    answers.append((response.status_code, body))
                return

    threads = [threading.Thread(target=bind, args=(i, key)) for i, key in enumerate(keys)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert len(answers) == len(keys), "a bind got no answer"
    return answers


def _policies_of(sb: Sandbox, quote_id: str) -> list[Policy]:
    with sb.client() as client:
        return [p for p in client.policies.list(limit=100) if p.quote_id == quote_id]


def test_concurrent_binds_of_one_quote_across_two_workers_make_one_policy(database: str) -> None:
    with worker_processes(database) as workers:
        # one idempotency key: every caller gets the one policy (made once, replayed to the others)
        first_quote = _quote(workers[0].url, "ORD-ONE-KEY")
        answers = _race_binds(workers, first_quote, ["ORD-ONE-KEY"] * RACERS)
        assert {status for status, _ in answers} == {200}, answers
        assert len({body["id"] for _, body in answers}) == 1
        first_policy = answers[0][1]["id"]

        # many keys: one bind wins, every other is told the quote is already bound
        second_quote = _quote(workers[1].url, "ORD-MANY-KEYS")
        answers = _race_binds(workers, second_quote, [f"ORD-MANY-KEYS/{i}" for i in range(RACERS)])
        won = [body for status, body in answers if status == 200]
        lost = Counter(body["error"]["code"] for status, body in answers if status != 200)
        assert len(won) == 1 and lost == {"quote_already_bound": RACERS - 1}, answers

    with books(database) as sb:
        assert [p.id for p in _policies_of(sb, first_quote)] == [first_policy]
        assert [p.id for p in _policies_of(sb, second_quote)] == [won[0]["id"]]
        with sb.client() as client:
            policies = list(client.policies.list(limit=100))
            assert len(policies) == 2
            assert sum(1 for _ in client.events.list(type="policy.bound", limit=100)) == 2
        _assert_balanced(sb, policies)


def _assert_balanced(sb: Sandbox, policies: list[Policy]) -> None:
    ledger = sb.engine.ledger(API_KEY)
    assert sum(ledger["balances"].values()) == 0
    assert ledger["totals"]["premium"] == sum(p.premium.amount for p in policies)
    assert sum(1 for e in ledger["entries"] if e["kind"] == "premium") == len(policies)


def _assert_events_in_order(sb: Sandbox) -> None:
    """The tenant's events, listed, are in time order, and each object's versions only go up."""
    with sb.client() as client:
        events = list(client.events.list(limit=100))
    assert events, "no events"
    stamps = [e.timestamp for e in events]
    assert stamps == sorted(stamps)
    versions: dict[str, list[int]] = {}
    for event in events:
        data: Any = getattr(event, "data", None)
        object_id = data.get("id") if isinstance(data, dict) else getattr(data, "id", None)
        if event.object_version is not None and object_id is not None:
            versions.setdefault(str(object_id), []).append(event.object_version)
    for object_id, seen in versions.items():
        assert seen == sorted(seen) and len(set(seen)) == len(seen), (object_id, seen)


@pytest.mark.slow
def test_checkouts_under_faults_across_two_workers_make_exactly_one_policy_each(
    database: str, fake_clock: FakeClock
) -> None:
    plan = FaultPlan(seed=20261129)
    orders = [_order("MP", i) for i in range(N_FAULTS)]
    tally = Tally()
    with worker_processes(database) as workers:
        balancer = Balancer([w.port for w in workers])
        transport = FaultyTransport(balancer, plan)
        with Client(api_key=API_KEY, base_url=workers[0].url, transport=transport, max_retries=8) as client:
            returned = [_checkout(client, order, tally) for order in orders]
        assert min(balancer.served.values()) > N_FAULTS // 2  # both workers did their share

    assert tally.untyped == []
    assert tally.replayed > 0  # responses lost after the commit were replayed, across processes too
    assert set(plan.injected) == set(FAULTS) and plan.key_conflicts == []
    with books(database) as sb:
        _assert_exactly_one_policy_per_order(sb, orders, returned)
        _assert_events_in_order(sb)


def _burst(
    client: Client, orders: list[str], tally: Tally, returned: dict[str, Policy], errors: list[BaseException]
) -> None:
    for order in orders:
        try:
            returned[order] = _checkout(client, order, tally)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
            return


@pytest.mark.slow
def test_a_worker_killed_mid_burst_loses_nothing_and_doubles_nothing(database: str) -> None:
    orders = [_order("KILL", i) for i in range(N_KILL)]
    tally = Tally()
    returned: dict[str, Policy] = {}
    errors: list[BaseException] = []
    with worker_processes(database) as (victim, survivor):
        balancer = Balancer([victim.port, survivor.port])
        with Client(api_key=API_KEY, base_url=victim.url, transport=balancer, max_retries=8) as client:
            threads = [
                threading.Thread(target=_burst, args=(client, orders[i::THREADS], tally, returned, errors))
                for i in range(THREADS)
            ]
            for t in threads:
                t.start()
            deadline = time.monotonic() + 60
            while len(returned) < N_KILL // 3 and time.monotonic() < deadline and not errors:
                time.sleep(0.01)
            served_before = balancer.served[victim.port]
            victim.proc.send_signal(signal.SIGKILL)  # kill -9, in the middle of the burst
            victim.proc.wait(30)
            for t in threads:
                t.join(120)
        assert victim.proc.returncode == -signal.SIGKILL
        assert served_before > 0 and balancer.failures[victim.port] > 0  # it died with work in flight
        assert survivor.proc.poll() is None

    assert errors == [] and tally.untyped == []
    assert sorted(returned) == sorted(orders)
    with books(database) as sb:
        _assert_exactly_one_policy_per_order(sb, orders, list(returned.values()))
        _assert_events_in_order(sb)


# -- --workers N: one port, a supervisor --------------------------------------------------------------


def _children(pid: int) -> set[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return {int(p) for p in text.split()}


def _sandbox_connections(database: str) -> int:
    import psycopg

    name = database.rsplit("/", 1)[1]
    with psycopg.connect(database, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name = %s",
            (name, APPLICATION_NAME),
        ).fetchone()
    assert row is not None
    return int(row[0])


def _wait_for(condition: Any, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads worker pids from /proc")
def test_serve_with_two_workers_shares_one_port_and_replaces_a_killed_worker(database: str) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "yangguang_sdk.sandbox",
            "--port",
            str(port),
            "--db",
            database,
            "--workers",
            "2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        cwd=ROOT,
    )
    try:
        wait_for_port(port, proc)
        assert proc.stdout is not None
        announce = proc.stdout.readline().decode()
        assert "2 workers" in announce and "postgresql" not in announce  # the URL is never printed
        _wait_for(lambda: _sandbox_connections(database) == 2)  # each worker its own store
        workers = _children(proc.pid)
        assert len(workers) >= 2

        base = f"http://127.0.0.1:{port}"
        quote_id = _quote(base, "ORD-WORKERS")
        answers = _race_binds([Worker(port, proc)], quote_id, [f"W/{i}" for i in range(RACERS)])
        assert sorted(status for status, _ in answers) == [200] + [409] * (RACERS - 1)

        victim = max(workers)
        os.kill(victim, signal.SIGKILL)
        _wait_for(lambda: victim not in _children(proc.pid) and len(_children(proc.pid)) >= 2)
        _wait_for(lambda: _sandbox_connections(database) == 2)  # a replacement opened its store
        quote_id = _quote(base, "ORD-AFTER-KILL")  # and the port still answers
        with httpx.Client(base_url=base, timeout=30) as http:
            bound = http.post("/v1/policies", json=_bind_body(quote_id), headers=HEADERS)
            assert bound.status_code == 200, bound.text
    finally:
        out, err = stop_server(proc)
    assert proc.returncode == 0, err.decode()[-2000:]
    assert b"exited" in err  # the supervisor said it replaced a worker
    with books(database) as sb, sb.client() as client:
        assert len(list(client.policies.list(limit=100))) == 2


def test_serve_refuses_workers_without_postgresql(tmp_path: Path) -> None:
    for command in (
        [sys.executable, "-m", "yangguang_sdk.cli", "sandbox", "serve", "--workers", "2"],
        [
            sys.executable,
            "-m",
            "yangguang_sdk.cli",
            "sandbox",
            "serve",
            "--workers",
            "2",
            "--db",
            str(tmp_path / "s.db"),
        ],
        [sys.executable, "-m", "yangguang_sdk.sandbox", "--workers", "2", "--db", str(tmp_path / "s.db")],
    ):
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=ROOT, check=False)
        assert done.returncode == 2, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and "postgresql" in done.stderr, done.stderr
        assert done.stdout == ""
