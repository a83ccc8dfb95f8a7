"""In-process httpx transports: SDK clients talk to the sandbox app with no socket at all.

The async transport is httpx's ``ASGITransport``. The sync one runs the same ASGI app on a private
event loop in a daemon thread (as Starlette's TestClient does), so the sync and async clients go
through exactly the same HTTP layer as a served sandbox, minus the network.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import httpx

__all__ = ["SyncASGITransport", "make_async_transport"]

ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]


class _LoopThread:
    """One event loop in a daemon thread, started on first use."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="yangguang-sandbox", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def close(self) -> None:
        """Stop the loop and its thread; a later request starts a new one."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        # Async generators are finalised on the loop's own thread: running the loop here would fail
        # when the caller's thread already runs one (a sync client closed inside async code).
        asyncio.run_coroutine_threadsafe(loop.shutdown_asyncgens(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


class SyncASGITransport(httpx.BaseTransport):
    """A sync httpx transport that calls an ASGI app in-process."""

    def __init__(self, app: ASGIApp) -> None:
        self._inner = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        self._thread = _LoopThread()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        copy = httpx.Request(request.method, request.url, headers=request.headers, content=body)
        future = asyncio.run_coroutine_threadsafe(self._call(copy), self._thread.loop())
        # The request's read timeout bounds the wait, as on a socket: an app blocked on something
        # the caller holds (a webhook receiver calling back into a busy sandbox) cannot hang it.
        timeout = (request.extensions.get("timeout") or {}).get("read")
        try:
            return future.result(timeout=timeout)
        except concurrent.futures.TimeoutError:  # the builtin TimeoutError only from 3.11
            future.cancel()
            raise httpx.ReadTimeout(
                f"no response from the in-process app within {timeout} s", request=request
            ) from None

    async def _call(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        content = await response.aread()
        return httpx.Response(
            response.status_code, headers=response.headers, content=content, request=request
        )

    def close(self) -> None:
        self._thread.close()


def make_async_transport(app: ASGIApp) -> httpx.AsyncBaseTransport:
    """The async in-process transport for ``app``."""
    # An app failure answers 500, as a served sandbox would, instead of raising into the caller.
    return httpx.ASGITransport(app=app, raise_app_exceptions=False)
