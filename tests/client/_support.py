"""Helpers of the client tests: a fake clock, a scripted insurer, canned JSON, and ``Api``, which
builds a sync or an async client and calls either the same way so one test body covers both."""

from __future__ import annotations

import email.utils
import inspect
from collections.abc import Callable
from typing import Any

import httpx

from yangguang_sdk import AsyncClient, Client

API_KEY = "yg_test_4eC39HqLyjWDarjtT1zdp7dc"
BASE_URL = "http://insurer.test"
CREATED = "2026-11-25T02:00:00Z"
WALL_START = 1_790_000_000.0  # a whole second, so HTTP dates convert exactly


class FakeClock:
    """Monotonic and wall time that move only when the client sleeps (or a test says so)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.wall = WALL_START
        self.sleeps: list[float] = []
        self.overshoot = 0.0
        """Extra seconds every sleep takes, as an overloaded machine would."""

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.wall

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.wall += seconds

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds + self.overshoot)

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)


class Api:
    """Builds a sync or async client and calls it the same way, so each test covers both."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.clients: list[Client | AsyncClient] = []

    @property
    def is_async(self) -> bool:
        return self.mode == "async"

    def client(self, handler: Callable[[httpx.Request], httpx.Response] | None = None, **kwargs: Any) -> Any:
        """A client; with ``handler`` it talks to an httpx.MockTransport, else to respx."""
        kwargs.setdefault("api_key", API_KEY)
        kwargs.setdefault("base_url", BASE_URL)
        if handler is not None:
            kwargs["transport"] = httpx.MockTransport(handler)
        made = AsyncClient(**kwargs) if self.is_async else Client(**kwargs)
        self.clients.append(made)
        return made

    async def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        result = fn(*args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result

    async def aclose(self) -> None:
        for made in self.clients:
            if isinstance(made, AsyncClient):
                await made.close()
            else:
                made.close()


class Server:
    """A scripted insurer for MockTransport: answers in turn, records every request it saw."""

    def __init__(self, *answers: httpx.Response | Exception | Callable[[httpx.Request], Any]) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers[min(len(self.requests), len(self.answers)) - 1]
        if callable(answer) and not isinstance(answer, httpx.Response):
            answer = answer(request)
        if isinstance(answer, Exception):
            raise answer
        # a fresh response each time: one object must not serve two requests
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

    @property
    def count(self) -> int:
        return len(self.requests)


def error_body(
    code: str | None = None, message: str = "Something went wrong.", param: str | None = None
) -> dict[str, Any]:
    return {
        "error": {
            "type": "invalid_request_error",
            "code": code,
            "message": message,
            "param": param,
            "request_id": "req_body123",
        }
    }


def clock_json(now: str = CREATED) -> dict[str, Any]:
    return {"object": "test_clock", "now": now}


def money(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "CNY"}


def policy_json(pid: str = "pol_1", **extra: Any) -> dict[str, Any]:
    return {
        "object": "policy",
        "id": pid,
        "quote_id": "quo_1",
        "merchant_order_id": "ORD-1001",
        "product": "consumer_installment",
        "status": "active",
        "premium": money(12345),
        "sum_insured": money(1385904),
        "bound_at": CREATED,
        "cooling_off_until": "2026-12-10",
        **extra,
    }


def quote_json(**extra: Any) -> dict[str, Any]:
    return {
        "object": "quote",
        "id": "quo_1",
        "product": "consumer_installment",
        "merchant_order_id": "ORD-1001",
        "decision": "approved",
        "premium": money(12345),
        "sum_insured": money(1385904),
        "comprehensive_cost": "0.1387",
        "created_at": CREATED,
        **extra,
    }


def ok(json: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        200, json=clock_json() if json is None else json, headers={"request-id": "req_ok", **(headers or {})}
    )


def status(code: int, json: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        code,
        json=error_body() if json is None else json,
        headers={"request-id": f"req_{code}", **(headers or {})},
    )


def http_date(unix: float) -> str:
    return email.utils.formatdate(unix, usegmt=True)
