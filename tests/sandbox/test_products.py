"""The product lines of DESIGN §7.5: limits, required objects, the beneficiary and the decision order,
read from the product table and checked through the engine (and the SDK where it refuses first)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

import yangguang_sdk as yg
from tests.consent import consent_now
from yangguang_sdk import testing
from yangguang_sdk.sandbox import Sandbox
from yangguang_sdk.sandbox.engine import Engine
from yangguang_sdk.sandbox.errors import Invalid
from yangguang_sdk.types.identity import VehicleIdentificationNumber, vin_check_character, vin_problem
from yangguang_sdk.types.products import PRODUCTS, Product

START = dt.datetime(2027, 1, 10, 9, 0, tzinfo=dt.timezone.utc)
T = "yg_test_products"


@pytest.fixture
def engine() -> Any:
    made = Engine(now=START)
    yield made
    made.close()


def body(
    product: str, principal: Decimal | None = None, term: int | None = None, **over: Any
) -> dict[str, Any]:
    p = PRODUCTS[product]
    amount = principal if principal is not None else p.min_principal
    made: dict[str, Any] = {
        "product": product,
        "merchant_order_id": f"ORD-{product}",
        "borrower": testing.borrower(product, 1, credit_score=760),
        **testing.parties(product, 2),
        "loan": {
            "principal": {"amount": int(amount * 100), "currency": "CNY"},
            "term_months": term if term is not None else p.min_term_months,
            "annual_rate": "0.06",
            "first_due_date": "2027-02-15",
        },
    }
    made.update(over)
    return made


# --- the VIN --------------------------------------------------------------------------------------


def test_the_design_example_vin_is_valid_and_its_check_digit_is_x() -> None:
    assert vin_problem("LSVAU218XN2183294") is None
    assert vin_check_character("LSVAU218XN2183294") == "X"


@pytest.mark.parametrize("position", [0, 3, 8, 12, 16])
def test_changing_any_weighted_character_breaks_the_check_digit(position: int) -> None:
    vin = "LSVAU218XN2183294"
    other = "5" if vin[position] not in "5EN" else "6"  # a character of another transliterated value
    assert vin_problem(vin[:position] + other + vin[position + 1 :]) is not None


@pytest.mark.parametrize(
    "bad", ["LSVAU218XN218329", "LSVAU218XN21832944", "LSVAU218XN2I83294", "OSVAU218XN2183294"]
)
def test_a_vin_of_the_wrong_length_or_alphabet_is_refused(bad: str) -> None:
    assert vin_problem(bad) is not None


def test_generated_vins_are_valid_and_the_vin_is_masked_when_shown() -> None:
    assert all(vin_problem(testing.vin(seed)) is None for seed in range(200))
    vin = VehicleIdentificationNumber("lsvau218xn2183294")
    assert vin.value == "LSVAU218XN2183294"
    assert "218XN218" not in repr(vin) and "218XN218" not in str(vin)


# --- limits and required objects ------------------------------------------------------------------


@pytest.mark.parametrize("product", PRODUCTS.values(), ids=lambda p: p.name)
def test_every_product_takes_its_edges_and_declines_just_outside(engine: Engine, product: Product) -> None:
    # On the edges the limits let the loan through (a ¥100 loan may still fail the cost cap).
    for principal, term in [
        (product.min_principal, product.min_term_months),
        (product.max_principal, product.max_term_months),
    ]:
        quote = engine.create_quote(T, body(product.name, principal, term))
        assert quote["decline_reason"] != "outside_product_limits"
    assert engine.create_quote(T, body(product.name, product.max_principal // 10))["decision"] == "approved"
    for principal, term in [
        (product.min_principal - Decimal("0.01"), product.min_term_months),
        (product.max_principal + Decimal("0.01"), product.max_term_months),
        (product.min_principal, product.min_term_months - 1),
        (product.min_principal, product.max_term_months + 1),
    ]:
        if term < 1:
            continue
        quote = engine.create_quote(T, body(product.name, principal, term))
        assert (quote["decision"], quote["decline_reason"]) == ("declined", "outside_product_limits")


@pytest.mark.parametrize("product", [p for p in PRODUCTS.values() if p.requires], ids=lambda p: p.name)
def test_a_required_object_missing_is_a_422_naming_it(engine: Engine, product: Product) -> None:
    (required,) = product.requires
    request = body(product.name)
    del request[required]
    with pytest.raises(Invalid) as caught:
        engine.create_quote(T, request)
    assert (caught.value.code, caught.value.param) == ("invalid_parameter", required)


def test_an_object_the_product_does_not_take_is_refused(engine: Engine) -> None:
    with pytest.raises(Invalid) as caught:
        engine.create_quote(T, body("sme_loan", vehicle={"vin": "LSVAU218XN2183294"}))
    assert caught.value.param == "vehicle"


def test_quotes_and_policies_carry_the_required_objects(engine: Engine) -> None:
    quote = engine.create_quote(T, body("guaranteed_loan"))
    assert quote["guarantor"]["uscc"] == body("guaranteed_loan")["guarantor"]["uscc"]
    policy = engine.bind_policy(T, quote["id"], consent_now(engine, T))
    assert policy["guarantor"] == quote["guarantor"] and policy["beneficiary"] == quote["beneficiary"]


def test_guaranteed_loan_insures_people_and_companies(engine: Engine) -> None:
    person = body("guaranteed_loan", borrower=testing.borrower("platform_loan", 3))
    assert engine.create_quote(T, person)["decision"] == "approved"
    assert engine.create_quote(T, body("guaranteed_loan"))["decision"] == "approved"


# --- the beneficiary ------------------------------------------------------------------------------

LICENSED = [p.name for p in PRODUCTS.values() if p.beneficiary == "licensed"]


@pytest.mark.parametrize("product", LICENSED)
def test_a_licensed_lender_product_without_a_beneficiary_is_beneficiary_required(
    engine: Engine, product: str
) -> None:
    request = body(product)
    del request["beneficiary"]
    with pytest.raises(Invalid) as caught:
        engine.create_quote(T, request)
    assert (caught.value.code, caught.value.param) == ("beneficiary_required", "beneficiary")


@pytest.mark.parametrize("product", LICENSED)
def test_the_merchant_as_beneficiary_of_a_licensed_lender_product_is_declined(
    engine: Engine, product: str
) -> None:
    quote = engine.create_quote(T, body(product, beneficiary={"type": "merchant"}))
    assert (quote["decision"], quote["decline_reason"]) == ("declined", "beneficiary_not_licensed")


@pytest.mark.parametrize("product", ["consumer_installment", "auto_installment"])
def test_checkout_products_default_to_the_merchant_and_take_a_lender(engine: Engine, product: str) -> None:
    request = body(product, Decimal("30000"))
    request.pop("beneficiary", None)
    assert engine.create_quote(T, request)["beneficiary"] == {"type": "merchant"}
    bank = engine.create_quote(T, body(product, Decimal("30000"), beneficiary=testing.BANK))
    assert bank["decision"] == "approved" and bank["beneficiary"]["type"] == "bank"


def test_contract_performance_pays_the_creditor_only(engine: Engine) -> None:
    assert engine.create_quote(T, body("contract_performance"))["beneficiary"]["type"] == "enterprise"
    with pytest.raises(Invalid) as caught:
        engine.create_quote(T, body("contract_performance", beneficiary=testing.BANK))
    assert caught.value.param == "beneficiary"


def test_an_enterprise_beneficiary_elsewhere_is_refused(engine: Engine) -> None:
    creditor = testing.beneficiary("contract_performance", 4)
    with pytest.raises(Invalid) as caught:
        engine.create_quote(T, body("sme_loan", beneficiary=creditor))
    assert caught.value.param == "beneficiary.type"


def test_the_sdk_catches_a_missing_beneficiary_before_sending() -> None:
    with Sandbox(now=START) as sb, sb.client() as client:
        request = body("sme_loan")
        del request["beneficiary"]
        with pytest.raises(yg.ParameterError) as caught:
            client.quotes.create(**request)
        assert (caught.value.code, caught.value.param) == ("beneficiary_required", "beneficiary")
        with pytest.raises(yg.ParameterError) as named:
            client.quotes.create(**body("sme_loan", beneficiary={"type": "bank", "name": "示例银行"}))
        assert named.value.param == "beneficiary"  # a lender needs its USCC


# --- the decision order ---------------------------------------------------------------------------


def test_limits_come_before_the_licence_and_the_licence_before_the_score(engine: Engine) -> None:
    merchant = {"type": "merchant"}
    too_small = body("sme_loan", Decimal("9999.99"), beneficiary=merchant)
    assert engine.create_quote(T, too_small)["decline_reason"] == "outside_product_limits"
    low_score = body("sme_loan", beneficiary=merchant)
    low_score["borrower"]["credit_score"] = 400
    assert engine.create_quote(T, low_score)["decline_reason"] == "beneficiary_not_licensed"
    low_score["beneficiary"] = testing.BANK
    assert engine.create_quote(T, low_score)["decline_reason"] == "credit_score_below_threshold"
