"""``Client`` and ``AsyncClient``: the thin send loops over the shared decisions of BaseClient."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, TypeVar

import httpx

from ._base_client import BaseClient, Outcome, PreparedCall, last_outcome
from ._constants import DEFAULT_MAX_CONCURRENCY
from ._request import APIRequest
from .pagination import AsyncPage, SyncPage

__all__ = ["Client", "AsyncClient"]

T = TypeVar("T")


async def _async_sleep(seconds: float) -> None:
    """The async clients' back-off sleep (asyncio is imported only when a retry waits)."""
    import asyncio

    await asyncio.sleep(seconds)


class Client(BaseClient[httpx.Client, httpx.BaseTransport]):
    """The synchronous client. One connection pool per client; use it as a context manager or ``close()``.

    >>> client = Client(api_key="yg_test_...", base_url="http://127.0.0.1:8765")  # doctest: +SKIP
    """

    _pool_class = httpx.Client

    def execute(self, req: APIRequest[T]) -> T:
        """Send ``req`` (retried as configured) and return the object it promises: what every
        resource method does with the request it describes."""
        call = self._prepare(req)
        return self._parse(req, call, self._send(call))

    def execute_page(self, req: APIRequest[T], cursor: str | None = None) -> SyncPage[T]:
        """The page of the list ``req`` after the id ``cursor`` (the first page when None)."""
        call = self._prepare(self._page_request(req, cursor))
        fields = self._parse_page_data(req.cast_to, call, self._send(call))
        return SyncPage(lambda c: self.execute_page(req, c), **fields)

    def raw_page(
        self, path: str, *, query: Mapping[str, Any] | None = None, starting_after: str | None = None
    ) -> SyncPage[dict[str, Any]]:
        """One page of the list at ``path`` (``"/v1/events"``) after the id ``starting_after``, its
        items the JSON objects exactly as the API sent them (no models); ``next_page()`` follows it.
        For tools that forward or store what the API said (``yangguang listen``)."""
        return self.execute_page(APIRequest("GET", path, dict[str, Any], query=query), starting_after)

    def close(self) -> None:
        """Close the connection pool (not one passed in as ``http_client``, nor a copy's)."""
        made = self._pool.made
        if self._owns_client and made is not None:
            made.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- sending -----------------------------------------------------------------------------
    def _send(self, call: PreparedCall) -> httpx.Response:
        outcome = self._attempt(call)
        # Most calls need no retry, and tenacity's loop costs about as much as the rest of the SDK's
        # work on a call (docs/decisions.md): it is built only for a retry, with the attempt just
        # made as its attempt 1.
        if self._should_retry(outcome):
            from tenacity import Retrying, retry_if_result

            first = [outcome]
            retrying = Retrying(
                retry=retry_if_result(self._should_retry),
                wait=self._retry_wait,
                stop=self._retry_stop(call),
                retry_error_callback=last_outcome,
                sleep=time.sleep,
            )
            outcome = retrying(lambda: first.pop() if first else self._attempt(call))
        return self._response(call, outcome)

    def _attempt(self, call: PreparedCall) -> Outcome:
        slots = self._limit.for_threads()
        if slots is None:
            return self._attempt_now(call)
        with slots:  # around the send, not the pool: many threads wait here, not in httpcore
            return self._attempt_now(call)

    def _attempt_now(self, call: PreparedCall) -> Outcome:
        self._start_attempt(call)  # after the wait for a slot: the attempt gets what is left of the deadline
        try:
            outcome: Outcome = self._client.send(call.request)
        except httpx.TransportError as exc:
            outcome = exc
        except RuntimeError:
            self._raise_if_closed()
            raise
        self._record_attempt(call, outcome)
        return outcome


class AsyncClient(BaseClient[httpx.AsyncClient, httpx.AsyncBaseTransport]):
    """The asyncio client: the same resources as ``Client``, awaited; ``async for`` over lists."""

    _pool_class = httpx.AsyncClient
    _resource_prefix = "Async"
    _default_max_concurrency = DEFAULT_MAX_CONCURRENCY

    async def execute(self, req: APIRequest[T]) -> T:
        """Send ``req`` (retried as configured) and return the object it promises: what every
        resource method does with the request it describes."""
        call = self._prepare(req)
        return self._parse(req, call, await self._send(call))

    async def execute_page(self, req: APIRequest[T], cursor: str | None = None) -> AsyncPage[T]:
        """The page of the list ``req`` after the id ``cursor`` (the first page when None)."""
        call = self._prepare(self._page_request(req, cursor))
        fields = self._parse_page_data(req.cast_to, call, await self._send(call))
        return AsyncPage(lambda c: self.execute_page(req, c), **fields)

    async def raw_page(
        self, path: str, *, query: Mapping[str, Any] | None = None, starting_after: str | None = None
    ) -> AsyncPage[dict[str, Any]]:
        """One page of the list at ``path`` (``"/v1/events"``) after the id ``starting_after``, its
        items the JSON objects exactly as the API sent them (no models); ``next_page()`` follows it."""
        return await self.execute_page(APIRequest("GET", path, dict[str, Any], query=query), starting_after)

    async def close(self) -> None:
        """Close the connection pool (not one passed in as ``http_client``, nor a copy's)."""
        made = self._pool.made
        if self._owns_client and made is not None:
            await made.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- sending (as in Client) ----------------------------------------------------------------
    async def _send(self, call: PreparedCall) -> httpx.Response:
        outcome = await self._attempt(call)
        if self._should_retry(outcome):
            from tenacity import AsyncRetrying, retry_if_result

            first = [outcome]

            async def attempt() -> Outcome:
                return first.pop() if first else await self._attempt(call)

            retrying = AsyncRetrying(
                retry=retry_if_result(self._should_retry),
                wait=self._retry_wait,
                stop=self._retry_stop(call),
                retry_error_callback=last_outcome,
                sleep=_async_sleep,
            )
            outcome = await retrying(attempt)
        return self._response(call, outcome)

    async def _attempt(self, call: PreparedCall) -> Outcome:
        slots = self._limit.for_asyncio()
        if slots is None:
            return await self._attempt_now(call)
        async with slots:  # around the send, not the pool: thousands wait here, not in httpcore
            return await self._attempt_now(call)

    async def _attempt_now(self, call: PreparedCall) -> Outcome:
        self._start_attempt(call)  # after the wait for a slot: the attempt gets what is left of the deadline
        try:
            outcome: Outcome = await self._client.send(call.request)
        except httpx.TransportError as exc:
            outcome = exc
        except RuntimeError:
            self._raise_if_closed()
            raise
        self._record_attempt(call, outcome)
        return outcome
