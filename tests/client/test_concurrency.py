"""``max_concurrency``: a client's own bound on its requests in flight (DESIGN §7.8), around the
send, so thousands of concurrent calls wait in the client rather than in the connection pool."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from yangguang_sdk import AsyncClient, Client, ConfigurationError

from ._support import BASE_URL

CLOCK = {"object": "test_clock", "now": "2026-11-25T02:00:00Z"}


class _AsyncCounting(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self.in_flight = self.peak = self.calls = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        self.calls += 1
        self.peak = max(self.peak, self.in_flight)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        self.in_flight -= 1
        return httpx.Response(200, json=CLOCK)


@pytest.mark.parametrize(("bound", "peak"), [(None, 2000), (64, 64), (5, 5)])
def test_the_async_client_has_at_most_max_concurrency_requests_in_flight(
    bound: int | None, peak: int
) -> None:
    transport = _AsyncCounting()

    async def main() -> None:
        kwargs: dict[str, Any] = {} if bound == 64 else {"max_concurrency": bound}  # 64: the default
        async with AsyncClient(api_key="yg_test_abcd", base_url=BASE_URL, transport=transport, **kwargs) as c:
            copy = c.with_options(max_retries=0)  # a copy shares the bound
            await asyncio.gather(*((c if i % 2 else copy).test_clock.retrieve() for i in range(2000)))

    asyncio.run(main())
    assert transport.calls == 2000 and transport.peak == peak


def test_the_sync_client_is_unbounded_by_default_and_bounded_across_threads_when_asked() -> None:
    lock = threading.Lock()
    state = {"in_flight": 0, "peak": 0}
    gate = threading.Barrier(8, timeout=30)

    def handler(request: httpx.Request) -> httpx.Response:
        with lock:
            state["in_flight"] += 1
            state["peak"] = max(state["peak"], state["in_flight"])
        try:
            gate.wait()  # 8 at once, unless the client holds some back (then the barrier breaks)
        except threading.BrokenBarrierError:
            pass
        with lock:
            state["in_flight"] -= 1
        return httpx.Response(200, json=CLOCK)

    def run(**kwargs: Any) -> int:
        state["peak"] = 0
        gate.reset()
        client = Client(
            api_key="yg_test_abcd", base_url=BASE_URL, transport=httpx.MockTransport(handler), **kwargs
        )
        with client, ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda _: client.test_clock.retrieve(), range(8)))
        return state["peak"]

    assert run() == 8
    bounded = threading.Barrier(8, timeout=0.5)  # with a bound of 3 the barrier can never fill
    gate = bounded
    assert run(max_concurrency=3) == 3


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "64"])
def test_max_concurrency_must_be_a_positive_int_or_none(bad: object) -> None:
    with pytest.raises(ConfigurationError, match="max_concurrency"):
        AsyncClient(api_key="yg_test_abcd", base_url=BASE_URL, max_concurrency=bad)  # type: ignore[arg-type]
