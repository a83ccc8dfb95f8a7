"""Each HTTP status becomes its own error class, carrying what the insurer said about it."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

import yangguang_sdk as yg
from yangguang_sdk import errors

from ._support import API_KEY, Api, FakeClock, Server, error_body, status

API_KEY_TAIL = API_KEY.removeprefix("yg_test_")


@pytest.mark.parametrize(
    ("code", "error_code", "cls"),
    [
        (400, "malformed_json", yg.BadRequestError),
        (401, "invalid_api_key", yg.AuthenticationError),
        (403, "forbidden", yg.PermissionDeniedError),
        (404, "resource_missing", yg.NotFoundError),
        (409, "quote_expired", yg.ConflictError),
        (413, "request_too_large", yg.RequestTooLargeError),
        (422, "invalid_value", yg.InvalidRequestError),
        (422, "idempotency_key_reused", yg.IdempotencyError),
        (429, "rate_limited", yg.RateLimitError),
        (500, "internal_error", yg.InternalServerError),
        (502, "bad_gateway", yg.InternalServerError),
        (503, "unavailable", yg.InternalServerError),
        (504, "gateway_timeout", yg.InternalServerError),
    ],
)
async def test_each_status_maps_to_its_error_class(
    api: Api, code: int, error_code: str, cls: type[yg.APIStatusError]
) -> None:
    body = error_body(error_code, "The loan.term_months is out of range.", param="loan.term_months")
    server = Server(status(code, body))
    client = api.client(server, max_retries=0)
    with pytest.raises(yg.APIStatusError) as info:
        await api.call(client.quotes.retrieve, "quo_1")
    err = info.value
    assert type(err) is cls
    assert (err.status_code, err.code, err.param) == (code, error_code, "loan.term_months")
    assert err.request_id == "req_body123"
    assert err.message == "The loan.term_months is out of range."
    assert err.body == body
    assert err.method == "GET" and err.url == "http://insurer.test/v1/quotes/quo_1"
    assert "req_body123" in str(err)
    assert "req_body123" in repr(err) and cls.__name__ in repr(err)


async def test_request_id_falls_back_to_the_header(api: Api) -> None:
    server = Server(
        httpx.Response(404, json={"error": {"code": "resource_missing"}}, headers={"request-id": "req_hdr"})
    )
    client = api.client(server)
    with pytest.raises(yg.NotFoundError) as info:
        await api.call(client.policies.retrieve, "pol_404")
    assert info.value.request_id == "req_hdr"
    assert "req_hdr" in str(info.value)


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (404, yg.NotFoundError),
        (401, yg.AuthenticationError),
        (502, yg.InternalServerError),
        (418, yg.APIStatusError),
    ],
)
async def test_a_non_json_error_body_still_gives_a_typed_error(
    api: Api, code: int, cls: type[yg.APIStatusError]
) -> None:
    html = "<html><body><h1>Bad Gateway</h1></body></html>"
    server = Server(
        httpx.Response(code, text=html, headers={"request-id": "req_html", "content-type": "text/html"})
    )
    client = api.client(server, max_retries=0)
    with pytest.raises(cls) as info:
        await api.call(client.quotes.retrieve, "quo_1")
    err = info.value
    assert err.status_code == code and err.code is None and err.param is None
    assert err.body == html
    assert err.request_id == "req_html"
    assert f"HTTP {code}" in str(err) and "/v1/quotes/quo_1" in str(err)


@pytest.mark.parametrize(
    "body",
    [
        [1, 2, 3],
        {"error": "a plain string"},
        {"error": None},
        {"message": "no error object"},
        {"error": {"code": ["not", "a", "string"], "message": {"nested": True}, "param": 7, "request_id": 5}},
    ],
    ids=["list", "string_error", "null_error", "no_error_key", "wrong_types"],
)
async def test_an_odd_json_error_body_still_gives_a_typed_error(api: Api, body: Any) -> None:
    server = Server(httpx.Response(409, json=body, headers={"request-id": "req_odd"}))
    client = api.client(server)
    with pytest.raises(yg.ConflictError) as info:
        await api.call(client.quotes.retrieve, "quo_1")
    err = info.value
    assert err.code is None and err.param is None
    assert err.request_id == "req_odd"
    assert "HTTP 409" in str(err) and "req_odd" in repr(err)


async def test_hints_help_with_known_codes(api: Api) -> None:
    server = Server(status(409, error_body("quote_expired", "Quote quo_1 expired.")))
    client = api.client(server)
    with pytest.raises(yg.ConflictError) as info:
        await api.call(client.policies.bind, quote_id="quo_1")
    assert "create a new quote" in str(info.value)
    assert str(info.value).startswith("[409 quote_expired] Quote quo_1 expired.")


async def test_408_after_retries_is_a_plain_status_error(api: Api) -> None:
    server = Server(status(408))
    client = api.client(server)
    with pytest.raises(yg.APIStatusError) as info:
        await api.call(client.quotes.retrieve, "quo_1")
    assert type(info.value) is yg.APIStatusError
    assert server.count == 3


async def test_connection_errors_and_timeouts(api: Api) -> None:
    refused = Server(lambda r: httpx.ConnectError("[Errno 111] Connection refused", request=r))
    with pytest.raises(yg.APIConnectionError) as info:
        await api.call(api.client(refused, max_retries=0).quotes.retrieve, "quo_1")
    assert type(info.value) is yg.APIConnectionError
    assert "insurer.test" in str(info.value) and "ConnectError" in str(info.value)
    assert info.value.method == "GET"

    slow = Server(lambda r: httpx.ReadTimeout("timed out", request=r))
    with pytest.raises(yg.APITimeoutError) as tinfo:
        await api.call(api.client(slow, max_retries=0).quotes.retrieve, "quo_1")
    assert isinstance(tinfo.value, yg.APIConnectionError)
    assert "timeout=" in str(tinfo.value)


async def test_a_connection_error_message_never_shows_the_query(api: Api) -> None:
    server = Server(lambda r: httpx.ConnectError("refused", request=r))
    client = api.client(server, max_retries=0)
    with pytest.raises(yg.APIConnectionError) as info:
        await api.call(client.policies.list, merchant_order_id="ORD-SECRET-1")
    assert "ORD-SECRET-1" not in str(info.value)
    assert info.value.url == "http://insurer.test/v1/policies"


def test_every_error_is_a_yangguang_error() -> None:
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), errors.YangguangError)
    assert issubclass(errors.ParameterError, ValueError)
    assert issubclass(errors.WebhookVerificationError, ValueError)


def test_the_tree_drawn_in_the_errors_docstring_is_the_class_tree() -> None:
    """The drawing in errors.py (copied into docs/client.md) is the truth, class by class."""
    lines = [line for line in (errors.__doc__ or "").splitlines() if re.search(r"\w+Error\b", line)]
    stack: list[tuple[int, str]] = []
    drawn = set()
    for line in lines:
        match = re.match(r"^(.*?)(\w+Error)\b", line)
        assert match
        depth, name = len(match.group(1)), match.group(2)
        while stack and stack[-1][0] >= depth:
            stack.pop()
        cls = getattr(errors, name)
        if stack:
            assert cls.__bases__[0] is getattr(errors, stack[-1][1]), name
        stack.append((depth, name))
        drawn.add(name)
    assert drawn == set(errors.__all__)


@pytest.mark.parametrize(
    ("code", "error_code", "cls"),
    [
        (422, "idempotency_key_reused", errors.IdempotencyError),
        (422, None, errors.InvalidRequestError),
        (409, "idempotency_request_in_progress", errors.ConflictError),
        (599, None, errors.InternalServerError),
        (418, None, errors.APIStatusError),
        (405, None, errors.APIStatusError),
    ],
)
def test_status_error_class(code: int, error_code: str | None, cls: type[errors.APIStatusError]) -> None:
    assert errors.status_error_class(code, error_code) is cls


def test_a_2xx_body_that_is_not_the_promised_object_raises_a_typed_error() -> None:
    import httpx

    import yangguang_sdk as yg

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"hello": "proxy page"}, headers={"request-id": "req_x"})

    client = yg.Client(api_key="yg_test_abcd", base_url="http://x", transport=httpx.MockTransport(handler))
    try:
        client.quotes.retrieve("quo_1")
    except yg.APIResponseValidationError as exc:
        assert exc.status_code == 200 and exc.request_id == "req_x" and "could not be read" in str(exc)
    else:
        raise AssertionError("no error")
    try:
        list(client.policies.list())
    except yg.APIResponseValidationError:
        pass
    else:
        raise AssertionError("no error for a list either")


# -- errors that point the right way (issue 10) --------------------------------------------------


async def test_an_unknown_route_says_so_and_shows_the_base_url_form(api: Api) -> None:
    body = error_body("unknown_route", "No route GET /api/v1/quotes/quo_1.")
    client = api.client(Server(status(404, body)))
    with pytest.raises(yg.NotFoundError) as info:
        await api.call(client.quotes.retrieve, "quo_1")
    text = str(info.value)
    assert "http://127.0.0.1:8765" in text and "without /v1" in text and "base_url" in text
    assert "visible only to the API key" not in text


async def test_a_404_that_is_not_the_insurers_error_points_at_base_url(api: Api) -> None:
    other = httpx.Response(404, text="<html><body>Not Found</body></html>")
    client = api.client(Server(other))
    with pytest.raises(yg.NotFoundError) as info:
        await api.call(client.quotes.retrieve, "quo_1")
    text = str(info.value)
    assert "base_url" in text and "without /v1" in text
    assert "visible only to the API key" not in text


async def test_a_404_of_a_missing_object_keeps_its_tenant_hint(api: Api) -> None:
    client = api.client(Server(status(404, error_body("resource_missing", "No such quote: quo_1."))))
    with pytest.raises(yg.NotFoundError) as info:
        await api.call(client.quotes.retrieve, "quo_1")
    assert "visible only to the API key" in str(info.value)


@pytest.mark.parametrize(
    "lost",
    [
        lambda r: httpx.RemoteProtocolError("Server disconnected without sending a response.", request=r),
        lambda r: httpx.ReadError("[Errno 104] Connection reset by peer", request=r),
        lambda r: httpx.WriteError("[Errno 32] Broken pipe", request=r),
    ],
)
async def test_a_connection_lost_after_sending_says_the_outcome_is_unknown(api: Api, lost: Any) -> None:
    server = Server(lost)
    client = api.client(server, max_retries=0)
    with pytest.raises(yg.APIConnectionError) as info:
        await api.call(client.policies.bind, quote_id="quo_1", idempotency_key="ORD-1001-bind")
    text = str(info.value)
    assert type(info.value) is yg.APIConnectionError
    assert not text.startswith("Could not reach")
    assert "outcome is unknown" in text and "may have reached" in text
    assert "idempotency_key='ORD-1001-bind'" in text
    assert API_KEY_TAIL not in text


async def test_the_generated_key_is_shown_so_the_call_can_be_repeated(api: Api) -> None:
    server = Server(lambda r: httpx.RemoteProtocolError("Server disconnected", request=r))
    client = api.client(server, max_retries=1)
    with pytest.raises(yg.APIConnectionError) as info:
        await api.call(client.policies.bind, quote_id="quo_1")
    key = server.requests[0].headers["idempotency-key"]
    assert key.startswith("yg-") and f"idempotency_key={key!r}" in str(info.value)


async def test_a_key_holding_a_phone_number_is_masked_in_the_message(api: Api) -> None:
    server = Server(lambda r: httpx.ReadError("reset", request=r))
    client = api.client(server, max_retries=0)
    with pytest.raises(yg.APIConnectionError) as info:
        await api.call(client.policies.bind, quote_id="quo_1", idempotency_key="13800138000-绑定")
    assert "13800138000" not in str(info.value) and "138****8000-绑定" in str(info.value)


async def test_a_read_timeout_after_sending_says_the_outcome_is_unknown(api: Api) -> None:
    server = Server(lambda r: httpx.ReadTimeout("timed out", request=r))
    client = api.client(server, max_retries=0)
    with pytest.raises(yg.APITimeoutError) as info:
        await api.call(client.policies.bind, quote_id="quo_1", idempotency_key="ORD-1")
    text = str(info.value)
    assert "outcome is unknown" in text and "idempotency_key='ORD-1'" in text and "timeout=" in text


async def test_a_lost_get_says_the_outcome_is_unknown_but_repeating_it_is_safe(api: Api) -> None:
    server = Server(lambda r: httpx.ReadError("reset", request=r))
    client = api.client(server, max_retries=0)
    with pytest.raises(yg.APIConnectionError) as info:
        await api.call(client.quotes.retrieve, "quo_1")
    text = str(info.value)
    assert "may have reached" in text and "idempotency_key" not in text


async def test_an_earlier_attempt_that_may_have_arrived_is_not_forgotten(api: Api) -> None:
    server = Server(
        lambda r: httpx.ReadError("reset", request=r),
        lambda r: httpx.ConnectError("[Errno 111] Connection refused", request=r),
    )
    client = api.client(server, max_retries=1)
    with pytest.raises(yg.APIConnectionError) as info:
        await api.call(client.policies.bind, quote_id="quo_1", idempotency_key="ORD-1")
    text = str(info.value)
    assert "ConnectError" in text and "outcome is unknown" in text and "idempotency_key='ORD-1'" in text
    # The headline is the unknown outcome, not "could not reach" (which means nothing was sent).
    assert text.startswith("The outcome of POST /v1/policies is unknown.")


@pytest.mark.parametrize(
    "failure",
    [
        lambda r: httpx.ConnectError("[Errno 111] Connection refused", request=r),
        lambda r: httpx.ConnectTimeout("timed out", request=r),
        lambda r: httpx.PoolTimeout("no connection", request=r),
    ],
)
async def test_a_request_that_never_left_says_it_was_not_sent(api: Api, failure: Any) -> None:
    client = api.client(Server(failure), max_retries=0)
    with pytest.raises(yg.APIConnectionError) as info:
        await api.call(client.policies.bind, quote_id="quo_1", idempotency_key="ORD-1")
    assert "outcome is unknown" not in str(info.value)


def test_a_server_that_closes_the_connection_mid_bind_gives_an_unknown_outcome() -> None:
    """A real socket: the server reads the whole request, then dies without answering."""
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            data = b""
            while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with yg.Client(api_key=API_KEY, base_url=f"http://127.0.0.1:{port}", max_retries=0) as client:
            with pytest.raises(yg.APIConnectionError) as info:
                client.policies.bind(  # the server hangs up before judging the body: no consent needed
                    quote_id="quo_1",
                    idempotency_key="订单-1-bind",
                )
    finally:
        thread.join(5)
        listener.close()
    text = str(info.value)
    assert "outcome is unknown" in text and "idempotency_key='订单-1-bind'" in text
    assert not text.startswith("Could not reach")


async def test_a_timeout_cut_short_by_the_deadline_says_to_raise_the_deadline(
    api: Api, clock: FakeClock
) -> None:
    # A per-attempt timeout well inside the deadline: the timeout is what to raise.
    server = Server(lambda r: httpx.ReadTimeout("slow", request=r))
    client = api.client(server, max_retries=0, deadline=60, timeout=5)
    with pytest.raises(yg.APITimeoutError) as info:
        await api.call(client.quotes.retrieve, "quo_1")
    assert "Raise timeout=" in str(info.value) and "deadline" not in str(info.value)

    # The deadline ran out while waiting: a longer timeout would not help, a longer deadline would.
    def slow(request: httpx.Request) -> httpx.Response:
        clock.advance(20)
        raise httpx.ReadTimeout("slow", request=request)

    client = api.client(Server(slow), max_retries=0, deadline=20, timeout=30)
    with pytest.raises(yg.APITimeoutError) as info:
        await api.call(client.quotes.retrieve, "quo_1")
    assert "deadline of 20 s ran out: raise deadline=" in str(info.value)


def test_a_closed_client_says_it_was_closed() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json={"now": "2026-11-25T02:00:00Z"}))
    with yg.Client(api_key=API_KEY, base_url="http://x.test", transport=transport) as client:
        client.test_clock.retrieve()
    with pytest.raises(yg.ConfigurationError, match="client was closed"):
        client.test_clock.retrieve()


async def test_a_closed_async_client_says_it_was_closed() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json={"now": "2026-11-25T02:00:00Z"}))
    async with yg.AsyncClient(api_key=API_KEY, base_url="http://x.test", transport=transport) as client:
        await client.test_clock.retrieve()
    with pytest.raises(yg.ConfigurationError, match="client was closed"):
        await client.test_clock.retrieve()
