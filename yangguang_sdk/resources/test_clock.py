"""``client.test_clock``: the sandbox's clock (sandbox keys only)."""

from __future__ import annotations

from typing_extensions import Unpack

from .._request import APIRequest
from ..errors import ParameterError
from ..types.claim import TestClock as TestClockObject
from ._resource import AsyncAPIResource, RequestOptions, SyncAPIResource, async_method, options, sync_method

__all__ = ["TestClock", "AsyncTestClock"]


def retrieve(**opts: Unpack[RequestOptions]) -> APIRequest[TestClockObject]:
    """The sandbox's current time (aware UTC)."""
    return APIRequest("GET", "/v1/test_clock", TestClockObject, **options(opts))


def advance(
    *, days: int = 0, hours: int = 0, minutes: int = 0, **opts: Unpack[RequestOptions]
) -> APIRequest[TestClockObject]:
    """Move the sandbox's clock forward; every due transition runs, in time order."""
    parts = {"days": days, "hours": hours, "minutes": minutes}
    for name, value in parts.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ParameterError("must be an int >= 0", param=name)
    if not any(parts.values()):
        raise ParameterError("give days=, hours= or minutes= greater than zero", param="days")
    return APIRequest("POST", "/v1/test_clock/advance", TestClockObject, body=parts, **options(opts))


class TestClock(SyncAPIResource):
    __test__ = False
    retrieve = sync_method(retrieve)
    advance = sync_method(advance)


class AsyncTestClock(AsyncAPIResource):
    retrieve = async_method(retrieve)
    advance = async_method(advance)
