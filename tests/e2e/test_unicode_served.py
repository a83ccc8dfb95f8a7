"""Keys and order ids in any script against the served sandbox (issue 10): the header form of a
Unicode idempotency key and a Chinese order id in the query string survive a real HTTP server."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

import yangguang_sdk as yg

from .conftest import borrower, loan

KEY = "yg_test_unicodeserved"


def test_a_chinese_idempotency_key_replays_against_the_served_sandbox(served_sandbox: str) -> None:
    with yg.Client(api_key=KEY, base_url=served_sandbox) as client:
        args: dict[str, Any] = {"product": "consumer_installment", "borrower": borrower(), "loan": loan()}
        first = client.quotes.create(
            merchant_order_id="订单-served-1", idempotency_key="订单-served-1", **args
        )
        again = client.quotes.create(
            merchant_order_id="订单-served-1", idempotency_key="订单-served-1", **args
        )
        assert again.id == first.id and again.merchant_order_id == "订单-served-1"
        assert again.last_response is not None and again.last_response.replayed is True
        with pytest.raises(yg.IdempotencyError):
            client.quotes.create(merchant_order_id="订单-served-2", idempotency_key="订单-served-1", **args)
        policy = client.policies.bind(
            consent=yg.consent(client, reference="CR-test"),
            quote_id=first.id,
            idempotency_key="绑定-served-1",
        )
        assert [p.id for p in client.policies.list(merchant_order_id="订单-served-1")] == [policy.id]


def test_raw_utf8_in_the_key_header_is_the_same_key_as_its_encoded_form(served_sandbox: str) -> None:
    """A client other than this SDK (curl) may send the key's UTF-8 bytes as they are."""
    headers = [(b"Authorization", f"Bearer {KEY}raw".encode()), (b"Content-Type", b"application/json")]
    with httpx.Client(base_url=served_sandbox) as http:
        first = http.post(
            "/v1/test_clock/advance",
            content=b'{"hours": 1}',
            headers=[*headers, (b"Idempotency-Key", "时钟-1".encode())],
        )
        again = http.post(
            "/v1/test_clock/advance",
            content=b'{"hours": 1}',
            headers=[*headers, (b"Idempotency-Key", b"UTF-8''%E6%97%B6%E9%92%9F-1")],
        )
    assert first.status_code == again.status_code == 200
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json() == first.json()
