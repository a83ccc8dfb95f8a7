"""Bulk and concurrency (DESIGN §7.8): ``quotes.create_batch`` / ``POST /v1/quote_batches``, and an
``AsyncClient`` whose own bound on requests in flight keeps 2,000 concurrent calls from collapsing
the connection pool."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import START, borrower, loan
from yangguang_sdk import AsyncClient, Client, ParameterError
from yangguang_sdk.sandbox import Sandbox
from yangguang_sdk.types import Quote, QuoteBatch, QuoteBatchError


def item(i: int, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "product": "consumer_installment",
        "merchant_order_id": f"B-{i}",
        "borrower": borrower(),
        "loan": loan(),
    }
    body.update(changes)
    return body


def test_a_batch_answers_each_item_in_order_with_a_quote_or_the_error_create_would_give(
    client: Client,
) -> None:
    items = [
        item(0),
        item(1, loan=loan(first_due="2026-11-01")),  # refused by the insurer (the past)
        item(2, borrower=borrower(score=None)),  # referred
        item(3, loan={**loan(), "principal": {"amount": -1, "currency": "CNY"}}),  # refused by the SDK
        item(4, borrower=borrower(score=400)),  # declined
    ]
    result = client.quotes.create_batch(items)
    assert isinstance(result, QuoteBatch) and len(result.data) == 5
    kinds = [r.decision if isinstance(r, Quote) else r.code for r in result.data]
    assert kinds == ["approved", "invalid_first_due_date", "referred", "invalid_parameter", "declined"]
    assert [r.merchant_order_id for r in result.quotes] == ["B-0", "B-2", "B-4"]
    assert [(e.index, e.param) for e in result.errors] == [(1, "loan.first_due_date"), (3, "loan.principal")]
    # the same code, param and message as quotes.create gives for the item
    for error in result.errors:
        with pytest.raises((ParameterError, Exception)) as raised:
            client.quotes.create(**items[error.index])
        exc: Any = raised.value
        assert (exc.code, exc.param) == (error.code, error.param)
        assert error.message in str(exc)
    assert result.last_response is not None and result.last_response.status_code == 200
    # the quotes were stored like any other
    assert client.quotes.retrieve(result.quotes[0].id).decision == "approved"


def test_the_sandbox_answers_per_item_errors_for_items_the_sdk_never_sent(sandbox: Sandbox) -> None:
    # Raw HTTP, so the invalid items reach the sandbox: each is an error at its index, the rest quoted.
    http = httpx.Client(transport=sandbox.transport(), base_url="http://sandbox")

    def raw(i: int, amount: int = 1299900) -> dict[str, Any]:
        principal = {"amount": amount, "currency": "CNY"}
        return {
            **item(i),
            "loan": {**item(i)["loan"], "principal": principal, "first_due_date": "2026-12-25"},
        }

    body = {"items": [raw(0), {"product": "consumer_installment"}, "not an object", raw(3, amount=0)]}
    response = http.post("/v1/quote_batches", json=body, headers={"Authorization": "Bearer yg_test_raw1"})
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data[0]["object"] == "quote" and data[0]["decision"] == "approved"
    assert [d["object"] for d in data[1:]] == ["error"] * 3
    assert [d["index"] for d in data[1:]] == [1, 2, 3]
    assert data[1]["code"] == "invalid_parameter" and data[1]["param"] == "merchant_order_id"
    assert data[2]["param"] is None and "object" in data[2]["message"]
    assert data[3]["param"] == "loan.principal" and data[3]["type"] == "invalid_request_error"
    # an empty batch, or more than 1,000 items, is refused as a whole
    for items in ([], [raw(0)] * 1001):
        bad = http.post(
            "/v1/quote_batches", json={"items": items}, headers={"Authorization": "Bearer yg_test_raw1"}
        )
        assert bad.status_code == 422 and bad.json()["error"]["param"] == "items"


@pytest.mark.parametrize("count", [0, 1001])
def test_an_empty_or_too_long_batch_is_refused_before_any_request(client: Client, count: int) -> None:
    sent: list[httpx.Request] = []
    mock = Client(
        api_key="yg_test_none",
        base_url="http://x.invalid",
        transport=httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(500)),  # type: ignore[func-returns-value]
    )
    with pytest.raises(ParameterError) as raised:
        mock.quotes.create_batch([item(i) for i in range(count)])
    assert raised.value.param == "items" and "1 to 1,000" in str(raised.value)
    with pytest.raises(ParameterError):
        mock.quotes.create_batch(item(0))  # type: ignore[arg-type]  # one body, not a list
    assert sent == []


def test_a_batch_of_only_invalid_items_sends_nothing_and_returns_their_errors() -> None:
    sent: list[httpx.Request] = []
    mock = Client(
        api_key="yg_test_none",
        base_url="http://x.invalid",
        transport=httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(500)),  # type: ignore[func-returns-value]
    )
    result = mock.quotes.create_batch([item(0, product="nope"), item(1, borrower={"type": "individual"})])
    assert sent == [] and [e.index for e in result.errors] == [0, 1] and result.quotes == []
    assert result.errors[0].param == "product"
    assert "11010519491231002X" not in result.model_dump_json()


def test_a_batch_is_idempotent_as_a_whole(client: Client) -> None:
    items = [item(i) for i in range(3)]
    first = client.quotes.create_batch(items, idempotency_key="portfolio-1")
    again = client.quotes.create_batch(items, idempotency_key="portfolio-1")
    assert [q.id for q in again.quotes] == [q.id for q in first.quotes]
    assert (
        again.last_response is not None and again.last_response.headers.get("idempotent-replayed") == "true"
    )
    assert len(client.quotes.list(limit=100).data) == 3


class _Recording(httpx.BaseTransport):
    """A transport that keeps the bytes of every answer."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.bodies: list[bytes] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        self.bodies.append(response.read())
        return response


def test_a_replayed_batch_answers_its_first_answer_byte_for_byte(tmp_path: Path) -> None:
    """A batch's answer is stored as its JSON text (encoded once, for the answer and the store):
    its replay, from the sandbox reopened on its file, is the same bytes, and they are the bytes
    json.dumps gives every other answer (Chinese names as UTF-8, no spaces)."""
    db = str(tmp_path / "sandbox.sqlite")
    items = [item(0, merchant_order_id="订单-0"), item(1), item(2)]
    items.append(item(3, loan={**loan(), "first_due_date": "2020-01-01"}))  # refused by the insurer
    answers: list[tuple[bytes, QuoteBatch]] = []
    for _ in range(2):  # the second time, a sandbox reopened on the same file
        with Sandbox(db=db, now=START) as sb:
            recording = _Recording(sb.transport())
            with sb.client(transport=recording) as client:
                result = client.quotes.create_batch(items, idempotency_key="portfolio-bytes")
            answers.append((recording.bodies[-1], result))
    (first_bytes, first), (again_bytes, again) = answers
    assert again.last_response is not None and again.last_response.replayed
    assert first.last_response is not None and not first.last_response.replayed
    assert again_bytes == first_bytes
    assert (
        first_bytes == json.dumps(json.loads(first_bytes), ensure_ascii=False, separators=(",", ":")).encode()
    )
    assert "订单-0".encode() in first_bytes  # UTF-8, not \\u escapes
    assert len(first.quotes) == 3 and [e.index for e in first.errors] == [3]


def test_an_item_refused_by_the_sandbox_leaves_no_trace_and_the_rest_commit(client: Client) -> None:
    result = client.quotes.create_batch([item(0), item(1, loan=loan(first_due="2026-11-01")), item(2)])
    assert len(result.quotes) == 2
    assert sorted(q.merchant_order_id for q in client.quotes.list(limit=100)) == ["B-0", "B-2"]


async def test_the_async_client_batches_too(sandbox: Sandbox) -> None:
    async with sandbox.async_client() as client:
        result = await client.quotes.create_batch([item(0), item(1, product="nope")])
    assert isinstance(result.data[0], Quote) and isinstance(result.data[1], QuoteBatchError)
    assert result.data[1].index == 1 and result.data[1].param == "product"


def test_2000_concurrent_calls_complete_without_a_pool_timeout(served_sandbox: str) -> None:
    # 2,000 calls at once on one AsyncClient: its bound (64 in flight, the default) keeps them
    # waiting in the client; without it httpcore's pool of 100 connections gets 2,000 waiters and
    # they time out (the pool timeout is cut to 20 s here, far above what 2,000 quotes take when
    # only 64 are in the pool at a time).
    async def main() -> list[str]:
        key = "yg_test_" + uuid.uuid4().hex[:16]
        timeout = httpx.Timeout(120.0, pool=20.0)
        async with AsyncClient(
            api_key=key, base_url=served_sandbox, timeout=timeout, max_retries=0, deadline=600
        ) as c:

            async def one(i: int) -> str:
                quote = await c.quotes.create(**item(i))
                return quote.decision

            return await asyncio.gather(*(one(i) for i in range(2000)))

    results = asyncio.run(main())
    assert results == ["approved"] * 2000
