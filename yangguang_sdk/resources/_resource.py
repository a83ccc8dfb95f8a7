"""How resource methods are written once for both clients.

A resource method is a *builder*: a plain function that validates its arguments and returns an
``APIRequest`` describing the call. ``sync_method`` / ``async_method`` turn a builder into a method
of the sync or async resource class, keeping its signature and docstring for editors and mypy.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Concatenate, TypedDict, TypeVar

from pydantic import BaseModel, ValidationError
from typing_extensions import ParamSpec

from .._request import APIRequest, AsyncAPIClient, SyncAPIClient, TimeoutTypes, idempotency_key_problem
from ..errors import ParameterError
from ..pagination import AsyncPaginator, SyncPage
from ..types._base import DATE_RANGE, in_date_range
from ..types._validation import validation_problems
from ..types.metadata import filter_problem, metadata_filter, metadata_query

__all__ = [
    "RequestOptions",
    "SyncAPIResource",
    "AsyncAPIResource",
    "sync_method",
    "async_method",
    "sync_list",
    "async_list",
    "validate_params",
    "path_id",
    "aware",
    "options",
    "page_limit",
    "metadata_params",
]

P = ParamSpec("P")
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


class RequestOptions(TypedDict, total=False):
    """Per-call options every method accepts."""

    idempotency_key: str
    """POST only: the key for this call (e.g. your order id, in any script: ``"订单-1"``), 1-255
    printable characters; by default one is generated per call."""
    timeout: TimeoutTypes
    """Per-attempt timeout in seconds (or an httpx.Timeout) for this call."""
    deadline: float
    """Seconds for the whole call including retries."""
    extra_headers: Mapping[str, str]


def options(opts: RequestOptions) -> dict[str, Any]:
    """The APIRequest fields for the per-call options, checked."""
    unknown = set(opts) - set(RequestOptions.__annotations__)
    if unknown:
        names = sorted(unknown)
        raise ParameterError(f"unknown option(s): {', '.join(names)}", param=names[0])
    out: dict[str, Any] = dict(opts)
    deadline = out.get("deadline")
    if deadline is not None and (
        isinstance(deadline, bool) or not isinstance(deadline, (int, float)) or not deadline > 0
    ):
        raise ParameterError("must be a positive number of seconds", param="deadline")
    key = out.get("idempotency_key")
    problem = None if key is None else idempotency_key_problem(key)
    if problem:
        raise ParameterError(problem, param="idempotency_key")
    return out


class SyncAPIResource:
    """A resource of the sync client: its methods hand their requests to ``client.execute``."""

    def __init__(self, client: SyncAPIClient) -> None:
        self._client = client


class AsyncAPIResource:
    """A resource of the async client: its methods hand their requests to ``client.execute``."""

    def __init__(self, client: AsyncAPIClient) -> None:
        self._client = client


def sync_method(build: Callable[P, APIRequest[T]]) -> Callable[Concatenate[SyncAPIResource, P], T]:
    @functools.wraps(build)
    def method(self: SyncAPIResource, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self._client.execute(build(*args, **kwargs))

    return method


def async_method(
    build: Callable[P, APIRequest[T]],
) -> Callable[Concatenate[AsyncAPIResource, P], Coroutine[Any, Any, T]]:
    @functools.wraps(build)
    async def method(self: AsyncAPIResource, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._client.execute(build(*args, **kwargs))

    return method


def sync_list(build: Callable[P, APIRequest[T]]) -> Callable[Concatenate[SyncAPIResource, P], SyncPage[T]]:
    @functools.wraps(build)
    def method(self: SyncAPIResource, /, *args: P.args, **kwargs: P.kwargs) -> SyncPage[T]:
        return self._client.execute_page(build(*args, **kwargs))

    return method


def async_list(
    build: Callable[P, APIRequest[T]],
) -> Callable[Concatenate[AsyncAPIResource, P], AsyncPaginator[T]]:
    @functools.wraps(build)
    def method(self: AsyncAPIResource, /, *args: P.args, **kwargs: P.kwargs) -> AsyncPaginator[T]:
        req = build(*args, **kwargs)
        return AsyncPaginator(lambda cursor: self._client.execute_page(req, cursor))

    return method


# -- argument checks shared by the builders ------------------------------------------------------


def validate_params(model: type[M], data: Mapping[str, Any]) -> M:
    """``model`` validated from ``data``; a failure becomes a ParameterError naming the field, with
    every problem found in its ``errors``.

    The message never repeats the input value (ID numbers and phones must not leak).
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = validation_problems(exc)
        first = problems[0]
        raise ParameterError(
            first.message, param=first.param, errors=[p.as_dict() for p in problems]
        ) from None


def path_id(value: object, param: str, prefix: str) -> str:
    """An object id checked before it goes into a URL path."""
    if not isinstance(value, str) or not value:
        raise ParameterError("must be a non-empty string id", param=param)
    if not value.startswith(prefix) or not value.replace("_", "").isalnum() or len(value) > 64:
        raise ParameterError(f"must be an id starting with {prefix!r}", param=param)
    return value


def aware(value: dt.datetime | None, param: str) -> str | None:
    """An aware datetime as ISO 8601 UTC for a query string; naive datetimes, and times outside
    the API's range (2000-01-01 to 2199-12-31), are refused."""
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        raise ParameterError("must be a datetime", param=param)
    if value.tzinfo is None or value.utcoffset() is None:
        raise ParameterError("must be timezone-aware (e.g. datetime.now(timezone.utc))", param=param)
    if not in_date_range(value):
        raise ParameterError(f"must be a time {DATE_RANGE} (UTC)", param=param)
    return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def page_limit(limit: int | None) -> int | None:
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100:
        raise ParameterError("must be an int from 1 to 100", param="limit")
    return limit


def metadata_params(metadata: Mapping[str, str] | None) -> dict[str, str]:
    """A list's ``metadata={KEY: VALUE}`` filter as query parameters ``metadata[KEY]=VALUE``,
    checked by the metadata rules first (a ``ParameterError`` naming the key)."""
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise ParameterError("must be a dict of metadata keys to values", param="metadata")
    try:
        return metadata_query(metadata_filter(metadata))
    except ValidationError as exc:
        param, message = filter_problem(exc)
        raise ParameterError(message, param=param) from None
