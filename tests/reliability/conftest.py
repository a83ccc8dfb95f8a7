"""Shared pieces of the reliability suite: the size switch, the known secrets, fault-injecting and
recording transports around the in-process sandbox, a fake back-off clock, and the guard that fails
any test of this package whose logs or output show a secret or a piece of personal data.

Sizes: ``make test`` runs the small ones; ``YANGGUANG_SOAK=1`` (``make soak``, which selects the
``slow`` marker) runs the full ones.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from yangguang_sdk import Client, Money, _base_client, _client
from yangguang_sdk.sandbox import Sandbox

SOAK = os.environ.get("YANGGUANG_SOAK") == "1"


def sized(small: int, full: int) -> int:
    """``small`` under ``make test``, ``full`` under ``YANGGUANG_SOAK=1``."""
    return full if SOAK else small


START = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.timezone.utc)

# -- the known secrets: every flow of this package uses them, and none may be shown ---------------
API_KEY = "yg_test_reliabilityGuard_4f9c2a71"
OTHER_API_KEY = "yg_test_reliabilityOther_7d1e0b33"
ID_NUMBER = "11010519491231002X"
PHONE = "13800138000"
USCC = "91110000600037341L"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"reliability-suite-hmac-secret-32").decode()
KNOWN_SECRETS = (
    API_KEY,
    OTHER_API_KEY,
    ID_NUMBER,
    ID_NUMBER.lower(),
    PHONE,
    USCC,
    WEBHOOK_SECRET,
    WEBHOOK_SECRET[len("whsec_") :],
)


def borrower(**over: Any) -> dict[str, Any]:
    """An individual borrower carrying the known ID number and phone."""
    return {
        "type": "individual",
        "name": "张三",
        "id_number": ID_NUMBER,
        "phone": PHONE,
        "credit_score": 720,
        **over,
    }


def enterprise(**over: Any) -> dict[str, Any]:
    """An enterprise borrower (sme_loan) carrying the known USCC."""
    return {"type": "enterprise", "name": "阳光科技有限公司", "uscc": USCC, "credit_score": 700, **over}


def loan(**over: Any) -> dict[str, Any]:
    return {
        "principal": Money.cny("12999.00"),
        "term_months": 12,
        "annual_rate": "0.12",
        "first_due_date": "2026-12-25",
        **over,
    }


# -- the secret guard -----------------------------------------------------------------------------


@dataclass
class SecretGuard:
    """What must never be shown, and where it was seen anyway."""

    secrets: set[str] = field(default_factory=lambda: set(KNOWN_SECRETS))
    leaks: list[str] = field(default_factory=list)

    def add(self, *values: str | None) -> None:
        """Guard more values (e.g. a webhook endpoint's secret once it exists)."""
        self.secrets.update(v for v in values if v)

    def found_in(self, text: str) -> list[str]:
        return [s for s in self.secrets if s in text]

    def scan(self, where: str, text: str) -> None:
        for secret in self.found_in(text):
            # The report names the place and a masked value, never the value itself.
            self.leaks.append(f"{where}: {secret[:4]}…{secret[-2:]} ({len(secret)} characters)")

    def assert_clean(self, *texts: str) -> None:
        """For the explicit repr/str checks: none of ``texts`` shows a guarded value."""
        shown = [f"{s[:4]}…" for t in texts for s in self.found_in(t)]
        assert not shown, f"guarded values shown: {shown}"


class _ScanningHandler(logging.Handler):
    """Formats every record (message, arguments, traceback, extras) and scans it."""

    _STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}

    def __init__(self, guard: SecretGuard) -> None:
        super().__init__(level=logging.DEBUG)
        self.guard = guard
        self.records = 0
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.records += 1
        text = self.format(record)
        extras = " ".join(repr(v) for k, v in record.__dict__.items() if k not in self._STANDARD)
        self.guard.scan(f"log record of {record.name!r} at {record.levelname}", text + " " + extras)


@pytest.fixture(autouse=True)
def secret_guard(capfd: pytest.CaptureFixture[str]) -> Iterator[SecretGuard]:
    """Every test of this package runs with ALL logging captured at DEBUG on the root logger and
    with stdout/stderr captured at the file-descriptor level; the test fails when any known secret,
    API key, ID number, phone number or USCC (or a value added with ``guard.add``) shows up."""
    guard = SecretGuard()
    handler = _ScanningHandler(guard)
    root = logging.getLogger()
    touched = [root, *(logging.getLogger(n) for n in ("yangguang_sdk", "yangguang_sdk.sandbox", "httpx"))]
    levels = [lg.level for lg in touched]
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for lg in touched[1:]:
        lg.setLevel(logging.DEBUG)
    try:
        yield guard
    finally:
        root.removeHandler(handler)
        for lg, level in zip(touched, levels, strict=True):
            lg.setLevel(level)
    out, err = capfd.readouterr()
    guard.scan("stdout", out)
    guard.scan("stderr", err)
    if guard.leaks:
        pytest.fail("secrets or personal data were shown:\n  " + "\n  ".join(guard.leaks), pytrace=False)
    # Hand the (clean) output back to pytest's own capture so it still shows on failures.
    sys.stdout.write(out)
    sys.stderr.write(err)


# -- sandboxes and clients ------------------------------------------------------------------------


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    sb = Sandbox(now=START, api_key=API_KEY)
    yield sb
    sb.close()


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[Client]:
    c = sandbox.client()
    yield c
    c.close()


# -- transports -----------------------------------------------------------------------------------

FAULTS = ("connect_error", "response_lost", "server_error", "rate_limited", "in_progress")
"""connect_error: nothing sent; response_lost: the server committed, the client never heard;
server_error: 500 (not forwarded); rate_limited: 429 with Retry-After: 0 (not forwarded);
in_progress: 409 idempotency_request_in_progress (not forwarded, POST only)."""


def _error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    body = {
        "error": {
            "type": {409: "conflict_error", 429: "rate_limit_error"}.get(status, "api_error"),
            "code": code,
            "message": message,
            "param": None,
            "request_id": "req_injectedfault",
        }
    }
    return httpx.Response(status, json=body, headers={"request-id": "req_injectedfault", **(headers or {})})


@dataclass
class FaultPlan:
    """Which requests fail and how, drawn from a seeded ``random.Random``; counts what it did and
    checks that every attempt with one idempotency key carried the same request."""

    seed: int
    rate: float = 0.3
    faults: tuple[str, ...] = FAULTS
    rng: random.Random = field(init=False)
    injected: Counter[str] = field(default_factory=Counter)
    injected_by_path: Counter[tuple[str, str]] = field(default_factory=Counter)
    requests: int = 0
    forwarded: int = 0
    attempts_by_key: Counter[str] = field(default_factory=Counter)
    requests_by_key: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)
    key_conflicts: list[str] = field(default_factory=list)
    posts_without_key: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def decide(self, request: httpx.Request) -> str | None:
        self.requests += 1
        if request.method == "POST":
            key = request.headers.get("idempotency-key")
            if key is None:
                self.posts_without_key += 1
            else:
                seen = (request.method, request.url.path, request.content)
                first = self.requests_by_key.setdefault(key, seen)
                if first != seen:
                    self.key_conflicts.append(f"{key}: {first[:2]} then {seen[:2]}")
                self.attempts_by_key[key] += 1
        if self.rng.random() >= self.rate:
            return None
        kind = self.rng.choice(self.faults)
        if kind == "in_progress" and request.method != "POST":
            kind = "server_error"  # only a POST with an idempotency key can be "in progress"
        self.injected[kind] += 1
        self.injected_by_path[(request.method, request.url.path)] += 1
        return kind

    def answer(self, kind: str, request: httpx.Request) -> httpx.Response:
        """The response of a fault that does not reach the server (raises for connect_error)."""
        if kind == "connect_error":
            raise httpx.ConnectError("injected: connection refused", request=request)
        if kind == "server_error":
            return _error_response(500, "internal_error", "injected: the insurer failed")
        if kind == "rate_limited":
            return _error_response(429, "rate_limited", "injected: slow down", {"Retry-After": "0"})
        assert kind == "in_progress"
        return _error_response(
            409,
            "idempotency_request_in_progress",
            "A request with this Idempotency-Key is still being processed; retry shortly.",
        )

    def lost(self, request: httpx.Request) -> httpx.ReadError:
        return httpx.ReadError("injected: connection reset after the server committed", request=request)


class FaultyTransport(httpx.BaseTransport):
    """Wraps a sync transport (``sb.transport()``) and injects the faults of a ``FaultPlan``."""

    def __init__(self, inner: httpx.BaseTransport, plan: FaultPlan) -> None:
        self.inner, self.plan = inner, plan

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        kind = self.plan.decide(request)
        if kind is not None and kind != "response_lost":
            return self.plan.answer(kind, request)
        response = self.inner.handle_request(request)
        self.plan.forwarded += 1
        if kind == "response_lost":
            response.close()
            raise self.plan.lost(request)
        return response


class AsyncFaultyTransport(httpx.AsyncBaseTransport):
    """The same around an async transport (``sb.async_transport()``)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, plan: FaultPlan) -> None:
        self.inner, self.plan = inner, plan

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        kind = self.plan.decide(request)
        if kind is not None and kind != "response_lost":
            return self.plan.answer(kind, request)
        response = await self.inner.handle_async_request(request)
        self.plan.forwarded += 1
        if kind == "response_lost":
            await response.aclose()
            raise self.plan.lost(request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


class RecordingTransport(httpx.BaseTransport):
    """Forwards to a sync transport and records every request that reached it."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return self.inner.handle_request(request)


# -- back-off without waiting ---------------------------------------------------------------------


class FakeClock:
    """The monotonic time of the clients' retry and deadline decisions, moved only by their back-off
    sleeps: a test lives through the real back-off schedule instantly and deterministically."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return time.time() + (self.now - 1000.0)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """Sync clients back off on a fake clock (see FakeClock)."""
    fake = FakeClock()
    monkeypatch.setattr(_base_client, "time", SimpleNamespace(monotonic=fake.monotonic, time=fake.time))
    monkeypatch.setattr(_client, "time", SimpleNamespace(sleep=fake.sleep))
    return fake


@pytest.fixture
def instant_async_backoff(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Async clients record the back-off they asked for and only yield to the loop instead of
    waiting (a shared fake clock would let concurrent calls eat each other's deadlines)."""
    import asyncio

    asked: list[float] = []

    async def no_wait(seconds: float) -> None:
        asked.append(seconds)
        await asyncio.sleep(0)

    monkeypatch.setattr(_client, "_async_sleep", no_wait)
    return asked
