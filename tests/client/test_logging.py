"""API keys, ID numbers and phone numbers never reach the logs, nor the errors a caller may log."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

import yangguang_sdk as yg
from yangguang_sdk._logs import logger, redact

from ._support import Api, Server, error_body

KEY = "yg_test_Zx9Kq2LmN8pR4sT6"
ID_NUMBER = "11010519491231002X"
PHONE = "13800138000"
SECRETS = [KEY, KEY.removeprefix("yg_test_"), ID_NUMBER, ID_NUMBER[6:14], PHONE, PHONE[3:7] + PHONE[7:]]


def borrower() -> dict[str, object]:
    return {"type": "individual", "name": "张三", "id_number": ID_NUMBER, "phone": PHONE, "credit_score": 720}


def loan() -> dict[str, object]:
    return {
        "principal": yg.Money.cny("12999.00"),
        "term_months": 12,
        "annual_rate": "0.12",
        "first_due_date": "2026-12-25",
    }


def echoing_server(request: httpx.Request) -> httpx.Response:
    """A careless insurer that quotes the request back in its error message and headers."""
    sent = json.loads(request.content)
    message = (
        f"borrower {sent['borrower']['id_number']} (phone {sent['borrower']['phone']}) was refused for key "
        f"{request.headers['authorization']}"
    )
    body = error_body("invalid_value", message, param="borrower.id_number")
    return httpx.Response(422, json=body, headers={"request-id": "req_logtest"})


def assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, secret


async def test_debug_logs_of_a_failing_call_hold_no_key_id_number_or_phone(
    api: Api, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("YANGGUANG_LOG", raising=False)
    caplog.set_level(logging.DEBUG, logger="yangguang_sdk")
    flaky = Server(
        lambda r: httpx.ConnectError(f"reset while sending {r.content!r}", request=r), echoing_server
    )
    client = api.client(flaky, api_key=KEY)
    with pytest.raises(yg.InvalidRequestError) as info:
        await api.call(
            client.quotes.create,
            product="consumer_installment",
            merchant_order_id="ORD-1",
            borrower=borrower(),
            loan=loan(),
        )
    assert flaky.count == 2 and ID_NUMBER.encode() in flaky.requests[0].content  # the data was really sent
    sdk_records = [r for r in caplog.records if r.name == "yangguang_sdk"]
    assert len(sdk_records) == 2  # one line per attempt: the reset, then the 422
    assert "422" in caplog.text and "req_logtest" in caplog.text and "ConnectError" in caplog.text
    assert_clean(caplog.text)
    err = info.value
    assert err.request_id == "req_body123" and err.param == "borrower.id_number"
    for text in (str(err), repr(err), err.message, str(err.args)):
        assert_clean(text)
    assert "110105********002X" in str(err)  # masked, still recognisable


async def test_a_successful_call_is_logged_at_debug(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="yangguang_sdk")
    server = Server(
        httpx.Response(200, json={"now": "2026-11-25T02:00:00Z"}, headers={"request-id": "req_good"})
    )
    client = api.client(server, api_key=KEY)
    await api.call(client.test_clock.retrieve)
    (record,) = [r for r in caplog.records if r.name == "yangguang_sdk"]
    assert record.levelno == logging.DEBUG
    assert "GET /v1/test_clock -> 200" in record.getMessage() and "req_good" in record.getMessage()
    assert_clean(caplog.text)


async def test_nothing_is_logged_when_the_logger_is_quiet(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="yangguang_sdk")
    server = Server(httpx.Response(500, json=error_body()))
    client = api.client(server, max_retries=0)
    with pytest.raises(yg.InternalServerError):
        await api.call(client.test_clock.retrieve)
    assert not [r for r in caplog.records if r.name == "yangguang_sdk"]


def test_the_logger_redacts_whatever_is_logged_through_it(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="yangguang_sdk")
    logger.debug(
        "headers %s body %s", {"Authorization": f"Bearer {KEY}"}, {"id_number": ID_NUMBER, "phone": PHONE}
    )
    logger.info(f"plain {KEY} {ID_NUMBER} {PHONE}")
    assert len(caplog.records) == 2
    assert_clean(caplog.text)


# -- redact() ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("key yg_test_Zx9Kq2LmN8pR4sT6 ok", "key yg_test_**** ok"),
        ("key=yg_live_Zx9Kq2LmN8pR4sT6", "key=yg_live_****"),
        ("Authorization: Bearer abc.def-123", "Authorization: Bearer ****"),
        ("secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "secret whsec_****"),
        ("whsk_abc+/= and whpk_xyz", "whsk_**** and whpk_****"),
        ("id 11010519491231002X.", "id 110105********002X."),
        ("id 11010519491231002x", "id 110105********002x"),
        ('{"id_number":"11010519491231002X"}', '{"id_number":"110105********002X"}'),
        ("uscc 91110000600037341L", "uscc 911100********341L"),
        ("uscc 91110000600037341l", "uscc 911100********341l"),
        ("call 13800138000 now", "call 138****8000 now"),
        ("+8613800138000", "+86138****8000"),
        ("0086 13800138000", "0086 138****8000"),
        ("138-0013-8000 / 138 0013 8000", "138****8000 / 138****8000"),
    ],
)
def test_redact_masks(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "POST /v1/quotes -> 422 attempt=2 request_id=req_8c1f2a 12.5ms",
        "amount 1299900 fen on 2026-11-01, total 1299900 2026-11-01",
        "unix 1790000000 ms 1790000000000",
        "ids pol_1a2b3c quo_9z8y7x evt_01",
        "12-digit 123456789012 and 10-digit 1380013800",
        "yg_test_ alone",
    ],
)
def test_redact_leaves_harmless_text_alone(text: str) -> None:
    assert redact(text) == text


def test_redact_is_idempotent() -> None:
    text = f"{KEY} {ID_NUMBER} {PHONE} 91110000600037341L Bearer x"
    once = redact(text)
    assert redact(once) == once
    assert_clean(once)
