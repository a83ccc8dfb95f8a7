"""Webhooks under faults, across processes: a year of loan events for a book of policies, delivered
by the sandbox insurer through a network that fails about half of all attempts, to four receiver
processes sharing one ``PostgresInbox``. Every event of the tenant is processed exactly once.

- The receivers (``_webhook_receiver.py``) each serve ``WebhookHandler(Webhook(secret),
  inbox=PostgresInbox(dsn))`` over real loopback HTTP; their function records each processing as a
  row (event id, pid) in a PostgreSQL table, which is what is counted, and fails on about a fifth
  of its calls (so the inbox's release path runs all the time).
- ``ChaosTransport`` is the network: each attempt goes to a random receiver, and about half fail:
  the connection is refused (a real one: a socket that is bound but never listens), a 500 from a
  load balancer without forwarding, the receiver processes the delivery and the answer is lost,
  or the insurer times out while the receiver is still working on it. About one delivery in ten
  is also sent, concurrently, to a second receiver: two processes race for the same event.
- At the end, events whose retries ran out (the endpoint was disabled) are recovered the way a
  merchant would: listing ``client.events.list`` and posting each event, signed with the endpoint's
  secret, to a receiver; a sample is reconciled that way in any case (all must be duplicates).

50 policies (about 500 events) under ``make test``; 2,000 (about 18,000 events) with
``YANGGUANG_SOAK=1``. Marked ``slow`` like the other chaos tests (``make test`` selects no marker,
``make soak`` runs ``-m slow``) and ``postgres`` (``pg_dsn``: a throwaway cluster or
``YANGGUANG_TEST_PG_DSN``; the test's tables get unique names and are dropped afterwards).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import random
import select
import socket
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from yangguang_sdk import Client
from yangguang_sdk.sandbox import Sandbox
from yangguang_sdk.webhooks import Webhook

from ..delivery._scenario import all_event_ids, live_a_year
from .conftest import START, SecretGuard, sized

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

POLICIES = sized(50, 2_000)
RECEIVERS = 4
FUNCTION_FAIL_RATE = 0.2
URL = "https://merchant.example/webhooks"
"""The endpoint's URL; the chaos transport routes each attempt to one of the receiver processes."""
RECEIVER_SCRIPT = Path(__file__).with_name("_webhook_receiver.py")
REPO_ROOT = Path(__file__).resolve().parents[2]
FAULTS = ("refused", "server_error", "response_lost", "timeout")
EXPECTED_ANSWERS = {"processed", "duplicate", "event_in_progress", "handler_failed"}
"""What a receiver may answer here: 200 processed / duplicate, 409 while another process holds
the event, 500 when the function failed. Anything else (a 400 from a failed verification, a 503
from an unavailable inbox) fails the test."""


# -- the receiver processes ------------------------------------------------------------------------


@dataclass
class Receiver:
    url: str
    pid: int


@contextlib.contextmanager
def receiver_processes(
    dsn: str, inbox_table: str, runs_table: str, secret: str, log_dir: Path
) -> Iterator[list[Receiver]]:
    """Start ``RECEIVERS`` receiver processes and yield them once all listen; always stop them.
    The configuration (with the secret) goes through stdin, never the command line."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    processes: list[subprocess.Popen[str]] = []
    logs: list[Path] = []
    try:
        for number in range(RECEIVERS):
            logs.append(log_dir / f"receiver-{number}.log")
            with logs[-1].open("w") as log:
                process = subprocess.Popen(
                    [sys.executable, str(RECEIVER_SCRIPT)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    text=True,
                    env=env,
                )
            processes.append(process)
            assert process.stdin is not None
            config = {
                "dsn": dsn,
                "inbox_table": inbox_table,
                "runs_table": runs_table,
                "secret": secret,
                "seed": 100 + number,
                "fail_rate": FUNCTION_FAIL_RATE,
            }
            process.stdin.write(json.dumps(config) + "\n")
            process.stdin.flush()
        receivers = []
        for process, log_path in zip(processes, logs, strict=True):
            assert process.stdout is not None
            ready, _, _ = select.select([process.stdout], [], [], 60)
            line = process.stdout.readline() if ready else ""
            if not line:
                process.kill()
                process.wait()
                pytest.fail(f"a receiver did not start (exit {process.returncode}):\n{log_path.read_text()}")
            started = json.loads(line)
            receivers.append(Receiver(f"http://127.0.0.1:{started['port']}/webhooks", started["pid"]))
        yield receivers
    finally:
        for process in processes:
            if process.stdin is not None:
                with contextlib.suppress(OSError):
                    process.stdin.close()  # the receiver shuts its server down
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()


# -- the network -----------------------------------------------------------------------------------


def answer_kind(response: httpx.Response) -> str:
    """What a receiver said: ``processed``, ``duplicate``, ``event_in_progress``, ``handler_failed``..."""
    try:
        payload = response.json()
    except ValueError:
        return f"unparsable {response.status_code}"
    if "error" in payload:
        return str(payload["error"].get("type"))
    return str(payload.get("status"))


class ChaosTransport(httpx.BaseTransport):
    """The network between the sandbox insurer and the receiver processes (module docstring).

    Each attempt goes to a random receiver. While an event has failed fewer than ``max_failures``
    attempts, about ``fault_rate`` of its attempts get a fault and about ``duplicate_rate`` of the
    forwarded ones are also raced by a copy sent to a second receiver; after that the network is
    healthy for it, so the ten-attempt schedule normally survives the chaos. The receivers' own
    answers (500 from a failed function, 409 while another process holds the event) count as
    failures too, but are never suppressed.
    """

    def __init__(
        self, seed: int, *, fault_rate: float = 0.5, duplicate_rate: float = 0.1, max_failures: int = 5
    ) -> None:
        self.rng = random.Random(seed)
        self.fault_rate, self.duplicate_rate, self.max_failures = fault_rate, duplicate_rate, max_failures
        self.lock = threading.Lock()
        self.targets: list[str] = []
        self.clock: Callable[[], dt.datetime] | None = None
        self.http = httpx.Client(timeout=30.0, trust_env=False)
        # Bound and never listening: connecting to it is refused by the kernel, for real.
        self.refusing = socket.socket()
        self.refusing.bind(("127.0.0.1", 0))
        self.refused_url = f"http://127.0.0.1:{self.refusing.getsockname()[1]}/webhooks"
        self.attempts = 0
        self.failures: Counter[str] = Counter()
        """Failed attempts per event id (any reason)."""
        self.faults: Counter[str] = Counter()
        self.answers: Counter[str] = Counter()
        self.per_receiver: Counter[int] = Counter()
        self.races: list[tuple[str, str]] = []
        """The answers of both receivers of each raced delivery (the primary's first)."""
        self.stray: list[str] = []
        """Errors of forwards whose answer nobody waited for (the timeouts' background sends)."""
        self.background: list[threading.Thread] = []

    # -- the transport ---------------------------------------------------------------------------

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert self.clock is not None and len(self.targets) >= 2
        body = request.read()
        event_id = request.headers["webhook-id"]
        headers = {
            name: request.headers[name]
            for name in ("webhook-id", "webhook-timestamp", "webhook-signature", "content-type")
        }
        with self.lock:
            self.attempts += 1
            chaotic = self.failures[event_id] < self.max_failures
            fault = self.rng.choice(FAULTS) if chaotic and self.rng.random() < self.fault_rate else None
            first, second = self.rng.sample(range(len(self.targets)), 2)
            forwards = fault in (None, "response_lost", "timeout")
            twin = second if chaotic and forwards and self.rng.random() < self.duplicate_rate else None
            if fault is not None:
                self.faults[fault] += 1
        try:
            response = self._attempt(request, fault, first, twin, body, headers)
        except BaseException:
            self._failed(event_id)
            raise
        if not 200 <= response.status_code < 300:
            self._failed(event_id)
        return response

    def _attempt(
        self,
        request: httpx.Request,
        fault: str | None,
        first: int,
        twin: int | None,
        body: bytes,
        headers: dict[str, str],
    ) -> httpx.Response:
        if fault == "refused":
            self.http.post(self.refused_url, content=body, headers=headers)  # raises ConnectError
            raise AssertionError("a socket that does not listen accepted a connection")
        if fault == "server_error":
            return httpx.Response(500, content=b"injected: the load balancer answered 500", request=request)
        if fault == "timeout":
            # The receiver gets the delivery and works on it; the insurer stops waiting first, and
            # its retry may arrive while the event is still held.
            thread = threading.Thread(
                target=self._forward_unheard, args=(first, twin, body, headers), daemon=True
            )
            thread.start()
            with self.lock:
                self.background.append(thread)
            raise httpx.ReadTimeout("injected: no answer in time", request=request)
        status, content = self._forward(first, twin, body, headers)
        if fault == "response_lost":
            raise httpx.ReadError("injected: connection reset after the receiver answered", request=request)
        return httpx.Response(
            status, headers={"content-type": "application/json"}, content=content, request=request
        )

    def _forward(
        self, first: int, twin: int | None, body: bytes, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        """POST to receiver ``first`` (and at the same moment to ``twin``); the first's answer."""
        if twin is None:
            return self._post(first, body, headers)
        results: dict[int, tuple[int, bytes] | Exception] = {}
        barrier = threading.Barrier(2)

        def send(target: int) -> None:
            try:
                barrier.wait(timeout=10)
                results[target] = self._post(target, body, headers)
            except Exception as exc:
                results[target] = exc

        thread = threading.Thread(target=send, args=(twin,), daemon=True)
        thread.start()
        send(first)
        thread.join()
        kinds = tuple(
            r.__class__.__name__ if isinstance(r, Exception) else _kind_of(r)
            for r in (results[first], results[twin])
        )
        with self.lock:
            self.races.append((kinds[0], kinds[1]))
        primary = results[first]
        if isinstance(primary, Exception):
            raise primary
        return primary

    def _forward_unheard(self, first: int, twin: int | None, body: bytes, headers: dict[str, str]) -> None:
        try:
            self._forward(first, twin, body, headers)
        except Exception as exc:
            with self.lock:
                self.stray.append(repr(exc))

    def _post(self, target: int, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        response = self.http.post(self.targets[target], content=body, headers=headers)
        with self.lock:
            self.answers[answer_kind(response)] += 1
            self.per_receiver[target] += 1
        return response.status_code, response.content

    def _failed(self, event_id: str) -> None:
        with self.lock:
            self.failures[event_id] += 1

    # -- the end ---------------------------------------------------------------------------------

    def drain(self) -> None:
        """Wait for the forwards whose answers nobody waits for."""
        with self.lock:
            threads, self.background = self.background, []
        for thread in threads:
            thread.join()

    def close(self) -> None:
        self.drain()
        self.http.close()
        self.refusing.close()


def _kind_of(result: tuple[int, bytes]) -> str:
    status, content = result
    return answer_kind(httpx.Response(status, content=content))


# -- reconciliation --------------------------------------------------------------------------------


def reconcile(
    event_ids: list[str], client: Client, targets: list[str], secret: str, now: dt.datetime, seed: int
) -> Counter[str]:
    """What a merchant's reconciliation job does after retries ran out: fetch each event and post
    it, signed with the endpoint's secret, to one of the receivers until it is acknowledged. The
    inbox answers "duplicate" for those already processed. Returns the answers."""
    rng = random.Random(seed)
    signer = Webhook(secret)
    answers: Counter[str] = Counter()
    with httpx.Client(timeout=30.0, trust_env=False) as http:
        for event_id in event_ids:
            body = json.dumps(client.events.retrieve(event_id).to_dict(), ensure_ascii=False).encode()
            headers = {
                **signer.build_headers(event_id, body),  # signed now: deliveries carry the wall clock
                "content-type": "application/json",
            }
            for _ in range(30):  # the function fails a fifth of the time: the job tries again
                response = http.post(rng.choice(targets), content=body, headers=headers)
                answers[answer_kind(response)] += 1
                if response.status_code == 200:
                    break
            else:
                pytest.fail(f"reconciliation could not get {event_id} acknowledged: {answers}")
    return answers


# -- the test --------------------------------------------------------------------------------------


def runs_in(dsn: str, runs_table: str) -> tuple[Counter[str], Counter[int], set[str]]:
    """(processings per event id, per process id, event types processed) from the receivers' table."""
    import psycopg

    with psycopg.connect(dsn) as db:
        rows = db.execute(f"SELECT event_id, event_type, pid FROM {runs_table}").fetchall()
    return Counter(r[0] for r in rows), Counter(r[2] for r in rows), {r[1] for r in rows}


@pytest.fixture
def quiet_harness_http() -> Iterator[None]:
    """httpcore traces each request of the harness's own HTTP client (the chaos network and the
    reconciliation job talking to the receivers) in about a dozen DEBUG records: at the full size
    half a million records of noise, kept in memory by pytest. The SDK's loggers, httpx's and the
    root logger stay at DEBUG under the secret guard."""
    httpcore = logging.getLogger("httpcore")
    level = httpcore.level
    httpcore.setLevel(logging.INFO)
    try:
        yield
    finally:
        httpcore.setLevel(level)


@pytest.mark.usefixtures("quiet_harness_http")
def test_a_year_of_chaotic_deliveries_to_four_receiver_processes_processes_every_event_exactly_once(
    pg_dsn: str, tmp_path: Path, secret_guard: SecretGuard
) -> None:
    import psycopg

    tag = uuid.uuid4().hex[:12]
    inbox_table, runs_table = f"chaos_inbox_{tag}", f"chaos_runs_{tag}"
    with psycopg.connect(pg_dsn, autocommit=True) as db:
        db.execute(
            f"CREATE TABLE {runs_table} (id bigserial PRIMARY KEY, event_id text NOT NULL,"
            " event_type text NOT NULL, pid integer NOT NULL)"
        )
    chaos = ChaosTransport(seed=11)
    try:
        with contextlib.ExitStack() as stack:
            stack.callback(chaos.close)
            sb = stack.enter_context(Sandbox(now=START, webhook_transport=chaos))
            chaos.clock = lambda: sb.now
            client = sb.client()
            stack.callback(client.close)
            endpoint = client.webhook_endpoints.create(url=URL, signing="hmac-sha256")
            secret = endpoint.secret
            assert secret is not None
            secret_guard.add(secret)
            receivers = stack.enter_context(
                receiver_processes(pg_dsn, inbox_table, runs_table, secret, tmp_path)
            )
            chaos.targets = [r.url for r in receivers]

            live_a_year(sb, client, POLICIES, seed=3)
            events = all_event_ids(client)
            rng = random.Random(4)
            enabled = client.webhook_endpoints.retrieve(endpoint.id).status == "enabled"
            if enabled:  # the merchant asks for some events again: duplicates, absorbed
                for event_id in rng.sample(events, 20):
                    client.events.redeliver(event_id)
                client.test_clock.advance(days=4)  # the redeliveries' retries
            chaos.drain()

            final = client.webhook_endpoints.retrieve(endpoint.id)
            events = all_event_ids(client)  # after a disabling, with webhook_endpoint.disabled
            if final.status == "disabled":
                # Some event failed ten attempts in a row: every event since is recovered by
                # reconciliation (all of them are posted: the inbox dedupes those already done).
                assert final.disabled_reason == "retries_exhausted"
                reconciled = reconcile(events, client, chaos.targets, secret, sb.now, seed=5)
            else:
                sample = rng.sample(events, 25)
                reconciled = reconcile(sample, client, chaos.targets, secret, sb.now, seed=5)
            per_event, per_process, types = runs_in(pg_dsn, runs_table)
            pids = {r.pid for r in receivers}
    finally:
        with psycopg.connect(pg_dsn, autocommit=True) as db:
            db.execute(f"DROP TABLE IF EXISTS {runs_table}, {inbox_table}")

    print(
        f"{POLICIES} policies, {len(events)} events, endpoint {final.status}; {chaos.attempts} attempts, "
        f"faults {dict(chaos.faults)}, answers {dict(chaos.answers)}, per receiver "
        f"{dict(chaos.per_receiver)}, {len(chaos.races)} races {dict(Counter(chaos.races))}, "
        f"reconciled {dict(reconciled)}, stray {chaos.stray[:3]}"
    )
    # Exactly once: every event of the tenant processed by one process, once; nothing else.
    missing = [e for e in events if e not in per_event]
    twice = {e: n for e, n in per_event.items() if n > 1}
    strangers = sorted(set(per_event) - set(events))
    assert not missing, f"{len(missing)} events never processed, e.g. {missing[:5]}"
    assert not twice, f"{len(twice)} events processed more than once, e.g. {list(twice.items())[:5]}"
    assert not strangers, f"processed events the tenant does not have: {strangers[:5]}"
    assert len(events) > POLICIES * 5 and "claim.paid" in types
    if final.status == "enabled":  # the sample reconciled was all processed already
        assert reconciled == Counter(duplicate=25), reconciled

    # The chaos really happened, and across processes.
    assert set(per_process) == pids and all(per_process[pid] > 0 for pid in pids), (per_process, pids)
    assert set(chaos.faults) == set(FAULTS), chaos.faults
    unexpected = set(chaos.answers) - EXPECTED_ANSWERS
    assert not unexpected, f"unexpected answers from the receivers: {chaos.answers}"
    assert chaos.answers["handler_failed"] > 0  # functions failed and their events were released
    assert chaos.answers["duplicate"] > 0  # deliveries after a lost answer were absorbed
    assert chaos.races, "no delivery was raced by two processes"
    assert not [r for r in chaos.races if r == ("processed", "processed")]
    overlapped = [r for r in chaos.races if "event_in_progress" in r]
    assert overlapped, f"no race found the event held by the other process: {Counter(chaos.races)}"
