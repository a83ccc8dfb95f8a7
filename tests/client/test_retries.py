"""Which failures are retried, how long the client waits, and the deadline that bounds it all.

The insurer is mocked with respx; the clock is fake (see conftest), so waits are asserted exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx

import yangguang_sdk as yg
from yangguang_sdk._constants import MAX_RETRY_AFTER

from ._support import WALL_START, Api, FakeClock, error_body, http_date, ok, status

PATH = "/v1/test_clock"


def answers(*items: httpx.Response | type[Exception]) -> Callable[[httpx.Request], httpx.Response]:
    """A respx side effect answering ``items`` in turn, the last one for ever after."""
    seen: list[httpx.Request] = []

    def effect(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        item = items[min(len(seen), len(items)) - 1]
        if isinstance(item, type):
            raise item("mocked failure", request=request)  # type: ignore[call-arg]
        return httpx.Response(item.status_code, headers=item.headers, content=item.content)

    return effect


def route(router: respx.MockRouter, *items: httpx.Response | type[Exception]) -> respx.Route:
    return router.get(PATH).mock(side_effect=answers(*items))


async def retrieve(api: Api, client: Any) -> Any:
    return await api.call(client.test_clock.retrieve)


# -- what is retried ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError,
        httpx.ReadError,
        httpx.WriteError,
        httpx.RemoteProtocolError,
        httpx.ConnectTimeout,
        httpx.ReadTimeout,
        httpx.WriteTimeout,
        httpx.PoolTimeout,
    ],
)
async def test_transport_errors_and_timeouts_are_retried(
    api: Api, router: respx.MockRouter, failure: type[Exception]
) -> None:
    r = route(router, failure, failure, ok())
    result = await retrieve(api, api.client())
    assert r.call_count == 3
    assert result.last_response.attempts == 3
    assert result.last_response.status_code == 200


@pytest.mark.parametrize("code", [408, 429, 500, 502, 503, 504])
async def test_retryable_statuses_are_retried(api: Api, router: respx.MockRouter, code: int) -> None:
    r = route(router, status(code), ok())
    result = await retrieve(api, api.client())
    assert r.call_count == 2
    assert result.now.year == 2026


async def test_409_idempotency_request_in_progress_is_retried(api: Api, router: respx.MockRouter) -> None:
    r = route(router, status(409, error_body("idempotency_request_in_progress")), ok())
    await retrieve(api, api.client())
    assert r.call_count == 2


@pytest.mark.parametrize(
    "body",
    [error_body("quote_expired"), error_body("policy_not_cancellable"), {"error": {}}, "not json"],
    ids=["quote_expired", "policy_not_cancellable", "no_code", "not_json"],
)
async def test_409_with_another_code_is_not_retried(api: Api, router: respx.MockRouter, body: Any) -> None:
    response = status(409, body) if not isinstance(body, str) else httpx.Response(409, text=body)
    r = route(router, response, ok())
    with pytest.raises(yg.ConflictError):
        await retrieve(api, api.client())
    assert r.call_count == 1


async def test_409_naming_the_code_only_in_its_message_is_not_retried(
    api: Api, router: respx.MockRouter
) -> None:
    body = error_body("quote_expired", message="not idempotency_request_in_progress")
    r = route(router, status(409, body), ok())
    with pytest.raises(yg.ConflictError):
        await retrieve(api, api.client())
    assert r.call_count == 1


@pytest.mark.parametrize("code", [400, 401, 403, 404, 422])
async def test_client_errors_are_not_retried(api: Api, router: respx.MockRouter, code: int) -> None:
    r = route(router, status(code), ok())
    with pytest.raises(yg.APIStatusError):
        await retrieve(api, api.client())
    assert r.call_count == 1


async def test_gives_up_after_max_retries_with_the_last_error(api: Api, router: respx.MockRouter) -> None:
    r = route(router, status(503))
    with pytest.raises(yg.InternalServerError) as info:
        await retrieve(api, api.client())
    assert r.call_count == 3  # 1 + the default 2 retries
    assert info.value.status_code == 503


async def test_gives_up_on_connection_errors_with_api_connection_error(
    api: Api, router: respx.MockRouter
) -> None:
    r = route(router, httpx.ConnectError)
    with pytest.raises(yg.APIConnectionError) as info:
        await retrieve(api, api.client())
    assert not isinstance(info.value, yg.APITimeoutError)
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    assert r.call_count == 3
    assert "3 attempt(s)" in str(info.value)


async def test_gives_up_on_timeouts_with_api_timeout_error(api: Api, router: respx.MockRouter) -> None:
    r = route(router, httpx.ReadTimeout)
    with pytest.raises(yg.APITimeoutError) as info:
        await retrieve(api, api.client())
    assert isinstance(info.value, yg.APIConnectionError)
    assert r.call_count == 3


async def test_max_retries_zero_means_one_attempt(
    api: Api, router: respx.MockRouter, clock: FakeClock
) -> None:
    r = route(router, status(503), ok())
    with pytest.raises(yg.InternalServerError):
        await retrieve(api, api.client(max_retries=0))
    assert r.call_count == 1
    r2 = router.post("/v1/test_clock/advance").mock(side_effect=answers(httpx.ConnectError, ok()))
    with pytest.raises(yg.APIConnectionError):
        await api.call(api.client(max_retries=0).test_clock.advance, days=1)
    assert r2.call_count == 1
    assert clock.sleeps == []


async def test_max_retries_sets_the_number_of_retries(api: Api, router: respx.MockRouter) -> None:
    r = route(router, status(500))
    with pytest.raises(yg.InternalServerError):
        await retrieve(api, api.client(max_retries=5, deadline=600))
    assert r.call_count == 6


# -- x-should-retry ------------------------------------------------------------------------------


async def test_x_should_retry_true_retries_what_would_not_be(api: Api, router: respx.MockRouter) -> None:
    r = route(router, status(400, headers={"x-should-retry": "true"}), ok())
    await retrieve(api, api.client())
    assert r.call_count == 2


@pytest.mark.parametrize("code", [408, 429, 500, 503])
async def test_x_should_retry_false_stops_what_would_be_retried(
    api: Api, router: respx.MockRouter, code: int
) -> None:
    r = route(router, status(code, headers={"x-should-retry": "false"}), ok())
    with pytest.raises(yg.APIStatusError) as info:
        await retrieve(api, api.client())
    assert info.value.status_code == code
    assert r.call_count == 1


async def test_x_should_retry_false_stops_a_409_in_progress(api: Api, router: respx.MockRouter) -> None:
    body = error_body("idempotency_request_in_progress")
    r = route(router, status(409, body, headers={"x-should-retry": "false"}), ok())
    with pytest.raises(yg.ConflictError):
        await retrieve(api, api.client())
    assert r.call_count == 1


# -- how long it waits ---------------------------------------------------------------------------


async def test_retry_after_ms_is_honoured(api: Api, router: respx.MockRouter, clock: FakeClock) -> None:
    route(router, status(429, headers={"retry-after-ms": "1500"}), ok())
    await retrieve(api, api.client())
    assert clock.sleeps == [1.5]


async def test_retry_after_ms_wins_over_retry_after(
    api: Api, router: respx.MockRouter, clock: FakeClock
) -> None:
    route(router, status(503, headers={"retry-after-ms": "250", "retry-after": "7"}), ok())
    await retrieve(api, api.client())
    assert clock.sleeps == [0.25]


@pytest.mark.parametrize(("header", "wait"), [("3", 3.0), ("0.4", 0.4), ("0", 0.0), ("60", 60.0)])
async def test_retry_after_in_seconds_is_honoured(
    api: Api, router: respx.MockRouter, clock: FakeClock, header: str, wait: float
) -> None:
    route(router, status(429, headers={"retry-after": header}), ok())
    await retrieve(api, api.client(deadline=120))
    assert clock.sleeps == [wait]


async def test_retry_after_as_an_http_date_is_honoured(
    api: Api, router: respx.MockRouter, clock: FakeClock
) -> None:
    route(router, status(503, headers={"retry-after": http_date(WALL_START + 12)}), ok())
    await retrieve(api, api.client())
    assert clock.sleeps == [12.0]


async def test_malformed_retry_after_ms_falls_back_to_retry_after(
    api: Api, router: respx.MockRouter, clock: FakeClock
) -> None:
    route(router, status(503, headers={"retry-after-ms": "soon", "retry-after": "2"}), ok())
    await retrieve(api, api.client())
    assert clock.sleeps == [2.0]


@pytest.mark.parametrize(
    "headers",
    [
        {"retry-after": "61"},
        {"retry-after": "3600"},
        {"retry-after-ms": "60001"},
        {"retry-after": http_date(WALL_START + 3600)},
        {"retry-after": "-5"},
        {"retry-after": http_date(WALL_START - 30)},
        {"retry-after": "soon"},
        {"retry-after": "nan"},
        {"retry-after-ms": "inf"},
    ],
    ids=["61s", "1h", "60001ms", "date_in_1h", "negative", "date_in_past", "garbage", "nan", "inf"],
)
async def test_retry_after_beyond_the_cap_or_unusable_falls_back_to_backoff(
    api: Api, router: respx.MockRouter, clock: FakeClock, no_jitter: None, headers: dict[str, str]
) -> None:
    route(router, status(503, headers=headers), ok())
    await retrieve(api, api.client(deadline=600))
    assert clock.sleeps == [0.5]


def test_the_retry_after_cap_is_sixty_seconds() -> None:
    assert MAX_RETRY_AFTER == 60.0


async def test_backoff_doubles_from_half_a_second_up_to_eight(
    api: Api, router: respx.MockRouter, clock: FakeClock, no_jitter: None
) -> None:
    route(router, status(500))
    with pytest.raises(yg.InternalServerError):
        await retrieve(api, api.client(max_retries=7, deadline=600))
    assert clock.sleeps == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


async def test_backoff_after_a_connection_error(
    api: Api, router: respx.MockRouter, clock: FakeClock, no_jitter: None
) -> None:
    route(router, httpx.ConnectError, httpx.ConnectError, ok())
    await retrieve(api, api.client())
    assert clock.sleeps == [0.5, 1.0]


async def test_backoff_has_up_to_25_percent_jitter(
    api: Api, router: respx.MockRouter, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("yangguang_sdk._base_client.random.random", lambda: 0.999999)
    route(router, status(502))
    with pytest.raises(yg.InternalServerError):
        await retrieve(api, api.client(max_retries=3, deadline=600))
    assert clock.sleeps == pytest.approx([0.375, 0.75, 1.5], rel=1e-5)


@pytest.mark.parametrize("attempt", range(1, 12))
def test_retry_delay_stays_within_jitter_bounds(attempt: int) -> None:
    client = yg.Client(api_key="yg_test_abcd", base_url="http://x.test")
    top = min(0.5 * 2 ** (attempt - 1), 8.0)
    delays = [client._retry_delay(attempt, None) for _ in range(200)]
    assert all(0.75 * top <= d <= top for d in delays)
    assert len(set(delays)) > 1  # jittered, not constant
    client.close()


def test_retry_delay_prefers_the_server_within_the_cap() -> None:
    client = yg.Client(api_key="yg_test_abcd", base_url="http://x.test")
    assert client._retry_delay(5, httpx.Response(429, headers={"retry-after": "30"})) == 30.0
    assert client._retry_delay(1, httpx.Response(429, headers={"retry-after-ms": "10"})) == 0.01
    assert client._retry_delay(1, httpx.Response(429, headers={"retry-after": "60.5"})) <= 0.5
    client.close()


# -- the deadline --------------------------------------------------------------------------------


async def test_deadline_bounds_retries_against_an_always_failing_server(
    api: Api, router: respx.MockRouter, clock: FakeClock
) -> None:
    r = route(router, status(503, headers={"retry-after": "0.4"}))
    start = clock.now
    with pytest.raises(yg.InternalServerError) as info:
        await retrieve(api, api.client(deadline=1, max_retries=10))
    # attempts at 0, 0.4 and 0.8 s; a fourth would start at 1.2 s, past the deadline
    assert r.call_count == 3
    assert clock.sleeps == [0.4, 0.4]
    assert clock.now - start <= 1.0
    assert info.value.status_code == 503


async def test_per_call_deadline_overrides_the_clients(
    api: Api, router: respx.MockRouter, clock: FakeClock
) -> None:
    r = route(router, status(503, headers={"retry-after": "0.4"}))
    with pytest.raises(yg.InternalServerError):
        await api.call(api.client(max_retries=10).test_clock.retrieve, deadline=1)
    assert r.call_count == 3


async def test_no_retry_when_the_wait_would_cross_the_deadline(
    api: Api, router: respx.MockRouter, clock: FakeClock
) -> None:
    r = route(router, status(429, headers={"retry-after": "5"}), ok())
    with pytest.raises(yg.RateLimitError):
        await retrieve(api, api.client(deadline=4))
    assert r.call_count == 1
    assert clock.sleeps == []


async def test_slow_timeouts_end_at_the_deadline_with_api_timeout_error(
    api: Api, clock: FakeClock, no_jitter: None
) -> None:
    timeouts: list[dict[str, float]] = []

    def slow(request: httpx.Request) -> httpx.Response:
        timeouts.append(dict(request.extensions["timeout"]))
        clock.advance(0.6)  # the attempt hangs until its read timeout
        raise httpx.ReadTimeout("mocked", request=request)

    with pytest.raises(yg.APITimeoutError) as info:
        await retrieve(api, api.client(slow, deadline=2, max_retries=10))
    # t=0: attempt 1 (0.6 s), wait 0.5; t=1.1: attempt 2 (0.6 s); next wait 1.0 would end at 2.7
    assert len(timeouts) == 2
    assert clock.sleeps == [0.5]
    # each attempt's timeouts are cut to what is left of the deadline
    assert timeouts[0] == {"connect": 2.0, "read": 2.0, "write": 2.0, "pool": 2.0}
    assert timeouts[1]["read"] == pytest.approx(0.9)
    assert "2 attempt(s)" in str(info.value)


async def test_an_attempt_never_starts_past_the_deadline(
    api: Api, router: respx.MockRouter, clock: FakeClock
) -> None:
    clock.overshoot = 0.3  # the machine is slow: each sleep lasts 0.3 s longer than asked
    r = route(router, status(503, headers={"retry-after": "0.9"}), ok())
    with pytest.raises(yg.APITimeoutError) as info:
        await retrieve(api, api.client(deadline=1))
    assert r.call_count == 1
    assert "1 s deadline" in str(info.value)
    assert "(1 attempt(s))" in str(info.value)


# -- with_options ----------------------------------------------------------------------------------


async def test_with_options_max_retries_changes_only_the_copy(api: Api, router: respx.MockRouter) -> None:
    r = route(router, status(503))
    client = api.client()
    patient = client.with_options(max_retries=4, deadline=600)
    with pytest.raises(yg.InternalServerError):
        await retrieve(api, patient)
    assert r.call_count == 5
    with pytest.raises(yg.InternalServerError):
        await retrieve(api, client)
    assert r.call_count == 5 + 3
    impatient = client.with_options(max_retries=0)
    with pytest.raises(yg.InternalServerError):
        await retrieve(api, impatient)
    assert r.call_count == 5 + 3 + 1


async def test_with_options_shares_the_pool_and_closing_the_copy_keeps_it_open(
    api: Api, router: respx.MockRouter
) -> None:
    route(router, ok())
    client = api.client()
    copy = client.with_options(max_retries=5, timeout=3)
    assert copy._client is client._client
    assert copy is not client and copy.quotes._client is copy
    await api.call(copy.close)
    assert not client._client.is_closed
    await retrieve(api, client)
    await retrieve(api, copy)  # the copy still works: the pool is the original's
    await api.call(client.close)
    assert client._client.is_closed


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_retries": -1},
        {"max_retries": True},
        {"max_retries": "2"},
        {"deadline": 0},
        {"deadline": -1},
        {"deadline": "5"},
        {"timeout": -1},
    ],
)
def test_with_options_refuses_bad_values(kwargs: dict[str, Any]) -> None:
    client = yg.Client(api_key="yg_test_abcd", base_url="http://x.test")
    with pytest.raises(yg.ConfigurationError):
        client.with_options(**kwargs)
    client.close()
