"""Delivery over real loopback HTTP: a served sandbox (``python -m yangguang_sdk.sandbox``) and the
in-process one without a transport, posting to a small stdlib HTTP receiver."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

import yangguang_sdk as yg
from tests.servers import free_port, served_sandbox
from yangguang_sdk.sandbox import Sandbox
from yangguang_sdk.webhooks import Webhook

from .conftest import BORROWER, START, bind


class HookServer:
    """A merchant's webhook receiver on a loopback port: records each POST, answers from a script."""

    def __init__(self, *answers: int) -> None:
        self.script = list(answers)
        self.deliveries: list[tuple[bytes, dict[str, str]]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with outer.lock:
                    outer.deliveries.append((body, {k.lower(): v for k, v in self.headers.items()}))
                    status = outer.script.pop(0) if outer.script else 200
                self.send_response(status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> HookServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    def wait_for(self, count: int, timeout: float = 60.0) -> list[tuple[bytes, dict[str, str]]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.deliveries) >= count:
                    return list(self.deliveries)
            time.sleep(0.05)
        raise AssertionError(f"{len(self.deliveries)} deliveries arrived, expected {count}")


@pytest.fixture
def served_realtime() -> Iterator[str]:
    with served_sandbox("--clock", "realtime") as url:
        yield url


def test_a_served_sandbox_delivers_and_retries_over_loopback_on_its_own(served_realtime: str) -> None:
    with (
        HookServer(500) as receiver,
        yg.Client(api_key="yg_test_served_delivery", base_url=served_realtime) as client,
    ):
        endpoint = client.webhook_endpoints.create(url=receiver.url, events=["policy.bound"])
        assert endpoint.secret is not None and endpoint.secret.startswith("whpk_")
        today = client.test_clock.retrieve().now.date()
        quote = client.quotes.create(
            product="consumer_installment",
            merchant_order_id="SERVED-1",
            borrower=BORROWER,
            loan={
                "principal": yg.Money.cny("3000.00"),
                "term_months": 6,
                "annual_rate": "0.10",
                "first_due_date": (today + dt.timedelta(days=30)).isoformat(),
            },
        )
        policy = client.policies.bind(consent=yg.consent(client, reference="CR-test"), quote_id=quote.id)

        # Attempt 1 (answered 500) was made during the bind; the real-time clock's ticker makes
        # attempt 2 five seconds later with no API call to drive it.
        first, second = receiver.wait_for(2)
        verifier = Webhook(endpoint.secret)  # the served clock is real time: the default tolerance holds
        events = [verifier.verify(body, headers) for body, headers in (first, second)]
        assert [e.type for e in events] == ["policy.bound", "policy.bound"]
        assert events[0].id == events[1].id and events[0].data.id == policy.id  # type: ignore[union-attr]
        attempts = list(client.webhook_endpoints.attempts(endpoint.id))
        assert [(a.attempt, a.status_code, a.succeeded) for a in attempts] == [
            (1, 500, False),
            (2, 200, True),
        ]
        assert attempts[1].at - attempts[0].at >= dt.timedelta(seconds=5)


def test_the_in_process_sandbox_posts_over_http_without_a_transport() -> None:
    closed = f"http://127.0.0.1:{free_port()}/nobody-listens"
    with HookServer() as receiver, Sandbox(now=START) as sb:
        client = sb.client()
        endpoint = client.webhook_endpoints.create(url=receiver.url, signing="hmac-sha256")
        refused = client.webhook_endpoints.create(url=closed)
        bind(client)
        ((body, headers),) = receiver.wait_for(1)
        assert endpoint.secret is not None
        assert sb.webhook(endpoint.secret).verify(body, headers).type == "policy.bound"
        (attempt,) = client.webhook_endpoints.attempts(refused.id)
        assert attempt.status_code is None and (attempt.error or "").startswith("connection failed")
