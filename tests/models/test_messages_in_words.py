"""Everyday mistakes are refused with what to pass instead, not pydantic's words for its internals
("Unable to extract tag", "valid dictionary or object to extract fields from", "timezone info")."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import yangguang_sdk as yg


def _never(request: httpx.Request) -> httpx.Response:
    raise AssertionError("nothing is sent for a refused call")


@pytest.fixture
def client() -> yg.Client:
    return yg.Client(api_key="yg_test_words", base_url="http://x.test", transport=httpx.MockTransport(_never))


def _quote(client: yg.Client, change: Callable[[dict[str, Any]], object]) -> yg.ParameterError:
    args: dict[str, Any] = {
        "product": "consumer_installment",
        "merchant_order_id": "ORD-W",
        "borrower": {"type": "individual", "name": "张三", "id_number": "11010519491231002X"},
        "loan": {
            "principal": yg.Money.cny("1000.00"),
            "term_months": 12,
            "annual_rate": "0.12",
            "first_due_date": "2026-12-25",
        },
    }
    change(args)
    with pytest.raises(yg.ParameterError) as info:
        client.quotes.create(**args)
    return info.value


@pytest.mark.parametrize(
    ("change", "param", "words"),
    [
        (lambda a: a["borrower"].pop("type"), "borrower", "has no 'type': say which kind"),
        (lambda a: a["borrower"].update(type="person"), "borrower", "'individual', 'enterprise'"),
        (lambda a: a["loan"].update(term_months="12 months"), "loan.term_months", "whole number"),
        (lambda a: a["loan"].update(annual_rate="12%"), "loan.annual_rate", 'such as "0.12"'),
        (lambda a: a.update(borrower=None), "borrower", "must be an object"),
        (lambda a: a["loan"].update(first_due_date="2026-02-30"), "loan.first_due_date", "a real date"),
    ],
)
def test_a_common_mistake_says_what_to_pass(
    client: yg.Client, change: Callable[[dict[str, Any]], object], param: str, words: str
) -> None:
    error = _quote(client, change)
    assert error.param == param
    assert words in str(error)
    assert "Input should" not in str(error) and "Unable to extract" not in str(error)


@pytest.mark.parametrize("value", [dt.datetime(2026, 12, 25, 9), dt.date(2026, 12, 25)])
def test_a_paid_at_without_a_time_zone_says_how_to_make_one(client: yg.Client, value: object) -> None:
    with pytest.raises(yg.ParameterError) as info:
        client.repayments.create(
            policy_id="pol_1",
            installment=1,
            amount=yg.Money.cny("100.00"),
            paid_at=value,  # type: ignore[arg-type]
        )
    assert info.value.param == "paid_at"
    assert "timezone-aware datetime, such as datetime.now(timezone.utc)" in str(info.value)
