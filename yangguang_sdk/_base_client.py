"""Everything the clients decide without doing I/O.

Configuration, the resources, request building, idempotency keys, retry decisions and delays,
deadlines, response parsing and error mapping live here, once. ``Client`` and ``AsyncClient`` in
``_client.py`` only send.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import functools
import json
import logging
import os
import platform
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from . import errors
from ._constants import (
    API_KEY_ENV,
    API_VERSION,
    BASE_URL_ENV,
    DEFAULT_CONNECTION_LIMITS,
    DEFAULT_DEADLINE,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    INITIAL_RETRY_DELAY,
    MAX_RETRY_AFTER,
    MAX_RETRY_DELAY,
)
from ._logs import logger, redact, setup_logging
from ._request import NOT_GIVEN, APIRequest, NotGiven, TimeoutTypes, idempotency_key_header
from ._version import __version__

if TYPE_CHECKING:
    import asyncio

    from tenacity import RetryCallState
    from typing_extensions import Self

    from .resources import (
        AsyncBalanceTransactions,
        AsyncClaims,
        AsyncEvents,
        AsyncEventTypes,
        AsyncExposure,
        AsyncPolicies,
        AsyncQuotes,
        AsyncRepayments,
        AsyncStatements,
        AsyncTestClock,
        AsyncWebhookEndpoints,
        AsyncWordings,
        BalanceTransactions,
        Claims,
        Events,
        EventTypes,
        Exposure,
        Policies,
        Quotes,
        Repayments,
        Statements,
        TestClock,
        WebhookEndpoints,
        Wordings,
    )
    from .types import ResponseInfo

__all__ = [
    "BaseClient",
    "Outcome",
    "PreparedCall",
    "LazyPool",
    "LazyResource",
    "ConcurrencyLimit",
    "last_outcome",
]

T = TypeVar("T")
HttpxClientT = TypeVar("HttpxClientT", httpx.Client, httpx.AsyncClient)
TransportT = TypeVar("TransportT", httpx.BaseTransport, httpx.AsyncBaseTransport)
SyncR = TypeVar("SyncR")
AsyncR = TypeVar("AsyncR")

Outcome = httpx.Response | httpx.TransportError
"""How one attempt ended: the insurer's answer, or the transport error that stood for none."""

_API_KEY_RE = re.compile(r"yg_(test|live)_[A-Za-z0-9_]{4,200}")
_API_KEY_RULE = (
    "keys are yg_test_ (sandbox) or yg_live_ (production) followed by 4-200 ASCII letters, digits "
    "or underscores"
)
_RETRYABLE_STATUS = frozenset({408, 429})
_DEADLINE_SLACK = 0.05
"""Seconds: a timeout this close to the call's deadline was the deadline's doing."""
# Transport errors raised before any byte of the request left: the insurer cannot have seen it.
# Every other one (a read or write error, a timeout reading the answer, a connection closed
# without an answer) may come after the insurer received the request, and acted on it.
_NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
    httpx.ProxyError,
    httpx.LocalProtocolError,
)


@dataclass
class PreparedCall:
    """The per-call state shared by every attempt: one request, one idempotency key, one deadline."""

    request: httpx.Request
    idempotency_key: str | None
    deadline_at: float
    deadline: float
    timeout: httpx.Timeout | None
    max_retries: int
    started: float = field(default_factory=time.monotonic)
    attempts: int = 0
    key_given: bool = False
    """The caller chose the key (it may hold their data: masked in messages); else it is generated."""
    lost_after_sending: str | None = None
    """The transport error of the last attempt that may have reached the insurer without an answer
    coming back (``ReadError``, ...), if any: the call's outcome is then unknown."""


class LazyPool(Generic[HttpxClientT]):
    """Makes the default httpx client on first use: its TLS set-up costs tens of milliseconds that
    a client built only for the sandbox, or never used, should not pay at construction."""

    def __init__(self, factory: Callable[[], HttpxClientT]) -> None:
        self._factory: Callable[[], HttpxClientT] = factory
        self._made: HttpxClientT | None = None
        self._lock = threading.Lock()

    @classmethod
    def of(cls, client: HttpxClientT) -> LazyPool[HttpxClientT]:
        pool = cls(lambda: client)
        pool._made = client
        return pool

    def get(self) -> HttpxClientT:
        made = self._made
        if made is None:
            with self._lock:
                if self._made is None:
                    self._made = self._factory()
                made = self._made
        return made

    @property
    def made(self) -> HttpxClientT | None:
        return self._made


class ConcurrencyLimit:
    """At most ``limit`` requests of a client and its copies in flight (None: no bound), so that
    thousands of concurrent calls wait in the client, each for a free slot, instead of queueing in
    the connection pool, which degrades with thousands waiting (DESIGN §7.8). The semaphores are
    made on first use (an asyncio one needs no loop before then)."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self._asyncio: asyncio.Semaphore | None = None
        self._threads: threading.BoundedSemaphore | None = None
        self._lock = threading.Lock()

    def for_asyncio(self) -> asyncio.Semaphore | None:
        if self.limit is None:
            return None
        if self._asyncio is None:
            import asyncio

            self._asyncio = asyncio.Semaphore(self.limit)
        return self._asyncio

    def for_threads(self) -> threading.BoundedSemaphore | None:
        if self.limit is None:
            return None
        if self._threads is None:
            with self._lock:
                if self._threads is None:
                    self._threads = threading.BoundedSemaphore(self.limit)
        return self._threads


class LazyResource(Generic[SyncR, AsyncR]):
    """A client's resource (``client.quotes``), made on first use, so a client costs nothing for the
    parts it never calls: ``Quotes`` on a Client, ``AsyncQuotes`` on an AsyncClient."""

    def __init__(self, name: str) -> None:
        self.name = name
        """The sync class's name in ``yangguang_sdk.resources``; the async one is ``Async`` + it."""
        self.attr = ""

    def __set_name__(self, owner: type[Any], attr: str) -> None:
        self.attr = attr

    @overload
    def __get__(self, client: None, owner: type[Any]) -> Self: ...

    @overload
    def __get__(self, client: BaseClient[httpx.Client, Any], owner: type[Any]) -> SyncR: ...

    @overload
    def __get__(self, client: BaseClient[httpx.AsyncClient, Any], owner: type[Any]) -> AsyncR: ...

    def __get__(self, client: BaseClient[Any, Any] | None, owner: type[Any]) -> Any:
        if client is None:
            return self
        from . import resources

        made = getattr(resources, client._resource_prefix + self.name)(client)
        client.__dict__[self.attr] = made  # kept: later reads find it before this descriptor
        return made


@functools.cache
def _user_agent() -> str:
    return f"yangguang-sdk/{__version__} python/{platform.python_version()} httpx/{httpx.__version__}"


def last_outcome(state: RetryCallState) -> Any:
    """tenacity's ``retry_error_callback``: when retries stop, the call ends with the last outcome."""
    assert state.outcome is not None
    return state.outcome.result()


class BaseClient(Generic[HttpxClientT, TransportT]):
    """Configuration, the resources and every I/O-free decision shared by Client and AsyncClient."""

    _pool_class: type[HttpxClientT]
    """The httpx client class a client sends through (set by Client and AsyncClient)."""
    _resource_prefix = ""
    """Put before a resource's name to find its class: ``"Async"`` for AsyncClient."""
    _default_max_concurrency: int | None = None
    """Requests in flight at most when ``max_concurrency`` is not given: 64 for AsyncClient
    (``DEFAULT_MAX_CONCURRENCY``); no bound for Client, whose pool measured no collapse from many
    threads (docs/decisions.md)."""

    quotes: LazyResource[Quotes, AsyncQuotes] = LazyResource("Quotes")
    policies: LazyResource[Policies, AsyncPolicies] = LazyResource("Policies")
    repayments: LazyResource[Repayments, AsyncRepayments] = LazyResource("Repayments")
    claims: LazyResource[Claims, AsyncClaims] = LazyResource("Claims")
    events: LazyResource[Events, AsyncEvents] = LazyResource("Events")
    webhook_endpoints: LazyResource[WebhookEndpoints, AsyncWebhookEndpoints] = LazyResource(
        "WebhookEndpoints"
    )
    test_clock: LazyResource[TestClock, AsyncTestClock] = LazyResource("TestClock")
    exposure: LazyResource[Exposure, AsyncExposure] = LazyResource("Exposure")
    wordings: LazyResource[Wordings, AsyncWordings] = LazyResource("Wordings")
    balance_transactions: LazyResource[BalanceTransactions, AsyncBalanceTransactions] = LazyResource(
        "BalanceTransactions"
    )
    statements: LazyResource[Statements, AsyncStatements] = LazyResource("Statements")
    event_types: LazyResource[EventTypes, AsyncEventTypes] = LazyResource("EventTypes")

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | httpx.URL | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        deadline: float = DEFAULT_DEADLINE,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        http_client: HttpxClientT | None = None,
        transport: TransportT | None = None,
        max_concurrency: int | None | NotGiven = NOT_GIVEN,
    ) -> None:
        setup_logging()
        api_key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
        if not api_key:
            raise errors.ConfigurationError(
                f"No API key: pass api_key='yg_test_...' to the client or set the {API_KEY_ENV} "
                "environment variable."
            )
        if not isinstance(api_key, str) or not _API_KEY_RE.fullmatch(api_key):
            raise errors.ConfigurationError(_malformed_key_message(api_key))
        base = base_url if base_url is not None else os.environ.get(BASE_URL_ENV)
        if not base:
            raise errors.ConfigurationError(
                f"No base URL: pass base_url='https://...' to the client or set the {BASE_URL_ENV} "
                "environment variable (for the sandbox: Sandbox().client(), or "
                "base_url='http://127.0.0.1:8765' for a served one)."
            )
        try:
            url = httpx.URL(str(base))
        except httpx.InvalidURL:
            url = httpx.URL()
        if url.scheme not in ("http", "https") or not url.host:
            raise errors.ConfigurationError(f"base_url must be an http(s) URL, got {str(base)!r}")
        if url.path.rstrip("/").endswith("/v1"):
            root = str(
                url.copy_with(path=url.path.rstrip("/")[: -len("/v1")] or "/", query=None, fragment=None)
            )
            raise errors.ConfigurationError(
                f"base_url ends in /v1, but the SDK adds /v1/... to every path itself: use "
                f"base_url={root.rstrip('/')!r} (the API's root, e.g. http://127.0.0.1:8765 for a "
                "served sandbox)."
            )
        self.live = api_key.startswith("yg_live_")
        if self.live and url.scheme != "https":
            raise errors.ConfigurationError(
                "A live API key (yg_live_...) is only sent over https; base_url uses "
                f"{url.scheme}://. Use a yg_test_ key for a local sandbox."
            )
        if http_client is not None and transport is not None:
            raise errors.ConfigurationError("pass http_client= or transport=, not both")
        self._api_key = api_key  # for with_options, which makes a client with the same settings
        self.base_url = url if str(url).endswith("/") else httpx.URL(str(url) + "/")
        self._base = str(self.base_url)
        self.timeout: httpx.Timeout | None = _as_timeout(
            DEFAULT_TIMEOUT if isinstance(timeout, NotGiven) else timeout
        )
        self.deadline = _check_deadline(deadline)
        self.max_retries = _check_max_retries(max_retries)
        self._limit = ConcurrencyLimit(
            _check_max_concurrency(
                self._default_max_concurrency if isinstance(max_concurrency, NotGiven) else max_concurrency
            )
        )
        self._default_headers = default_headers
        self._headers = {
            "Authorization": f"Bearer {api_key}",
            "User-Agent": _user_agent(),
            "yangguang-version": API_VERSION,
            "Accept": "application/json",
            **(default_headers or {}),
        }
        self._normalised_headers = httpx.Headers(self._headers)
        self._owns_client = http_client is None
        pool_options: dict[str, Any] = {
            "transport": transport,
            "limits": DEFAULT_CONNECTION_LIMITS,
            "follow_redirects": False,
        }
        self._pool: LazyPool[HttpxClientT] = (
            LazyPool.of(http_client)
            if http_client is not None
            else LazyPool(functools.partial(self._pool_class, **pool_options))
        )

    @property
    def _client(self) -> HttpxClientT:
        """The httpx client (the connection pool), made on first use and shared by copies."""
        return self._pool.get()

    # -- representation: never the key -------------------------------------------------------
    def __repr__(self) -> str:
        mode = "live" if self.live else "test"
        return f"{type(self).__name__}(base_url={str(self.base_url)!r}, key=yg_{mode}_****)"

    # -- copies ------------------------------------------------------------------------------
    @property
    def livemode(self) -> bool:
        """True for a live key (``yg_live_...``), False for a test key: a test key's time is the
        sandbox's clock (``test_clock``), a live key's the real one."""
        return self._api_key.startswith("yg_live_")

    def with_options(
        self,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> Self:
        """A copy with other defaults that shares this client's connection pool."""
        copy = type(self)(
            api_key=self._api_key,
            base_url=self.base_url,
            timeout=self.timeout if isinstance(timeout, NotGiven) else timeout,
            deadline=self.deadline if isinstance(deadline, NotGiven) else deadline,
            max_retries=self.max_retries if isinstance(max_retries, NotGiven) else max_retries,
            default_headers=self._default_headers,
        )
        copy._pool = self._pool
        copy._limit = self._limit  # the copies share the bound on requests in flight with the pool
        copy._owns_client = False  # the pool belongs to the original: closing the copy leaves it open
        return copy

    # -- building ----------------------------------------------------------------------------
    def _prepare(self, req: APIRequest[Any]) -> PreparedCall:
        # A copy of the headers normalised once (httpx.Headers): normalising every header again on
        # each call was a measurable share of the per-call overhead (docs/benchmarks.md, section 1).
        headers = self._normalised_headers.copy()
        key: str | None = None
        if req.method == "POST":
            key = req.idempotency_key
            if not key:
                key = f"yg-{uuid.uuid4()}"  # printable ASCII: its header is the key itself
                headers["Idempotency-Key"] = key
            else:
                headers["Idempotency-Key"] = idempotency_key_header(key)  # "订单-1" too (_request.py)
        content: bytes | None = None
        if req.body is not None:
            if isinstance(req.body, BaseModel):
                content = req.body.__pydantic_serializer__.to_json(req.body, exclude_none=True)
            else:
                content = json.dumps(dict(req.body), separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        if req.extra_headers:
            headers.update(req.extra_headers)
        params = {k: v for k, v in (req.query or {}).items() if v is not None} if req.query else None
        request = httpx.Request(
            req.method,
            _url(self._base + req.path.lstrip("/")),
            params=params,
            headers=headers,
            content=content,
        )
        deadline = self.deadline if isinstance(req.deadline, NotGiven) else float(req.deadline)
        timeout = self.timeout if isinstance(req.timeout, NotGiven) else _as_timeout(req.timeout)
        now = time.monotonic()
        return PreparedCall(
            request=request,
            idempotency_key=key,
            deadline_at=now + deadline,
            deadline=deadline,
            timeout=timeout,
            max_retries=self.max_retries,
            started=now,
            key_given=req.idempotency_key is not None,
        )

    @staticmethod
    def _page_request(req: APIRequest[T], cursor: str | None) -> APIRequest[T]:
        """The request for the page after ``cursor`` (the first page when None)."""
        if cursor is None:
            return req
        return dataclasses.replace(req, query={**(req.query or {}), "starting_after": cursor})

    def _start_attempt(self, call: PreparedCall) -> None:
        """Count an attempt and give it what is left of the call's time. Past the deadline no
        attempt is made (nor counted): ``_attempt_timeout`` raises."""
        call.request.extensions["timeout"] = self._attempt_timeout(call)
        call.attempts += 1

    def _attempt_timeout(self, call: PreparedCall) -> dict[str, float | None]:
        """This attempt's timeouts: the configured ones, never past the call's deadline."""
        remaining = call.deadline_at - time.monotonic()
        if remaining <= 0:
            raise self._deadline_error(call)
        base = call.timeout
        if base is None:
            return {"connect": remaining, "read": remaining, "write": remaining, "pool": remaining}
        return {
            "connect": _min(base.connect, remaining),
            "read": _min(base.read, remaining),
            "write": _min(base.write, remaining),
            "pool": _min(base.pool, remaining),
        }

    def _deadline_error(self, call: PreparedCall) -> errors.APITimeoutError:
        return errors.APITimeoutError(
            f"The call did not finish within its {call.deadline:g} s deadline "
            f"({call.attempts} attempt(s)). Raise it with deadline=... or check the connection."
            + self._unknown_outcome(call),
            method=call.request.method,
            url=str(call.request.url.copy_with(query=None)),
        )

    # -- retry decisions: tenacity's ``retry``, ``wait`` and ``stop`` ----------------------------
    def _should_retry(self, outcome: Outcome) -> bool:
        """Whether an attempt's outcome calls for another attempt: no answer at all, 408, 409
        ``idempotency_request_in_progress``, 429 or 5xx, unless the answer says ``x-should-retry``."""
        if isinstance(outcome, httpx.TransportError):
            return True
        status = outcome.status_code
        if status < 400:
            return False  # a success is never sent again, whatever its headers say
        override = outcome.headers.get("x-should-retry")
        if override == "true":
            return True
        if override == "false":
            return False
        if status in _RETRYABLE_STATUS or status >= 500:
            return True
        if status == 409:
            return b"idempotency_request_in_progress" in outcome.content and (
                _error_fields(outcome).get("code") == "idempotency_request_in_progress"
            )
        return False

    def _retry_delay(self, attempt: int, outcome: Outcome | None) -> float:
        """Seconds to wait after attempt number ``attempt`` (1-based) ended with ``outcome``: the
        server's ``retry-after-ms`` / ``Retry-After`` when within 0-60 s, else
        min(0.5 * 2^(attempt-1), 8) less up to 25 % of jitter."""
        if isinstance(outcome, httpx.Response):
            server = _retry_after(outcome.headers)
            if server is not None and 0 <= server <= MAX_RETRY_AFTER:
                return server
        delay = min(INITIAL_RETRY_DELAY * 2.0 ** (attempt - 1), MAX_RETRY_DELAY)
        return delay * (1 - 0.25 * random.random())

    def _retry_wait(self, state: RetryCallState) -> float:
        """tenacity's ``wait``: the delay after the attempt tenacity just saw."""
        return self._retry_delay(state.attempt_number, last_outcome(state))

    @staticmethod
    def _retry_stop(call: PreparedCall) -> Callable[[RetryCallState], bool]:
        """tenacity's ``stop`` for ``call``: after its last retry, or when the next wait would end at
        or past its deadline (a retry that cannot start in time is not attempted)."""

        def stop(state: RetryCallState) -> bool:
            return (
                state.attempt_number > call.max_retries
                or time.monotonic() + state.upcoming_sleep >= call.deadline_at
            )

        return stop

    # -- responses ---------------------------------------------------------------------------
    def _record_attempt(self, call: PreparedCall, outcome: Outcome) -> None:
        """Note how an attempt ended (for the call's error, should it fail) and log it."""
        if isinstance(outcome, httpx.TransportError) and not isinstance(outcome, _NOT_SENT):
            call.lost_after_sending = type(outcome).__name__
        self._log_attempt(call, outcome)

    def _log_attempt(self, call: PreparedCall, outcome: Outcome) -> None:
        if not logger.isEnabledFor(logging.INFO):
            return
        elapsed = (time.monotonic() - call.started) * 1000
        req = call.request
        if isinstance(outcome, httpx.Response):
            level = logging.DEBUG if outcome.status_code < 400 else logging.INFO
            logger.log(
                level,
                "%s %s -> %s attempt=%d request_id=%s %.1fms",
                req.method,
                req.url.path,
                outcome.status_code,
                call.attempts,
                outcome.headers.get("request-id"),
                elapsed,
            )
        else:
            logger.info(
                "%s %s -> %s attempt=%d %.1fms",
                req.method,
                req.url.path,
                type(outcome).__name__,
                call.attempts,
                elapsed,
            )

    def _raise_if_closed(self) -> None:
        """A call on a client whose connection pool was closed is a ``ConfigurationError`` that
        says so (httpx's own is a bare ``RuntimeError``)."""
        made = self._pool.made
        if made is not None and made.is_closed:
            raise errors.ConfigurationError(
                "This client was closed (client.close() or the end of its `with` block); "
                "make a new client to send more requests."
            ) from None

    def _response(self, call: PreparedCall, outcome: Outcome) -> httpx.Response:
        """The call's last outcome as a response; none at all raises APIConnectionError (or
        APITimeoutError)."""
        if isinstance(outcome, httpx.TransportError):
            raise self._connection_error(call, outcome) from outcome
        return outcome

    def _connection_error(self, call: PreparedCall, exc: BaseException) -> errors.APIConnectionError:
        req = call.request
        url = str(req.url.copy_with(query=None))
        name = type(exc).__name__
        if isinstance(exc, httpx.TimeoutException):
            if time.monotonic() >= call.deadline_at - _DEADLINE_SLACK:
                # The deadline cut the last attempt short: a longer per-attempt timeout would not help.
                fix = f"The call's deadline of {call.deadline:g} s ran out: raise deadline=..."
            else:
                fix = "Raise timeout=..."
            return errors.APITimeoutError(
                f"No response from {req.method} {req.url.path} in time after {call.attempts} attempt(s) "
                f"({name}). {fix} or check that the server is up." + self._unknown_outcome(call, exc),
                method=req.method,
                url=url,
            )
        where = f"{req.url.scheme}://{req.url.netloc.decode()}"
        if not isinstance(exc, _NOT_SENT):
            message = (
                f"The connection to {where} was lost after {req.method} {req.url.path} was sent, "
                f"with no answer ({name}, after {call.attempts} attempt(s))."
            )
        elif call.lost_after_sending is not None:
            # The retries could not connect, but an earlier attempt may have reached the insurer:
            # the headline is the unknown outcome, not "could not reach".
            message = (
                f"The outcome of {req.method} {req.url.path} is unknown. The retries could not reach "
                f"{where} ({name}, after {call.attempts} attempt(s))."
            )
        else:
            message = (
                f"Could not reach {where} for {req.method} {req.url.path} after {call.attempts} "
                f"attempt(s) ({name}). Is base_url right and the server up?"
            )
        return errors.APIConnectionError(
            message + self._unknown_outcome(call, exc), method=req.method, url=url
        )

    @staticmethod
    def _unknown_outcome(call: PreparedCall, last: BaseException | None = None) -> str:
        """What to tell the caller when an attempt of ``call`` may have reached the insurer without
        its answer coming back (``last``: the call's last outcome, when it is such an attempt): the
        outcome is unknown, and how to learn it safely."""
        lost = call.lost_after_sending
        if lost is None:
            return ""
        method = call.request.method
        if last is not None and not isinstance(last, _NOT_SENT):
            text = " The request may have reached the insurer, so the outcome is unknown."
        else:
            text = (
                f" An earlier attempt ended with {lost} after the request was sent: it may have "
                "reached the insurer, so the outcome is unknown."
            )
        key = call.idempotency_key
        if key is None:
            return text + f" A {method} changes nothing: repeating it is safe."
        shown = redact(repr(key)) if call.key_given else repr(key)  # a caller's key may hold a phone
        return text + (
            f" Repeat the call with idempotency_key={shown} (within 24 h): the insurer acts on a key "
            "once, and a repeat returns the first answer."
        )

    def _response_info(self, call: PreparedCall, response: httpx.Response) -> ResponseInfo:
        ResponseInfo = _response_types()[0]  # noqa: N806 (the class, loaded on first use)
        return ResponseInfo(
            status_code=response.status_code,
            headers=response.headers,
            request_id=response.headers.get("request-id"),
            attempts=call.attempts,
            elapsed_ms=(time.monotonic() - call.started) * 1000,
            idempotency_key=call.idempotency_key,
        )

    def _parse(self, req: APIRequest[T], call: PreparedCall, response: httpx.Response) -> T:
        if response.status_code >= 400:
            raise self._status_error(call, response)
        try:
            obj: Any = _loader(req.cast_to)[0](response.content)
        except ValidationError as exc:
            raise self._unreadable(call, response, exc) from None
        _response_types()[1](obj, self._response_info(call, response))
        return obj  # type: ignore[no-any-return]

    def _parse_page_data(
        self, item_type: Any, call: PreparedCall, response: httpx.Response
    ) -> dict[str, Any]:
        if response.status_code >= 400:
            raise self._status_error(call, response)
        load = _loader(item_type)[1]
        try:
            raw = response.json()
            return {
                "data": [load(item) for item in raw["data"]],
                "has_more": bool(raw.get("has_more")),
                "next_cursor": raw.get("next_cursor"),
                "info": self._response_info(call, response),
            }
        except (ValidationError, ValueError, AttributeError, KeyError, TypeError) as exc:
            raise self._unreadable(call, response, exc) from None

    def _unreadable(
        self, call: PreparedCall, response: httpx.Response, exc: Exception
    ) -> errors.APIResponseValidationError:
        where = ""
        if isinstance(exc, ValidationError) and exc.errors():
            where = " at " + ".".join(str(p) for p in exc.errors()[0]["loc"])
        return errors.APIResponseValidationError(
            f"The {response.status_code} answer to {call.request.method} {call.request.url.path} could not be "
            f"read{where}: is base_url an insurer API of version {API_VERSION}?",
            status_code=response.status_code,
            request_id=response.headers.get("request-id"),
            method=call.request.method,
            url=str(call.request.url.copy_with(query=None)),
        )

    def _status_error(self, call: PreparedCall, response: httpx.Response) -> errors.APIStatusError:
        fields = _error_fields(response)
        code = _text(fields.get("code"))
        cls = errors.status_error_class(response.status_code, code)
        request_id = _text(fields.get("request_id")) or response.headers.get("request-id")
        message = redact(
            _text(fields.get("message")) or f"HTTP {response.status_code} from {call.request.url.path}"
        )
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text[:2000]
        return cls(
            message,
            status_code=response.status_code,
            request_id=request_id,
            code=code,
            param=_text(fields.get("param")),
            body=body,
            headers=dict(response.headers),
            method=call.request.method,
            url=str(call.request.url.copy_with(query=None)),
        )


@functools.cache
def _response_types() -> tuple[type[ResponseInfo], Callable[[Any, ResponseInfo], None]]:
    """``ResponseInfo`` and ``attach_response``, imported once: the models load with the first
    resource, not with the client, and an import statement in the per-call path costs more than
    this cached lookup."""
    from .types import ResponseInfo
    from .types._base import attach_response

    return ResponseInfo, attach_response


@functools.lru_cache(maxsize=256)
def _url(text: str) -> httpx.URL:
    """``httpx.URL(text)``, parsed once per URL: parsing the string again for every request was
    about a twentieth of a ``quotes.create``'s cost. An ``httpx.URL`` is immutable: requests share it."""
    return httpx.URL(text)


@functools.lru_cache(maxsize=64)
def _loader(cast_to: Any) -> tuple[Callable[[bytes], Any], Callable[[Any], Any]]:
    """(from JSON bytes, from Python data) validators for a model class or any other type."""
    if isinstance(cast_to, type) and issubclass(cast_to, BaseModel):
        return cast_to.model_validate_json, cast_to.model_validate
    adapter: TypeAdapter[Any] = TypeAdapter(cast_to)
    return adapter.validate_json, adapter.validate_python


def _error_fields(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def _retry_after(headers: httpx.Headers) -> float | None:
    """The server's requested delay: ``retry-after-ms``, then ``Retry-After`` (seconds or HTTP date)."""
    value = headers.get("retry-after-ms")
    if value is not None:
        try:
            return float(value) / 1000.0
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000" means UTC with no zone information
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.timestamp() - time.time()


def _malformed_key_message(key: object) -> str:
    """Which part of the key rule ``key`` breaks, without repeating the key."""
    if not isinstance(key, str):
        why = f"it is a {type(key).__name__}, not a str"
    else:
        prefix = next((p for p in ("yg_test_", "yg_live_") if key.startswith(p)), None)
        rest = key[len(prefix) :] if prefix else ""
        if prefix is None:
            why = "it does not start with yg_test_ or yg_live_"
        elif len(rest) < 4:
            why = f"it has {len(rest)} character{'' if len(rest) == 1 else 's'} after {prefix}, fewer than 4"
        elif len(rest) > 200:
            why = f"it has {len(rest)} characters after {prefix}, more than 200"
        else:
            why = f"after {prefix} it has a character other than an ASCII letter, digit or underscore"
    return f"The API key is malformed ({why}): {_API_KEY_RULE}."


def _as_timeout(value: TimeoutTypes) -> httpx.Timeout | None:
    if value is None:
        return None
    if isinstance(value, httpx.Timeout):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise errors.ConfigurationError(
            "timeout must be a positive number of seconds, an httpx.Timeout or None"
        )
    return httpx.Timeout(float(value))


def _check_max_retries(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise errors.ConfigurationError("max_retries must be an int >= 0")
    return value


def _check_max_concurrency(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise errors.ConfigurationError("max_concurrency must be an int >= 1, or None for no bound")
    return value


def _check_deadline(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise errors.ConfigurationError("deadline must be a positive number of seconds")
    return float(value)


def _text(value: object) -> str | None:
    """A string field of an error body; anything else (a list, a number) is dropped."""
    return value if isinstance(value, str) and value else None


def _min(a: float | None, b: float) -> float:
    return b if a is None else min(a, b)
