"""The exposure limit per borrower (DESIGN §7.5): the decline at quote, the 409 at bind, the check."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

import yangguang_sdk as yg
from tests.consent import consent_now
from yangguang_sdk import testing
from yangguang_sdk.sandbox import Sandbox
from yangguang_sdk.sandbox.engine import Engine
from yangguang_sdk.sandbox.errors import Conflict
from yangguang_sdk.types.products import EXPOSURE_LIMITS

START = dt.datetime(2027, 1, 10, 9, 0, tzinfo=dt.timezone.utc)
T = "yg_test_exposure"
PERSON = {"type": "individual", "name": "张三", "id_number": "11010519491231002X", "credit_score": 760}


def quote_body(
    order: str, principal_yuan: int, product: str = "auto_installment", **over: Any
) -> dict[str, Any]:
    made: dict[str, Any] = {
        "product": product,
        "merchant_order_id": order,
        "borrower": PERSON,
        **testing.parties(product, 1),
        "loan": {
            "principal": {"amount": principal_yuan * 100, "currency": "CNY"},
            "term_months": 24,
            "annual_rate": "0.06",
            "first_due_date": "2027-02-15",
        },
    }
    made.update(over)
    return made


@pytest.fixture
def engine() -> Any:
    made = Engine(now=START)
    yield made
    made.close()


def used(engine: Engine, borrower: dict[str, Any] = PERSON, tenant: str = T) -> int:
    return int(engine.check_exposure(tenant, {"borrower": borrower})["used"]["amount"])


def test_a_quote_up_to_the_limit_is_allowed_and_a_fen_more_is_declined(engine: Engine) -> None:
    limit = EXPOSURE_LIMITS["individual"] // 100  # ¥500,000
    first = engine.create_quote(T, quote_body("A", 300_000))
    engine.bind_policy(T, first["id"], consent_now(engine, T))
    assert used(engine) == 300_000_00
    exact = engine.create_quote(T, quote_body("B", limit - 300_000))
    assert exact["decision"] == "approved"  # used + principal = limit: allowed
    over = quote_body("C", 0)
    over["loan"]["principal"]["amount"] = (limit - 300_000) * 100 + 1
    declined = engine.create_quote(T, over)
    assert (declined["decision"], declined["decline_reason"]) == ("declined", "borrower_exposure_limit")


def test_used_is_the_unpaid_principal_of_active_policies_only(engine: Engine) -> None:
    policy = engine.bind_policy(
        T, engine.create_quote(T, quote_body("A", 100_000))["id"], consent_now(engine, T)
    )
    first = policy["installments"][0]
    engine.advance(T, dt.timedelta(days=1))
    engine.create_repayment(
        T,
        {
            "policy_id": policy["id"],
            "installment": 1,
            "amount": first["amount"],
            "paid_at": "2027-01-11T00:00:00Z",
        },
    )
    assert used(engine) == 100_000_00 - first["principal"]["amount"]
    other = engine.bind_policy(
        T, engine.create_quote(T, quote_body("B", 50_000))["id"], consent_now(engine, T)
    )
    assert used(engine) == 150_000_00 - first["principal"]["amount"]
    engine.cancel_policy(T, other["id"], reason="withdrawn")
    assert used(engine) == 100_000_00 - first["principal"]["amount"]
    # another borrower, and the same borrower under another tenant, use nothing of it
    assert used(engine, {**PERSON, "id_number": testing.resident_id_number(5)}) == 0
    assert used(engine, tenant="yg_test_someone_else") == 0


def test_the_check_answers_limit_used_and_available(engine: Engine) -> None:
    engine.bind_policy(T, engine.create_quote(T, quote_body("A", 120_000))["id"], consent_now(engine, T))
    check = engine.check_exposure(T, {"borrower": PERSON})
    assert check == {
        "object": "exposure_check",
        "limit": {"amount": 500_000_00, "currency": "CNY"},
        "used": {"amount": 120_000_00, "currency": "CNY"},
        "available": {"amount": 380_000_00, "currency": "CNY"},
    }
    company = testing.borrower("sme_loan", 3)
    assert engine.check_exposure(T, {"borrower": company})["limit"]["amount"] == 10_000_000_00


def test_a_bind_that_would_cross_the_limit_after_another_bind_is_a_409(engine: Engine) -> None:
    a = engine.create_quote(T, quote_body("A", 300_000))
    b = engine.create_quote(T, quote_body("B", 300_000))
    assert a["decision"] == b["decision"] == "approved"  # each fits alone
    engine.bind_policy(T, a["id"], consent_now(engine, T))
    with pytest.raises(Conflict) as caught:
        engine.bind_policy(T, b["id"], consent_now(engine, T))
    assert caught.value.code == "borrower_exposure_limit"
    assert "11010519491231002X" not in caught.value.message


def test_two_concurrent_binds_that_together_cross_the_limit_exactly_one_succeeds() -> None:
    async def race() -> list[object]:
        async with sb.async_client() as client:
            quotes = [
                await client.quotes.create(**quote_body(f"R-{n}", 300_000, loan=loan)) for n in range(2)
            ]
            consent = await yg.async_consent(client, reference="CR-test")
            results: list[object] = await asyncio.gather(
                *(client.policies.bind(consent=consent, quote_id=q.id) for q in quotes),
                return_exceptions=True,
            )
            return results

    loan = {
        "principal": yg.Money.cny(300_000),
        "term_months": 24,
        "annual_rate": "0.06",
        "first_due_date": "2027-02-15",
    }
    with Sandbox(now=START) as sb:
        results = asyncio.run(race())
        bound = [r for r in results if isinstance(r, yg.types.Policy)]
        refused = [r for r in results if isinstance(r, yg.ConflictError)]
        assert (len(bound), len(refused)) == (1, 1), results
        assert refused[0].code == "borrower_exposure_limit"
        with sb.client() as client:
            check = client.exposure.check(borrower=PERSON)
        assert check.used == yg.Money.cny(300_000) and check.available == yg.Money.cny(200_000)


def test_the_exposure_check_on_both_clients_validates_before_sending() -> None:
    with Sandbox(now=START) as sb, sb.client() as client:
        with pytest.raises(yg.ParameterError) as caught:
            client.exposure.check(borrower={**PERSON, "id_number": "11010519491231002Y"})
        assert caught.value.param == "borrower.id_number"
        assert client.exposure.check(borrower=PERSON).limit == yg.Money(EXPOSURE_LIMITS["individual"])

        async def on_async() -> Any:
            async with sb.async_client() as aclient:
                return await aclient.exposure.check(borrower=PERSON)

        assert asyncio.run(on_async()).available.decimal == Decimal("500000.00")


def test_the_decision_order_puts_the_score_before_exposure_and_exposure_before_the_cost_cap(
    engine: Engine,
) -> None:
    engine.bind_policy(T, engine.create_quote(T, quote_body("A", 450_000))["id"], consent_now(engine, T))
    low = quote_body("B", 100_000, borrower={**PERSON, "credit_score": 400})
    assert engine.create_quote(T, low)["decline_reason"] == "credit_score_below_threshold"
    costly = quote_body("C", 100_000)
    costly["loan"]["annual_rate"] = "0.30"
    assert engine.create_quote(T, costly)["decline_reason"] == "borrower_exposure_limit"
