"""The sandbox as a shared service (DESIGN §7.2): a clock per tenant, wall-clock signatures,
deliveries that never hold the engine (a total deadline per attempt), time order inside ``advance``.

Run in-process (deterministic, a transport standing in for the receiver) and against a served
sandbox in another process, posting over loopback to receivers in this one."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

import yangguang_sdk as yg
from tests.servers import served_sandbox
from yangguang_sdk import Client
from yangguang_sdk.sandbox import Sandbox
from yangguang_sdk.sandbox.delivery import RETRY_SCHEDULE
from yangguang_sdk.webhooks import Webhook

from .conftest import BORROWER, START, Receiver, bind
from .test_served import HookServer

URL = "https://merchant.example/webhooks"


def quote_and_bind(client: Client, order: str = "SVC-1") -> yg.types.Policy:
    """A 6-month consumer loan whose first installment is due 30 days after the tenant's today."""
    today = client.test_clock.retrieve().now.date()
    quote = client.quotes.create(
        product="consumer_installment",
        merchant_order_id=order,
        borrower=BORROWER,
        loan={
            "principal": yg.Money.cny("3000.00"),
            "term_months": 6,
            "annual_rate": "0.10",
            "first_due_date": (today + dt.timedelta(days=30)).isoformat(),
        },
    )
    return client.policies.bind(consent=yg.consent(client, reference="CR-test"), quote_id=quote.id)


# -- a clock per tenant ---------------------------------------------------------------------------


def test_each_tenant_has_its_own_clock_in_process() -> None:
    with Sandbox(now=START) as sb:
        alice, bob = sb.client(api_key="yg_test_clock_alice"), sb.client(api_key="yg_test_clock_bob")
        policy = quote_and_bind(bob)
        assert alice.test_clock.advance(days=100).now == START + dt.timedelta(days=100)
        assert bob.test_clock.retrieve().now == START  # alice's advance did not age bob
        assert bob.policies.retrieve(policy.id).status == "active"
        assert [e.type for e in bob.events.list()] == ["policy.bound"]  # no overdue, no default
        bob.test_clock.advance(days=1)
        assert alice.test_clock.retrieve().now == START + dt.timedelta(days=100)
        assert bob.test_clock.retrieve().now == START + dt.timedelta(days=1)


def test_each_tenant_has_its_own_clock_when_served() -> None:
    with (
        served_sandbox("--clock", "manual") as url,
        yg.Client(api_key="yg_test_served_alice", base_url=url, max_retries=0) as alice,
        yg.Client(api_key="yg_test_served_bob", base_url=url, max_retries=0) as bob,
    ):
        start = bob.test_clock.retrieve().now
        policy = quote_and_bind(bob)
        alice.test_clock.advance(days=200)
        assert bob.test_clock.retrieve().now == start
        assert bob.policies.retrieve(policy.id).status == "active"
        assert alice.test_clock.retrieve().now == start + dt.timedelta(days=200)


# -- signatures carry the wall clock --------------------------------------------------------------


def test_a_receiver_in_another_process_verifies_after_a_100_day_advance() -> None:
    """The served sandbox runs in its own process, the receiver here verifies with the defaults."""
    with (
        served_sandbox("--clock", "manual") as url,
        HookServer() as receiver,
        yg.Client(api_key="yg_test_served_wallclock", base_url=url, max_retries=0) as client,
    ):
        endpoint = client.webhook_endpoints.create(url=receiver.url, events=["installment.overdue"])
        assert endpoint.secret is not None
        quote_and_bind(client)
        client.test_clock.advance(days=100)  # returns after the attempts due in its window
        deliveries = receiver.wait_for(1, timeout=30)
        verifier = Webhook(endpoint.secret)  # default clock and tolerance
        events = [verifier.verify(body, headers) for body, headers in deliveries]
        assert events and all(e.type == "installment.overdue" for e in events)
        attempts = list(client.webhook_endpoints.attempts(endpoint.id))
        assert all(a.succeeded for a in attempts)
        # the body keeps the event's own time on the tenant's clock; the attempt was made at it
        assert [a.at for a in attempts] == [e.timestamp for e in events]
        assert client.webhook_endpoints.retrieve(endpoint.id).status == "enabled"


# -- deliveries never hold the engine -------------------------------------------------------------


class Dribbler:
    """A receiver that answers a status line and then one header byte every ``every`` seconds,
    for ever: httpx's per-read timeout never trips. Records how long each connection lasted."""

    def __init__(self, every: float = 2.0) -> None:
        self.every = every
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"
        self.durations: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> Dribbler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._dribble, args=(conn,), daemon=True).start()

    def _dribble(self, conn: socket.socket) -> None:
        opened = time.monotonic()
        try:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nx-slow: ")
            conn.settimeout(self.every)
            while not self._stop.is_set():
                try:
                    if not conn.recv(1):
                        break  # the sandbox hung up: its deadline passed
                except TimeoutError:
                    conn.sendall(b"z")
        except OSError:
            pass
        finally:
            self.durations.append(time.monotonic() - opened)
            conn.close()


@pytest.fixture
def served() -> Iterator[str]:
    with served_sandbox("--clock", "manual") as url:
        yield url


def test_a_dribbling_receiver_delays_no_other_request_and_is_cut_off_at_10_s(served: str) -> None:
    with (
        Dribbler() as slow,
        yg.Client(api_key="yg_test_dribble_victim", base_url=served, max_retries=0) as victim,
        yg.Client(api_key="yg_test_dribble_other", base_url=served, max_retries=0) as other,
    ):
        endpoint = victim.webhook_endpoints.create(url=slow.url)
        began = time.monotonic()
        quote_and_bind(victim)  # emits policy.bound: an attempt to the dribbler starts
        bind_took = time.monotonic() - began
        latencies = []
        while time.monotonic() - began < 12:
            for client in (other, victim):
                sent = time.monotonic()
                client.test_clock.retrieve()
                latencies.append(time.monotonic() - sent)
            time.sleep(0.2)
        assert bind_took < 3, bind_took
        assert max(latencies) < 1.5, max(latencies)  # typically a few milliseconds
        deadline = time.monotonic() + 30
        while not (attempts := list(victim.webhook_endpoints.attempts(endpoint.id))):
            assert time.monotonic() < deadline, "the attempt was never recorded"
            time.sleep(0.2)
        assert attempts[0].status_code is None and "timeout" in (attempts[0].error or "")
        while not slow.durations and time.monotonic() < deadline:
            time.sleep(0.1)
        assert slow.durations and 9 <= slow.durations[0] <= 16, slow.durations


# -- time order within advance ---------------------------------------------------------------------


def test_advance_lives_through_the_retries_due_in_its_window_in_order() -> None:
    receiver = Receiver()
    receiver.answer(500, 503, 500)  # the fourth attempt succeeds
    with Sandbox(now=START, webhook_transport=receiver) as sb:
        client = sb.client(max_retries=0)
        endpoint = client.webhook_endpoints.create(url=URL, events=["installment.overdue"])
        bind(client)  # first installment due 2026-12-25: overdue at 00:00 on the 26th
        client.test_clock.advance(days=35)
        overdue = next(iter(client.events.list(type="installment.overdue")))
        attempts = list(client.webhook_endpoints.attempts(endpoint.id))
        expected = [overdue.timestamp]
        for step in RETRY_SCHEDULE[:3]:
            expected.append(expected[-1] + step)
        assert [a.at for a in attempts] == expected  # on the tenant's clock, in the window
        assert [a.succeeded for a in attempts] == [False, False, False, True]
        assert len(receiver.deliveries) == 4 and all(
            json.loads(d.body)["id"] == overdue.id for d in receiver.deliveries
        )


def test_advance_of_4_days_across_a_failing_served_receiver_runs_its_retries(served: str) -> None:
    with (
        HookServer(500, 500, 500) as receiver,
        yg.Client(api_key="yg_test_served_retries", base_url=served, max_retries=0) as client,
    ):
        endpoint = client.webhook_endpoints.create(url=receiver.url, events=["policy.bound"])
        quote_and_bind(client)
        receiver.wait_for(1, timeout=30)  # attempt 1 is made by the executor, not by the bind
        client.test_clock.advance(days=4)
        with receiver.lock:
            made = len(receiver.deliveries)
        assert made == 4  # the three retries due in the window ran before advance returned
        attempts = list(client.webhook_endpoints.attempts(endpoint.id))
        assert [a.status_code for a in attempts] == [500, 500, 500, 200]
        steps = [b.at - a.at for a, b in zip(attempts, attempts[1:], strict=False)]
        assert steps == list(RETRY_SCHEDULE[:3])


def test_the_embedded_sandbox_still_delivers_before_the_call_returns() -> None:
    """In-process deliveries stay deterministic: the bind's attempt is made before bind returns."""
    receiver = Receiver()
    with Sandbox(now=START, webhook_transport=receiver) as sb:
        client = sb.client(max_retries=0)
        client.webhook_endpoints.create(url=URL)
        bind(client)
        assert [json.loads(d.body)["type"] for d in receiver.deliveries] == ["policy.bound"]


def test_a_receiver_calling_back_into_the_sandbox_does_not_deadlock() -> None:
    """Deliveries run outside the engine's lock: a receiver may call the API while handling one."""
    seen: list[str] = []
    clients: list[Client] = []

    def handler(request: httpx.Request) -> httpx.Response:
        event = json.loads(request.read())
        seen.append(clients[0].policies.retrieve(event["data"]["id"]).status)
        return httpx.Response(200)

    with Sandbox(now=START, webhook_transport=httpx.MockTransport(handler)) as sb:
        clients.append(sb.client(max_retries=0))
        clients[0].webhook_endpoints.create(url=URL, events=["policy.bound"])
        began = time.monotonic()
        bind(clients[0])
        assert seen == ["active"] and time.monotonic() - began < 5


def test_an_advance_stops_waiting_after_its_wait_and_the_executor_makes_the_rest_in_order() -> None:
    """Attempts not started within the advance's wait stay due; the executor makes them right
    after, in the same order and with the same event times."""
    receiver = Receiver()
    slow_calls: list[float] = []

    class Slow(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            slow_calls.append(time.monotonic())
            time.sleep(1.0)
            return receiver.handle_request(request)

    with Sandbox(now=START, webhook_transport=Slow(), background_deliveries=True) as sb:
        client = sb.client(max_retries=0)
        endpoint = client.webhook_endpoints.create(url=URL, events=["installment.overdue"])
        bind(client, months=12)
        began = time.monotonic()
        sb.engine.advance(sb.api_key, dt.timedelta(days=200), wait=0.5)
        assert time.monotonic() - began < 2.6  # it stopped waiting after the first delivery (1 s)
        assert client.test_clock.retrieve().now == START + dt.timedelta(days=200)
        events = list(client.events.list(type="installment.overdue"))  # 3: then the loan defaults
        assert len(events) == 3 and len(receiver.deliveries) < 3
        deadline = time.monotonic() + 30
        while len(receiver.deliveries) < len(events):
            assert time.monotonic() < deadline, len(receiver.deliveries)
            time.sleep(0.05)
        attempts = list(client.webhook_endpoints.attempts(endpoint.id))
        assert [a.event_id for a in attempts] == [e.id for e in events]  # in the same order
        assert [a.at for a in attempts] == [e.timestamp for e in events]  # at the events' times
        assert all(a.succeeded for a in attempts)
