"""Fixtures of the client tests. Every test here runs on a fake clock: the clients' ``time.sleep`` /
``asyncio.sleep`` and the ``time.monotonic`` / ``time.time`` of their retry and deadline decisions
are replaced, so a test lives through minutes of back-off in microseconds and can assert the exact
delays the client asked for, and never a wall-clock duration."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from types import SimpleNamespace

import pytest
import respx

from yangguang_sdk import _base_client, _client

from ._support import BASE_URL, Api, FakeClock


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(_base_client, "time", SimpleNamespace(monotonic=fake.monotonic, time=fake.time))
    monkeypatch.setattr(_client, "time", SimpleNamespace(sleep=fake.sleep))
    monkeypatch.setattr(_client, "_async_sleep", fake.async_sleep)
    return fake


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("YANGGUANG_API_KEY", "YANGGUANG_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def no_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    """Back-off without jitter: exactly 0.5, 1, 2, 4, 8, 8, ... seconds."""
    monkeypatch.setattr("yangguang_sdk._base_client.random.random", lambda: 0.0)


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    """respx in front of every httpx transport the clients create."""
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        yield mock


@pytest.fixture(params=["sync", "async"])
async def api(request: pytest.FixtureRequest) -> AsyncIterator[Api]:
    made = Api(request.param)
    yield made
    await made.aclose()
