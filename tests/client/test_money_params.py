"""Money where a request expects it: a refusal says what was given and the right call, before sending."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

import yangguang_sdk as yg
from yangguang_sdk.sandbox import Sandbox

START = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.timezone.utc)
SUGGESTION = 'yg.Money.cny("12999.00")'


@pytest.fixture
def client() -> Iterator[yg.Client]:
    with Sandbox(now=START).client() as client:
        yield client


def create(client: yg.Client, principal: Any) -> Any:
    return client.quotes.create(
        product="consumer_installment",
        merchant_order_id="ORD-1",
        borrower={
            "type": "individual",
            "name": "张三",
            "id_number": "11010519491231002X",
            "credit_score": 720,
        },
        loan={
            "principal": principal,
            "term_months": 12,
            "annual_rate": "0.12",
            "first_due_date": "2026-12-25",
        },
    )


@pytest.mark.parametrize(
    ("principal", "given"),
    [
        ("12999.00", "a str was given"),
        (12999, "an int was given"),
        (Decimal("12999.00"), "a Decimal was given"),
        (None, "None was given"),
        (True, "a bool was given"),
        ({"amount": "1299900", "currency": "CNY"}, "amount is integer minor units, not a str"),
        ({"amount": 1299900, "currency": "RMB"}, "currency must be one of"),
    ],
    ids=["str", "int", "decimal", "none", "bool", "str-amount", "unknown-currency"],
)
def test_a_principal_that_is_not_money_says_what_was_given_and_the_right_call(
    client: yg.Client, principal: Any, given: str
) -> None:
    with pytest.raises(yg.ParameterError) as info:
        create(client, principal)
    assert info.value.param == "loan.principal"
    message = str(info.value)
    assert given in message and SUGGESTION in message, message
    assert "floats" not in message
    assert "12999" not in message.replace(SUGGESTION, "").replace("1299900", "")  # the value is not echoed


@pytest.mark.parametrize(
    "principal", [12999.0, {"amount": 1299900.0, "currency": "CNY"}], ids=["float", "float-amount"]
)
def test_a_float_principal_keeps_its_own_message(client: yg.Client, principal: Any) -> None:
    with pytest.raises(yg.ParameterError, match="floats are never accepted") as info:
        create(client, principal)
    assert info.value.param == "loan.principal"
    assert SUGGESTION in str(info.value)


def test_money_and_its_wire_form_are_both_accepted(client: yg.Client) -> None:
    a = create(client, yg.Money.cny("12999.00"))
    b = create(client, {"amount": 1299900, "currency": "CNY"})
    c = create(client, {"amount": 1299900})
    assert a.premium == b.premium == c.premium is not None
