"""Everything the clients decide without doing I/O.

Configuration, request building, idempotency keys, retry decisions and delays, deadlines, response
parsing and error mapping live here, once. ``Client`` and ``AsyncClient`` in ``_client.py`` only send.
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
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from . import errors
from ._constants import (
    API_KEY_ENV,
    API_VERSION,
    BASE_URL_ENV,
    DEFAULT_DEADLINE,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    INITIAL_RETRY_DELAY,
    MAX_RETRY_AFTER,
    MAX_RETRY_DELAY,
)
from ._logs import logger, redact, setup_logging
from ._response import ResponseInfo
from ._version import __version__

if TYPE_CHECKING:
    from tenacity import RetryCallState

__all__ = ["BaseClient", "APIRequest", "NotGiven", "NOT_GIVEN", "PreparedCall", "LazyPool"]

T = TypeVar("T")
HttpxClientT = TypeVar("HttpxClientT", httpx.Client, httpx.AsyncClient)


class NotGiven:
    """Marks an option the caller did not pass (``None`` may mean "no timeout")."""

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN = NotGiven()
TimeoutTypes = float | httpx.Timeout | None
_API_KEY_RE = re.compile(r"yg_(test|live)_[A-Za-z0-9_]{4,200}")
_RETRYABLE_STATUS = frozenset({408, 429})


@dataclass(frozen=True)
class APIRequest(Generic[T]):
    """A description of one API call, built by a resource method and executed by a client."""

    method: str
    path: str
    cast_to: Any
    """A model class, or a type for a pydantic TypeAdapter (the Event union)."""
    body: BaseModel | Mapping[str, Any] | None = None
    query: Mapping[str, Any] | None = None
    idempotency_key: str | None = None
    timeout: TimeoutTypes | NotGiven = NOT_GIVEN
    deadline: float | NotGiven = NOT_GIVEN
    extra_headers: Mapping[str, str] | None = None


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


def _user_agent() -> str:
    return f"yangguang-sdk/{__version__} python/{platform.python_version()} httpx/{httpx.__version__}"


class BaseClient(Generic[HttpxClientT]):
    """Configuration and every I/O-free decision shared by Client and AsyncClient."""

    _pool: LazyPool[HttpxClientT]
    _owns_client: bool

    @property
    def _client(self) -> HttpxClientT:
        """The httpx client (the connection pool), made on first use and shared by copies."""
        return self._pool.get()

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | httpx.URL | None,
        timeout: TimeoutTypes | NotGiven,
        deadline: float,
        max_retries: int,
        default_headers: Mapping[str, str] | None,
    ) -> None:
        setup_logging()
        api_key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
        if not api_key:
            raise errors.ConfigurationError(
                f"No API key: pass api_key='yg_test_...' to the client or set the {API_KEY_ENV} "
                "environment variable."
            )
        if not isinstance(api_key, str) or not _API_KEY_RE.fullmatch(api_key):
            raise errors.ConfigurationError(
                "The API key is malformed: keys look like yg_test_... (sandbox) or yg_live_... (production)."
            )
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
        self.live = api_key.startswith("yg_live_")
        if self.live and url.scheme != "https":
            raise errors.ConfigurationError(
                "A live API key (yg_live_...) is only sent over https; base_url uses "
                f"{url.scheme}://. Use a yg_test_ key for a local sandbox."
            )
        self._api_key = api_key
        self.base_url = url if str(url).endswith("/") else httpx.URL(str(url) + "/")
        self._base = str(self.base_url)
        self.timeout: httpx.Timeout | None = _as_timeout(
            DEFAULT_TIMEOUT if isinstance(timeout, NotGiven) else timeout
        )
        self.deadline = _check_deadline(deadline)
        self.max_retries = _check_max_retries(max_retries)
        self._headers = {
            "Authorization": f"Bearer {api_key}",
            "User-Agent": _user_agent(),
            "yangguang-version": API_VERSION,
            "Accept": "application/json",
            **(default_headers or {}),
        }

    # -- representation: never the key -------------------------------------------------------
    def __repr__(self) -> str:
        mode = "live" if self.live else "test"
        return f"{type(self).__name__}(base_url={str(self.base_url)!r}, key=yg_{mode}_****)"

    # -- copies ------------------------------------------------------------------------------
    def _copy_with(
        self,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> Any:
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone._owns_client = False  # the pool belongs to the original
        if not isinstance(timeout, NotGiven):
            clone.timeout = _as_timeout(timeout)
        if not isinstance(deadline, NotGiven):
            clone.deadline = _check_deadline(deadline)
        if not isinstance(max_retries, NotGiven):
            clone.max_retries = _check_max_retries(max_retries)
        clone._bind_resources()
        return clone

    def _bind_resources(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    # -- building ----------------------------------------------------------------------------
    def _prepare(self, req: APIRequest[Any]) -> PreparedCall:
        headers = dict(self._headers)
        key: str | None = None
        if req.method == "POST":
            key = req.idempotency_key or f"yg-{uuid.uuid4()}"
            headers["Idempotency-Key"] = key
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
            req.method, self._base + req.path.lstrip("/"), params=params, headers=headers, content=content
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
        )

    @staticmethod
    def _page_request(req: APIRequest[T], cursor: str | None) -> APIRequest[T]:
        """The request for the page after ``cursor`` (the first page when None)."""
        if cursor is None:
            return req
        return dataclasses.replace(req, query={**(req.query or {}), "starting_after": cursor})

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
            f"({call.attempts} attempt(s)). Raise it with deadline=... or check the connection.",
            method=call.request.method,
            url=str(call.request.url.copy_with(query=None)),
        )

    # -- retry decisions ---------------------------------------------------------------------
    def _should_retry_response(self, response: httpx.Response) -> bool:
        status = response.status_code
        if status < 400:
            return False  # a success is never sent again, whatever its headers say
        override = response.headers.get("x-should-retry")
        if override == "true":
            return True
        if override == "false":
            return False
        if status in _RETRYABLE_STATUS or status >= 500:
            return True
        if status == 409:
            return b"idempotency_request_in_progress" in response.content and (
                _error_fields(response).get("code") == "idempotency_request_in_progress"
            )
        return False

    def _should_retry_exception(self, exc: BaseException) -> bool:
        return isinstance(exc, httpx.TransportError)

    def _retry_wanted(self, outcome: httpx.Response | BaseException) -> bool:
        """Whether an attempt's outcome (a response or a transport error) calls for a retry."""
        if isinstance(outcome, BaseException):
            return self._should_retry_exception(outcome)
        return self._should_retry_response(outcome)

    def _retry_delay(self, attempt: int, response: httpx.Response | None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        if response is not None:
            server = _retry_after(response.headers)
            if server is not None and 0 <= server <= MAX_RETRY_AFTER:
                return server
        delay = min(INITIAL_RETRY_DELAY * 2.0 ** (attempt - 1), MAX_RETRY_DELAY)
        return delay * (1 - 0.25 * random.random())

    # tenacity hooks: the client's decisions, in tenacity's shapes
    def _tenacity_retry(self, state: RetryCallState) -> bool:
        outcome = state.outcome
        if outcome is None:
            return False
        if outcome.failed:
            exc = outcome.exception()
            return exc is not None and self._retry_wanted(exc)
        return self._retry_wanted(outcome.result())

    def _tenacity_wait(self, state: RetryCallState) -> float:
        outcome = state.outcome
        response = None if outcome is None or outcome.failed else outcome.result()
        return self._retry_delay(state.attempt_number, response)

    @staticmethod
    def _tenacity_give_up(state: RetryCallState) -> Any:
        assert state.outcome is not None
        return state.outcome.result()  # the last response, or raises the last exception

    def _tenacity_stop(self, call: PreparedCall) -> Any:
        def stop(state: RetryCallState) -> bool:
            if state.attempt_number > call.max_retries:
                return True
            upcoming = getattr(state, "upcoming_sleep", 0.0) or 0.0
            return time.monotonic() + upcoming >= call.deadline_at

        return stop

    # -- responses ---------------------------------------------------------------------------
    def _log_attempt(
        self, call: PreparedCall, response: httpx.Response | None, exc: BaseException | None
    ) -> None:
        if not logger.isEnabledFor(logging.INFO):
            return
        elapsed = (time.monotonic() - call.started) * 1000
        req = call.request
        if response is not None:
            level = logging.DEBUG if response.status_code < 400 else logging.INFO
            logger.log(
                level,
                "%s %s -> %s attempt=%d request_id=%s %.1fms",
                req.method,
                req.url.path,
                response.status_code,
                call.attempts,
                response.headers.get("request-id"),
                elapsed,
            )
        else:
            logger.info(
                "%s %s -> %s attempt=%d %.1fms",
                req.method,
                req.url.path,
                type(exc).__name__,
                call.attempts,
                elapsed,
            )

    def _connection_error(self, call: PreparedCall, exc: BaseException) -> errors.APIConnectionError:
        req = call.request
        url = str(req.url.copy_with(query=None))
        if isinstance(exc, httpx.TimeoutException):
            return errors.APITimeoutError(
                f"No response from {req.method} {req.url.path} in time after {call.attempts} attempt(s) "
                f"({type(exc).__name__}). Raise timeout=... or check that the server is up.",
                method=req.method,
                url=url,
            )
        return errors.APIConnectionError(
            f"Could not reach {req.url.scheme}://{req.url.netloc.decode()} for {req.method} {req.url.path} "
            f"after {call.attempts} attempt(s) ({type(exc).__name__}). Is base_url right and the server up?",
            method=req.method,
            url=url,
        )

    def _response_info(self, call: PreparedCall, response: httpx.Response) -> ResponseInfo:
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
        obj._last_response = self._response_info(call, response)
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


def _check_deadline(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise errors.ConfigurationError("deadline must be a positive number of seconds")
    return float(value)


def _text(value: object) -> str | None:
    """A string field of an error body; anything else (a list, a number) is dropped."""
    return value if isinstance(value, str) and value else None


def _min(a: float | None, b: float) -> float:
    return b if a is None else min(a, b)


__all__ += ["DEFAULT_DEADLINE", "DEFAULT_MAX_RETRIES", "TimeoutTypes", "HttpxClientT"]
