"""Fixtures of the delivery tests: a scriptable in-process receiver and a sandbox wired to it."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx
import pytest

import yangguang_sdk as yg
from yangguang_sdk import Client
from yangguang_sdk.sandbox import Sandbox
from yangguang_sdk.types import Policy

START = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.timezone.utc)
BORROWER = {"type": "individual", "name": "张三", "id_number": "11010519491231002X", "credit_score": 720}

Answer = int | tuple[int, dict[str, str]] | Exception


@dataclass
class Delivery:
    """One request the receiver got: raw body and headers, as a receiver sees them."""

    body: bytes
    headers: dict[str, str]
    url: str

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def timestamp(self) -> int:
        return int(self.headers["webhook-timestamp"])


@dataclass
class Receiver(httpx.BaseTransport):
    """A sync httpx transport standing in for a merchant's server: records every delivery and
    answers from a script (a status, a (status, headers) pair, or an exception to raise), then 200."""

    script: list[Answer] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, *answers: Answer) -> None:
        self.script.extend(answers)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.deliveries.append(Delivery(request.read(), dict(request.headers), str(request.url)))
            answer: Answer = self.script.pop(0) if self.script else 200
        if isinstance(answer, Exception):
            raise answer
        status, headers = answer if isinstance(answer, tuple) else (answer, {})
        return httpx.Response(status, headers=headers, content=b'{"ok":true}', request=request)

    def of(self, url: str) -> list[Delivery]:
        return [d for d in self.deliveries if d.url == url]


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
def sandbox(receiver: Receiver) -> Iterator[Sandbox]:
    sb = Sandbox(now=START, webhook_transport=receiver)
    yield sb
    sb.close()


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[Client]:
    c = sandbox.client(max_retries=0)
    yield c
    c.close()


def bind(client: Client, order: str = "ORD-1", *, first_due: str = "2026-12-25", months: int = 12) -> Policy:
    """Quote and bind a 12-month consumer loan; emits ``policy.bound``."""
    quote = client.quotes.create(
        product="consumer_installment",
        merchant_order_id=order,
        borrower=BORROWER,
        loan={
            "principal": yg.Money.cny("12999.00"),
            "term_months": months,
            "annual_rate": "0.12",
            "first_due_date": first_due,
        },
    )
    return client.policies.bind(consent=yg.consent(client, reference="CR-test"), quote_id=quote.id)


def cumulative(steps: list[dt.timedelta]) -> Callable[[int], dt.timedelta]:
    """offset(n): the time of attempt n after attempt 1 when every attempt before it failed."""

    def offset(n: int) -> dt.timedelta:
        return sum(steps[: n - 1], dt.timedelta(0))

    return offset
