"""What a merchant meets through the in-process sandbox (issue 10): keys and order ids in any
script (an idempotency key such as ``订单-1`` replays, a Chinese ``merchant_order_id`` is stored and
found by the list filter), and answers that point the right way."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import yangguang_sdk as yg
from yangguang_sdk.sandbox import Sandbox
from yangguang_sdk.sandbox.app import SANDBOX_BASE_URL

START = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.timezone.utc)


def quote_args(order_id: str = "订单-2026-0001") -> dict[str, Any]:
    return {
        "product": "consumer_installment",
        "merchant_order_id": order_id,
        "borrower": {
            "type": "individual",
            "name": "张三",
            "id_number": "11010519491231002X",
            "credit_score": 720,
        },
        "loan": {
            "principal": yg.Money.cny("12999.00"),
            "term_months": 12,
            "annual_rate": "0.12",
            "first_due_date": "2026-12-25",
        },
    }


@pytest.fixture
def client() -> Iterator[yg.Client]:
    sb = Sandbox(now=START)
    c = sb.client()
    yield c
    c.close()
    sb.close()


def test_a_chinese_idempotency_key_replays_and_refuses_another_body(client: yg.Client) -> None:
    first = client.quotes.create(**quote_args(), idempotency_key="订单-1")
    again = client.quotes.create(**quote_args(), idempotency_key="订单-1")
    assert again.id == first.id
    assert first.last_response is not None and again.last_response is not None
    assert first.last_response.replayed is False and again.last_response.replayed is True
    assert again.last_response.idempotency_key == "订单-1"
    with pytest.raises(yg.IdempotencyError) as info:
        client.quotes.create(**quote_args("订单-2026-0002"), idempotency_key="订单-1")
    assert info.value.code == "idempotency_key_reused"
    # a key is itself: "订单-1" and the ASCII text of its header form are two keys
    other = client.quotes.create(**quote_args(), idempotency_key="UTF-8''%E8%AE%A2%E5%8D%95-1")
    assert other.id != first.id


def test_a_chinese_merchant_order_id_is_stored_and_found_by_the_list_filter(client: yg.Client) -> None:
    quote = client.quotes.create(**quote_args("订单-2026-0001"))
    assert quote.merchant_order_id == "订单-2026-0001"
    policy = client.policies.bind(
        consent=yg.consent(client, reference="CR-test"),
        quote_id=quote.id,
        idempotency_key="绑定-订单-2026-0001",
    )
    assert policy.merchant_order_id == "订单-2026-0001"
    found = [p.id for p in client.policies.list(merchant_order_id="订单-2026-0001")]
    assert found == [policy.id]
    assert list(client.policies.list(merchant_order_id="订单-2026-0002")) == []


@pytest.mark.parametrize(
    "header",
    [
        "UTF-8''%E8%AE",  # cut inside a character: not UTF-8
        "UTF-8''%ZZ",  # not percent-encoding
        "UTF-8''",  # empty
        "UTF-8''" + "%C3%A9" * 256,  # 256 characters
        "UTF-8''a%0Ab",  # a control character
    ],
)
def test_the_sandbox_refuses_a_key_header_that_does_not_decode_to_a_valid_key(header: str) -> None:
    sb = Sandbox(now=START)
    c = sb.client()
    try:
        with pytest.raises(yg.InvalidRequestError) as info:
            c.test_clock.advance(hours=1, extra_headers={"Idempotency-Key": header})
        assert info.value.param == "Idempotency-Key"
        assert info.value.code == "invalid_parameter"
    finally:
        c.close()
        sb.close()


def test_a_base_url_with_another_prefix_gets_an_unknown_route_that_shows_the_root() -> None:
    sb = Sandbox(now=START)
    client = yg.Client(api_key="yg_test_abcd", base_url=SANDBOX_BASE_URL + "/api", transport=sb.transport())
    try:
        with pytest.raises(yg.NotFoundError) as info:
            client.quotes.retrieve("quo_1")
    finally:
        client.close()
        sb.close()
    text = str(info.value)
    assert info.value.code == "unknown_route"
    assert "No route GET /api/v1/quotes/quo_1" in text
    assert "http://127.0.0.1:8765 (without /v1)" in text
    assert "visible only to the API key" not in text


def test_the_sandboxs_422_lists_several_problems() -> None:
    sb = Sandbox(now=START)
    body = {
        "product": "sme_loan",
        "merchant_order_id": "订单 1",
        "borrower": {"type": "enterprise", "name": "x", "id_number": "91110000600037341L"},
        "loan": {"principal": {"amount": 100, "currency": "CNY"}, "term_months": 0, "annual_rate": "0.1"},
    }
    headers = {"Authorization": "Bearer yg_test_abcd"}
    try:
        with httpx.Client(transport=sb.transport(), base_url=SANDBOX_BASE_URL, headers=headers) as http:
            error = http.post("/v1/quotes", json=body).json()["error"]
    finally:
        sb.close()
    assert error["code"] == "invalid_parameter" and error["param"] == "merchant_order_id"
    assert error["message"].startswith("merchant_order_id: contains a space or other whitespace: ")
    assert "; borrower.uscc: is required; " in error["message"]
    assert error["message"].endswith("; and 2 more problems")
    assert "91110000600037341L" not in error["message"]


def test_the_sandbox_states_the_key_rule_when_it_refuses_a_key() -> None:
    sb = Sandbox(now=START)
    try:
        with httpx.Client(transport=sb.transport(), base_url=SANDBOX_BASE_URL) as http:
            short = http.get("/v1/test_clock", headers={"Authorization": "Bearer yg_test_mid"})
            longest = http.get("/v1/test_clock", headers={"Authorization": "Bearer yg_test_" + "a" * 200})
    finally:
        sb.close()
    assert short.status_code == 401
    assert (
        "yg_test_ followed by 4-200 ASCII letters, digits or underscores" in short.json()["error"]["message"]
    )
    assert longest.status_code == 200  # the SDK's rule: 200 characters after the prefix
