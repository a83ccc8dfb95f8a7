"""``Client`` and ``AsyncClient``: the thin send loops over the shared decisions of BaseClient."""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from ._base_client import NOT_GIVEN, APIRequest, BaseClient, LazyPool, NotGiven, PreparedCall, TimeoutTypes
from ._constants import DEFAULT_CONNECTION_LIMITS, DEFAULT_DEADLINE, DEFAULT_MAX_RETRIES
from .pagination import AsyncPage, AsyncPaginator, SyncPage

if TYPE_CHECKING:
    from .resources import (
        AsyncClaims,
        AsyncEvents,
        AsyncPolicies,
        AsyncQuotes,
        AsyncRepayments,
        AsyncTestClock,
        AsyncWebhookEndpoints,
        Claims,
        Events,
        Policies,
        Quotes,
        Repayments,
        TestClock,
        WebhookEndpoints,
    )

__all__ = ["Client", "AsyncClient"]


async def _async_sleep(seconds: float) -> None:
    """The async clients' back-off sleep (asyncio is imported only when a retry waits)."""
    import asyncio

    await asyncio.sleep(seconds)


T = TypeVar("T")
_RESOURCE_NAMES = ("quotes", "policies", "repayments", "claims", "events", "webhook_endpoints", "test_clock")


class Client(BaseClient[httpx.Client]):
    """The synchronous client. One connection pool per client; use it as a context manager or ``close()``.

    >>> client = Client(api_key="yg_test_...", base_url="http://127.0.0.1:8765")  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | httpx.URL | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        deadline: float = DEFAULT_DEADLINE,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            deadline=deadline,
            max_retries=max_retries,
            default_headers=default_headers,
        )
        if http_client is not None and transport is not None:
            from .errors import ConfigurationError

            raise ConfigurationError("pass http_client= or transport=, not both")
        self._owns_client = http_client is None
        self._pool = (
            LazyPool.of(http_client)
            if http_client is not None
            else LazyPool(
                lambda: httpx.Client(
                    transport=transport, limits=DEFAULT_CONNECTION_LIMITS, follow_redirects=False
                )
            )
        )
        self._bind_resources()

    # Resources are made on first use, so a client costs nothing for the parts it never calls.
    @functools.cached_property
    def quotes(self) -> Quotes:
        from .resources import Quotes

        return Quotes(self)

    @functools.cached_property
    def policies(self) -> Policies:
        from .resources import Policies

        return Policies(self)

    @functools.cached_property
    def repayments(self) -> Repayments:
        from .resources import Repayments

        return Repayments(self)

    @functools.cached_property
    def claims(self) -> Claims:
        from .resources import Claims

        return Claims(self)

    @functools.cached_property
    def events(self) -> Events:
        from .resources import Events

        return Events(self)

    @functools.cached_property
    def webhook_endpoints(self) -> WebhookEndpoints:
        from .resources import WebhookEndpoints

        return WebhookEndpoints(self)

    @functools.cached_property
    def test_clock(self) -> TestClock:
        from .resources import TestClock

        return TestClock(self)

    def _bind_resources(self) -> None:
        for name in _RESOURCE_NAMES:
            self.__dict__.pop(name, None)  # a copy must not reuse resources bound to the original

    def with_options(
        self,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> Client:
        """A copy with other defaults that shares this client's connection pool."""
        clone: Client = self._copy_with(timeout=timeout, deadline=deadline, max_retries=max_retries)
        return clone

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
    def _send_with_retries(self, call: PreparedCall) -> httpx.Response:
        def attempt() -> httpx.Response:
            # Past the deadline, no attempt is made (and none is counted).
            call.request.extensions["timeout"] = self._attempt_timeout(call)
            call.attempts += 1
            try:
                response = self._client.send(call.request)
            except httpx.TransportError as exc:
                self._log_attempt(call, None, exc)
                raise
            self._log_attempt(call, response, None)
            return response

        # The first attempt runs before tenacity is set up: most calls need no retry, and then
        # building the retry loop would be the costliest part of the call. When a retry is wanted,
        # tenacity takes over with that first outcome as its attempt 1.
        try:
            first: httpx.Response | httpx.TransportError = attempt()
        except httpx.TransportError as exc:
            first = exc
        if not self._retry_wanted(first):
            if isinstance(first, httpx.TransportError):
                raise self._connection_error(call, first) from first
            return first
        pending = [first]

        def replay_then_attempt() -> httpx.Response:
            if pending:
                outcome = pending.pop()
                if isinstance(outcome, httpx.TransportError):
                    raise outcome
                return outcome
            return attempt()

        from tenacity import Retrying  # imported on the first retry: most processes never need it

        retrying = Retrying(
            stop=self._tenacity_stop(call),
            wait=self._tenacity_wait,
            retry=self._tenacity_retry,
            retry_error_callback=self._tenacity_give_up,
            sleep=time.sleep,
            reraise=True,
        )
        try:
            response: httpx.Response = retrying(replay_then_attempt)
        except httpx.TransportError as exc:
            raise self._connection_error(call, exc) from exc
        return response

    def _execute(self, req: APIRequest[T]) -> T:
        call = self._prepare(req)
        return self._parse(req, call, self._send_with_retries(call))

    def _execute_page(self, req: APIRequest[Any], cursor: str | None = None) -> SyncPage[Any]:
        call = self._prepare(self._page_request(req, cursor))
        fields = self._parse_page_data(req.cast_to, call, self._send_with_retries(call))
        return SyncPage(lambda c: self._execute_page(req, c), **fields)

    def raw_page(
        self, path: str, *, query: Mapping[str, Any] | None = None, starting_after: str | None = None
    ) -> SyncPage[dict[str, Any]]:
        """One page of the list at ``path`` (``"/v1/events"``) after the id ``starting_after``, its
        items the JSON objects exactly as the API sent them (no models); ``next_page()`` follows it.
        For tools that forward or store what the API said (``yangguang listen``)."""
        return self._execute_page(APIRequest("GET", path, dict[str, Any], query=query), starting_after)


class AsyncClient(BaseClient[httpx.AsyncClient]):
    """The asyncio client: the same resources as ``Client``, awaited; ``async for`` over lists."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | httpx.URL | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        deadline: float = DEFAULT_DEADLINE,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            deadline=deadline,
            max_retries=max_retries,
            default_headers=default_headers,
        )
        if http_client is not None and transport is not None:
            from .errors import ConfigurationError

            raise ConfigurationError("pass http_client= or transport=, not both")
        self._owns_client = http_client is None
        self._pool = (
            LazyPool.of(http_client)
            if http_client is not None
            else LazyPool(
                lambda: httpx.AsyncClient(
                    transport=transport, limits=DEFAULT_CONNECTION_LIMITS, follow_redirects=False
                )
            )
        )
        self._bind_resources()

    # Resources are made on first use, so a client costs nothing for the parts it never calls.
    @functools.cached_property
    def quotes(self) -> AsyncQuotes:
        from .resources import AsyncQuotes

        return AsyncQuotes(self)

    @functools.cached_property
    def policies(self) -> AsyncPolicies:
        from .resources import AsyncPolicies

        return AsyncPolicies(self)

    @functools.cached_property
    def repayments(self) -> AsyncRepayments:
        from .resources import AsyncRepayments

        return AsyncRepayments(self)

    @functools.cached_property
    def claims(self) -> AsyncClaims:
        from .resources import AsyncClaims

        return AsyncClaims(self)

    @functools.cached_property
    def events(self) -> AsyncEvents:
        from .resources import AsyncEvents

        return AsyncEvents(self)

    @functools.cached_property
    def webhook_endpoints(self) -> AsyncWebhookEndpoints:
        from .resources import AsyncWebhookEndpoints

        return AsyncWebhookEndpoints(self)

    @functools.cached_property
    def test_clock(self) -> AsyncTestClock:
        from .resources import AsyncTestClock

        return AsyncTestClock(self)

    def _bind_resources(self) -> None:
        for name in _RESOURCE_NAMES:
            self.__dict__.pop(name, None)  # a copy must not reuse resources bound to the original

    def with_options(
        self,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> AsyncClient:
        """A copy with other defaults that shares this client's connection pool."""
        clone: AsyncClient = self._copy_with(timeout=timeout, deadline=deadline, max_retries=max_retries)
        return clone

    async def close(self) -> None:
        """Close the connection pool (not one passed in as ``http_client``, nor a copy's)."""
        made = self._pool.made
        if self._owns_client and made is not None:
            await made.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- sending -----------------------------------------------------------------------------
    async def _send_with_retries(self, call: PreparedCall) -> httpx.Response:
        async def attempt() -> httpx.Response:
            # Past the deadline, no attempt is made (and none is counted).
            call.request.extensions["timeout"] = self._attempt_timeout(call)
            call.attempts += 1
            try:
                response = await self._client.send(call.request)
            except httpx.TransportError as exc:
                self._log_attempt(call, None, exc)
                raise
            self._log_attempt(call, response, None)
            return response

        # As in Client: the first attempt runs before tenacity is set up.
        try:
            first: httpx.Response | httpx.TransportError = await attempt()
        except httpx.TransportError as exc:
            first = exc
        if not self._retry_wanted(first):
            if isinstance(first, httpx.TransportError):
                raise self._connection_error(call, first) from first
            return first
        pending = [first]

        async def replay_then_attempt() -> httpx.Response:
            if pending:
                outcome = pending.pop()
                if isinstance(outcome, httpx.TransportError):
                    raise outcome
                return outcome
            return await attempt()

        from tenacity import AsyncRetrying

        retrying = AsyncRetrying(
            stop=self._tenacity_stop(call),
            wait=self._tenacity_wait,
            retry=self._tenacity_retry,
            retry_error_callback=self._tenacity_give_up,
            sleep=_async_sleep,
            reraise=True,
        )
        try:
            response: httpx.Response = await retrying(replay_then_attempt)
        except httpx.TransportError as exc:
            raise self._connection_error(call, exc) from exc
        return response

    async def _execute(self, req: APIRequest[T]) -> T:
        call = self._prepare(req)
        return self._parse(req, call, await self._send_with_retries(call))

    async def _execute_page(self, req: APIRequest[Any], cursor: str | None = None) -> AsyncPage[Any]:
        call = self._prepare(self._page_request(req, cursor))
        fields = self._parse_page_data(req.cast_to, call, await self._send_with_retries(call))
        return AsyncPage(lambda c: self._execute_page(req, c), **fields)

    async def raw_page(
        self, path: str, *, query: Mapping[str, Any] | None = None, starting_after: str | None = None
    ) -> AsyncPage[dict[str, Any]]:
        """One page of the list at ``path`` (``"/v1/events"``) after the id ``starting_after``, its
        items the JSON objects exactly as the API sent them (no models); ``next_page()`` follows it."""
        return await self._execute_page(APIRequest("GET", path, dict[str, Any], query=query), starting_after)

    def _paginator(self, req: APIRequest[Any]) -> AsyncPaginator[Any]:
        return AsyncPaginator(lambda c: self._execute_page(req, c))
