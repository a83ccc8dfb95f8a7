"""Request bodies over the API's limit (1 MiB; 16 MiB on ``POST /v1/quote_batches``) are answered
413 ``request_too_large`` in the usual error shape, whether the client announces the size
(Content-Length, refused before the body is read) or streams it (chunked, refused once the count
passes the limit). The sandbox never holds more than the limit, so a huge body cannot make a served
sandbox's memory balloon. The SDK raises ``RequestTooLargeError`` for the answer.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator, MutableMapping
from pathlib import Path
from typing import Any

import httpx
import pytest

import yangguang_sdk as yg
from yangguang_sdk.sandbox import Sandbox
from yangguang_sdk.sandbox.app import BODY_LIMITS, MAX_BODY_BYTES, SANDBOX_BASE_URL, create_app
from yangguang_sdk.sandbox.engine import Engine

from ..servers import free_port, start_server, stop_server
from .conftest import API_KEY, START, borrower, loan

MiB = 1024 * 1024
AUTH = {"authorization": f"Bearer {API_KEY}", "content-type": "application/json"}


def _padded_quote(size: int) -> bytes:
    """A quote body of about ``size`` bytes (the padding is JSON whitespace, so only the size is
    wrong with it)."""
    terms = {**loan(), "principal": {"amount": 1299900, "currency": "CNY"}}
    quote = {
        "product": "consumer_installment",
        "merchant_order_id": "ORD-BIG",
        "borrower": borrower(),
        "loan": terms,
    }
    body = json.dumps(quote).encode()
    return body[:-1] + b" " * max(0, size - len(body)) + b"}"


def _assert_too_large(response: httpx.Response, limit: str) -> None:
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "request_too_large"
    assert limit in error["message"]
    assert error["request_id"].startswith("req_") and response.headers["request-id"] == error["request_id"]


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(now=START, api_key=API_KEY) as sb:
        yield sb


def test_a_body_over_1_mib_with_content_length_is_answered_413(sandbox: Sandbox) -> None:
    with httpx.Client(transport=sandbox.transport(), base_url=SANDBOX_BASE_URL) as http:
        response = http.post("/v1/quotes", content=_padded_quote(2 * MiB), headers=AUTH)
    _assert_too_large(response, "1 MiB")
    with sandbox.client() as client:
        assert list(client.events.list(limit=100)) == []  # nothing was created


def test_a_body_just_under_the_limit_is_read_as_usual(sandbox: Sandbox) -> None:
    with httpx.Client(transport=sandbox.transport(), base_url=SANDBOX_BASE_URL) as http:
        response = http.post("/v1/quotes", content=_padded_quote(MAX_BODY_BYTES), headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.json()["decision"] == "approved"


async def _chunks(total: int, chunk: int = 64 * 1024) -> AsyncIterator[bytes]:
    body = _padded_quote(total)
    for start in range(0, len(body), chunk):
        yield body[start : start + chunk]


async def test_a_chunked_body_over_the_limit_is_answered_413(sandbox: Sandbox) -> None:
    transport = httpx.ASGITransport(app=sandbox.app)
    async with httpx.AsyncClient(transport=transport, base_url=SANDBOX_BASE_URL) as http:
        request = http.build_request("POST", "/v1/quotes", content=_chunks(2 * MiB), headers=AUTH)
        assert "content-length" not in request.headers
        response = await http.send(request)
    _assert_too_large(response, "1 MiB")


async def test_a_chunked_body_within_the_limit_reaches_the_route_whole(sandbox: Sandbox) -> None:
    transport = httpx.ASGITransport(app=sandbox.app)
    async with httpx.AsyncClient(transport=transport, base_url=SANDBOX_BASE_URL) as http:
        request = http.build_request("POST", "/v1/quotes", content=_chunks(200_000), headers=AUTH)
        response = await http.send(request)
    assert response.status_code == 200, response.text


def test_the_sdk_raises_request_too_large_error(sandbox: Sandbox) -> None:
    with sandbox.client(max_retries=2) as client, pytest.raises(yg.RequestTooLargeError) as info:
        # 30,000 event types of 40 characters: a body of about 1.3 MiB
        client.webhook_endpoints.create(url="http://127.0.0.1:9/hook", events=["x" * 40] * 30_000)
    err = info.value
    assert (err.status_code, err.code) == (413, "request_too_large")
    assert "1 MiB" in str(err) and "split" in str(err)


async def test_the_limit_is_counted_on_the_stream_and_nothing_past_it_is_read() -> None:
    """A 32 MiB chunked body: the app reads the limit and one chunk more, then answers."""
    engine = Engine(now=START)
    app = create_app(engine)
    pulled = 0
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        await asyncio.sleep(0)
        pulled += 64 * 1024
        return {"type": "http.request", "body": b" " * (64 * 1024), "more_body": pulled < 32 * MiB}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/quotes",
        "raw_path": b"/v1/quotes",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"sandbox"), (b"authorization", f"Bearer {API_KEY}".encode())],
        "client": ("127.0.0.1", 1),
        "server": ("sandbox", 80),
    }
    await asyncio.wait_for(app(scope, receive, send), timeout=10)
    engine.close()
    assert sent[0]["status"] == 413
    assert pulled <= MAX_BODY_BYTES + 64 * 1024


def test_the_limit_is_a_table_by_route() -> None:
    assert MAX_BODY_BYTES == MiB
    assert BODY_LIMITS[("POST", "/v1/quote_batches")] == 16 * MiB


async def test_quote_batches_take_up_to_16_mib(sandbox: Sandbox) -> None:
    """The batch route has its own limit: 2 MiB passes the size check (and then meets whatever
    the route answers), 17 MiB does not."""
    transport = httpx.ASGITransport(app=sandbox.app)
    async with httpx.AsyncClient(transport=transport, base_url=SANDBOX_BASE_URL) as http:
        within = await http.post("/v1/quote_batches", content=b" " * (2 * MiB), headers=AUTH)
        over = await http.post("/v1/quote_batches", content=b" " * (17 * MiB), headers=AUTH)
    assert within.status_code != 413
    _assert_too_large(over, "16 MiB")


# -- over real HTTP ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[int, int]]:
    """(port, pid) of a sandbox served by uvicorn in a process of its own."""
    port = free_port()
    proc = start_server(["-m", "yangguang_sdk.sandbox", "--port", str(port)], port)
    try:
        yield port, proc.pid
    finally:
        stop_server(proc)


def _rss(pid: int) -> int:
    """The resident memory of process ``pid``, in bytes (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Read one HTTP/1.1 response (with Content-Length) from ``sock``."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed before a response: {data!r}")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    while len(rest) < int(headers["content-length"]):
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return int(lines[0].split()[1]), headers, rest


def _request_head(port: int, framing: str) -> bytes:
    return (
        f"POST /v1/quotes HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nauthorization: Bearer {API_KEY}\r\n"
        f"content-type: application/json\r\n{framing}\r\n\r\n"
    ).encode()


def test_served_a_declared_2_mib_body_is_refused_before_it_is_sent(served: tuple[int, int]) -> None:
    port, _ = served
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(_request_head(port, f"content-length: {2 * MiB}"))  # and not a byte of the body
        status, headers, body = _read_response(sock)
    assert status == 413
    assert json.loads(body)["error"]["code"] == "request_too_large"
    assert headers["connection"] == "close"


def test_served_an_endless_chunked_body_is_refused_and_memory_stays_flat(served: tuple[int, int]) -> None:
    port, pid = served
    before = _rss(pid)
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(_request_head(port, "transfer-encoding: chunked"))
    chunk = b" " * (256 * 1024)
    framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    stop = threading.Event()
    written = 0

    def pour() -> None:  # up to 256 MiB, until the server stops reading
        nonlocal written
        try:
            while not stop.is_set() and written < 256 * MiB:
                sock.sendall(framed)
                written += len(chunk)
        except OSError:
            pass

    writer = threading.Thread(target=pour, daemon=True)
    writer.start()
    try:
        status, _, body = _read_response(sock)
    finally:
        stop.set()
        time.sleep(0.2)
        sock.close()
        writer.join(timeout=10)
    assert status == 413
    assert json.loads(body)["error"]["code"] == "request_too_large"
    assert written < 64 * MiB  # the server stopped reading long before the 256 MiB were sent
    assert _rss(pid) - before < 32 * MiB
    # and the server still answers
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=AUTH) as http:
        assert http.get("/v1/test_clock").status_code == 200
