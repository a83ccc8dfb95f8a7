"""Dates and times outside 2000-01-01 … 2199-12-31 are refused, once, by the shared request models
and list-filter helper: the SDK raises ``ParameterError`` naming the field before sending; the
sandbox answers 422 ``invalid_parameter`` naming it. The sandbox writes every timestamp with a
four-digit year, so nothing it stores can break a reader later.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pydantic
import pytest

import yangguang_sdk as yg
from yangguang_sdk import Client, Money
from yangguang_sdk.sandbox import Sandbox
from yangguang_sdk.sandbox.app import SANDBOX_BASE_URL
from yangguang_sdk.sandbox.clock import EARLIEST, LATEST, format_ts, parse_ts
from yangguang_sdk.types import LoanTerms, PolicySettleParams, RepaymentCreateParams

from .conftest import API_KEY, START, RecordingTransport, borrower, loan

UTC = dt.timezone.utc
AUTH = {"authorization": f"Bearer {API_KEY}"}

OUT_OF_RANGE_TIMES = [
    dt.datetime(999, 1, 1, tzinfo=UTC),
    dt.datetime(1, 1, 1, tzinfo=UTC),
    dt.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    dt.datetime(2200, 1, 1, tzinfo=UTC),
    dt.datetime(9999, 12, 31, 23, 59, tzinfo=UTC),
    # in range on the wall clock of their zone, not in UTC
    dt.datetime(2000, 1, 1, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=1))),
    dt.datetime(2199, 12, 31, 23, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
]
IN_RANGE_TIMES = [
    EARLIEST,
    LATEST,
    dt.datetime(2199, 12, 31, 23, 59, tzinfo=dt.timezone(dt.timedelta(hours=8))),
]
OUT_OF_RANGE_DATES = ["1999-12-31", "2200-01-01", "0999-01-01", "0001-01-01", "9999-12-31"]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(now=START, api_key=API_KEY) as sb:
        yield sb


@pytest.fixture(scope="module")
def policy(sandbox: Sandbox) -> yg.types.Policy:
    with sandbox.client() as client:
        quote = client.quotes.create(
            product="consumer_installment", merchant_order_id="ORD-DATES", borrower=borrower(), loan=loan()
        )
        return client.policies.bind(consent=yg.consent(client, reference="CR-test"), quote_id=quote.id)


@pytest.fixture
def recorded(sandbox: Sandbox) -> Iterator[tuple[Client, RecordingTransport]]:
    transport = RecordingTransport(sandbox.transport())
    with sandbox.client(transport=transport) as client:
        yield client, transport


# -- the shared models ----------------------------------------------------------------------------


@pytest.mark.parametrize("paid_at", OUT_OF_RANGE_TIMES, ids=str)
def test_a_repayment_time_outside_the_range_is_refused(paid_at: dt.datetime) -> None:
    with pytest.raises(pydantic.ValidationError) as info:
        RepaymentCreateParams.model_validate(
            {"policy_id": "pol_1", "installment": 1, "amount": Money.cny("1.00"), "paid_at": paid_at}
        )
    (error,) = info.value.errors()
    assert error["loc"] == ("paid_at",)
    assert "2000-01-01 to 2199-12-31" in error["msg"]


@pytest.mark.parametrize("paid_at", IN_RANGE_TIMES, ids=str)
def test_a_repayment_time_at_the_edges_of_the_range_is_taken(paid_at: dt.datetime) -> None:
    params = RepaymentCreateParams.model_validate(
        {"policy_id": "pol_1", "installment": 1, "amount": Money.cny("1.00"), "paid_at": paid_at}
    )
    assert params.paid_at == paid_at


@pytest.mark.parametrize("day", OUT_OF_RANGE_DATES)
def test_dates_outside_the_range_are_refused(day: str) -> None:
    with pytest.raises(pydantic.ValidationError) as info:
        PolicySettleParams.model_validate({"settled_on": day})
    assert info.value.errors()[0]["loc"] == ("settled_on",)
    with pytest.raises(pydantic.ValidationError) as info:
        LoanTerms.model_validate({**loan(), "first_due_date": day})
    assert info.value.errors()[0]["loc"] == ("first_due_date",)


def test_dates_at_the_edges_of_the_range_are_taken() -> None:
    assert PolicySettleParams.model_validate({"settled_on": "2000-01-01"}).settled_on == dt.date(2000, 1, 1)
    terms = LoanTerms.model_validate({**loan(), "first_due_date": dt.date(2199, 12, 31)})
    assert terms.first_due_date == dt.date(2199, 12, 31)


# -- the SDK refuses before sending ---------------------------------------------------------------


def test_the_sdk_refuses_a_repayment_in_year_999_before_sending(
    recorded: tuple[Client, RecordingTransport], policy: yg.types.Policy
) -> None:
    client, transport = recorded
    with pytest.raises(yg.ParameterError) as info:
        client.repayments.create(
            policy_id=policy.id,
            installment=1,
            amount=policy.installments[0].amount,
            paid_at=dt.datetime(999, 1, 1, tzinfo=UTC),
        )
    assert info.value.param == "paid_at"
    assert "2000-01-01 to 2199-12-31" in str(info.value)
    assert transport.requests == []


@pytest.mark.parametrize(
    ("call", "param"),
    [
        (lambda c, p: c.policies.settle(p.id, settled_on=dt.date(1999, 12, 31)), "settled_on"),
        (lambda c, p: c.policies.settle(p.id, settled_on="2200-01-01"), "settled_on"),
        (
            lambda c, p: c.quotes.create(
                product="consumer_installment",
                merchant_order_id="ORD-2200",
                borrower=borrower(),
                loan=loan(first_due_date="2200-01-01"),
            ),
            "loan.first_due_date",
        ),
        (lambda c, p: c.policies.list(created_gte=dt.datetime(1, 1, 1, tzinfo=UTC)), "created_gte"),
        (lambda c, p: c.events.list(created_gte=dt.datetime(2200, 1, 1, tzinfo=UTC)), "created_gte"),
    ],
    ids=[
        "settled_on-1999",
        "settled_on-2200",
        "first_due_date-2200",
        "policies-created_gte",
        "events-created_gte",
    ],
)
def test_the_sdk_refuses_out_of_range_dates_naming_the_field(
    recorded: tuple[Client, RecordingTransport], policy: yg.types.Policy, call: Any, param: str
) -> None:
    client, transport = recorded
    with pytest.raises(yg.ParameterError) as info:
        call(client, policy)
    assert info.value.param == param
    assert transport.requests == []


# -- the sandbox answers 422 to the same, sent raw ------------------------------------------------


@pytest.fixture
def http(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(transport=sandbox.transport(), base_url=SANDBOX_BASE_URL, headers=AUTH) as raw:
        yield raw


def _assert_invalid(response: httpx.Response, param: str) -> None:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["param"]) == ("invalid_parameter", param)
    assert "2000-01-01 to 2199-12-31" in error["message"]


@pytest.mark.parametrize("paid_at", ["0001-01-01T00:00:00Z", "0999-01-01T00:00:00Z", "2200-01-01T00:00:00Z"])
def test_the_sandbox_refuses_a_repayment_time_outside_the_range(
    http: httpx.Client, sandbox: Sandbox, policy: yg.types.Policy, paid_at: str
) -> None:
    body = {"policy_id": policy.id, "installment": 1, "amount": {"amount": 1, "currency": "CNY"}}
    _assert_invalid(http.post("/v1/repayments", json={**body, "paid_at": paid_at}), "paid_at")
    with sandbox.client() as client:
        assert list(client.repayments.list(policy_id=policy.id)) == []


@pytest.mark.parametrize("day", ["1999-12-31", "2200-01-01"])
def test_the_sandbox_refuses_dates_outside_the_range(
    http: httpx.Client, policy: yg.types.Policy, day: str
) -> None:
    _assert_invalid(http.post(f"/v1/policies/{policy.id}/settle", json={"settled_on": day}), "settled_on")
    terms = {**loan(), "principal": {"amount": 1299900, "currency": "CNY"}, "first_due_date": day}
    quote = {
        "product": "consumer_installment",
        "merchant_order_id": "O-1",
        "borrower": borrower(),
        "loan": terms,
    }
    _assert_invalid(http.post("/v1/quotes", json=quote), "loan.first_due_date")


@pytest.mark.parametrize("path", ["/v1/events", "/v1/policies"])
def test_the_sandbox_refuses_list_filters_outside_the_range(http: httpx.Client, path: str) -> None:
    _assert_invalid(http.get(path, params={"created_gte": "0001-01-01T00:00:00Z"}), "created_gte")
    _assert_invalid(http.get(path, params={"created_gte": "2200-01-01T00:00:00Z"}), "created_gte")
    assert http.get(path, params={"created_gte": "2000-01-01T00:00:00Z"}).status_code == 200


# -- timestamps on the wire -----------------------------------------------------------------------


@pytest.mark.parametrize("year", [1, 999, 2000, 2199, 9999])
def test_timestamps_are_written_with_four_digit_years(year: int) -> None:
    value = dt.datetime(year, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert format_ts(value) == f"{year:04d}-01-02T03:04:05Z"
    assert parse_ts(format_ts(value)) == value


def test_the_clock_range_is_the_api_range() -> None:
    assert format_ts(EARLIEST) == "2000-01-01T00:00:00Z"
    assert format_ts(LATEST) == "2199-12-31T23:59:59.999999Z"
