"""Repayment methods (DESIGN §7.5): 等额本息, 等额本金 and 先息后本, checked against exact rationals.

The reference here runs the balance recurrence of §7.5 as written, in ``fractions.Fraction``; the
sandbox uses closed forms over one integer denominator per method. Nothing is rounded before the fen.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import yangguang_sdk as yg
from tests.consent import consent_now
from yangguang_sdk import testing
from yangguang_sdk.errors import ParameterError
from yangguang_sdk.sandbox import Sandbox, pricing
from yangguang_sdk.sandbox.app import SANDBOX_BASE_URL
from yangguang_sdk.sandbox.engine import Engine
from yangguang_sdk.sandbox.errors import Invalid
from yangguang_sdk.sandbox.products import PRODUCTS
from yangguang_sdk.types.products import REPAYMENT_METHODS, RepaymentMethod

from .test_schedule_rounding import half_up

START = dt.datetime(2027, 1, 10, 9, 0, tzinfo=dt.timezone.utc)
TENANT = "yg_test_methods"
USCC = "91110000600037341L"


def exact_lines(principal_fen: int, months: int, rate: str, method: str) -> list[tuple[Fraction, Fraction]]:
    """(principal part, interest) per installment in yuan, unrounded, by the recurrence."""
    p = Fraction(principal_fen, 100)
    r = Fraction(rate) / 12
    rows: list[tuple[Fraction, Fraction]] = []
    balance = p
    for t in range(1, months + 1):
        interest = balance * r
        if method == "equal_principal":
            part = p / months
        elif method == "interest_first":
            part = p if t == months else Fraction(0)
        else:
            payment = p / months if r == 0 else p * r / (1 - (1 + r) ** -months)
            part = payment - interest
        rows.append((part, interest))
        balance -= part
    assert balance == 0
    return rows


def rounded(principal_fen: int, months: int, rate: str, method: str) -> list[tuple[int, int]]:
    """The §7.5 rounding rule applied to the exact lines."""
    rows = exact_lines(principal_fen, months, rate, method)
    head = [(half_up(a * 100), half_up(b * 100)) for a, b in rows[:-1]]
    total_interest = half_up(sum((b for _, b in rows), Fraction(0)) * 100)
    last = (principal_fen - sum(a for a, _ in head), total_interest - sum(b for _, b in head))
    return [*head, last]


def sandbox_lines(
    principal_fen: int, months: int, rate: str, method: RepaymentMethod
) -> list[tuple[int, int]]:
    lines = pricing.borrower_schedule(
        Decimal(principal_fen).scaleb(-2), Decimal(rate), months, dt.date(2027, 2, 15), method
    )
    return [(line.principal, line.interest) for line in lines]


loans = st.tuples(
    st.integers(min_value=1, max_value=10**10),  # fen
    st.integers(min_value=1, max_value=60),
    st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("0.36"), places=4).map(str),
    st.sampled_from(REPAYMENT_METHODS),
)


@settings(max_examples=300, deadline=None)
@given(loans)
def test_every_method_rounds_each_line_half_up_and_puts_the_remainders_last(loan: Any) -> None:
    principal_fen, months, rate, method = loan
    lines = sandbox_lines(principal_fen, months, rate, method)
    assert lines == rounded(principal_fen, months, rate, method)
    # the principal parts sum to P; the interest parts to the rounded exact total interest
    assert sum(p for p, _ in lines) == principal_fen
    exact = exact_lines(principal_fen, months, rate, method)
    assert sum(i for _, i in lines) == half_up(sum((b for _, b in exact), Fraction(0)) * 100)


@settings(max_examples=150, deadline=None)
@given(loans)
def test_exposure_at_default_is_the_unrounded_balance_grown_by_a_month(loan: Any) -> None:
    principal_fen, months, rate, method = loan
    exact = exact_lines(principal_fen, months, rate, method)
    r = Fraction(rate) / 12
    balance = Fraction(principal_fen, 100)
    eads = pricing.exposures(Decimal(principal_fen).scaleb(-2), Decimal(rate), months, method)
    for t in range(months):
        expected = balance * (1 + r)
        assert abs(Fraction(eads[t]) - expected) <= expected * Fraction(1, 10**40) + Fraction(1, 10**30)
        balance -= exact[t][0]


def test_an_exact_half_fen_of_equal_principal_interest_rounds_up() -> None:
    # ¥300.00 at 0.0022: the first interest is 300 × 0.0022 / 12 = ¥0.055 exactly → 6 fen.
    lines = sandbox_lines(30000, 3, "0.0022", "equal_principal")
    assert lines[0] == (10000, 6)
    assert lines == rounded(30000, 3, "0.0022", "equal_principal")


def test_interest_first_repays_the_whole_principal_with_the_last_installment() -> None:
    lines = sandbox_lines(12_000_00, 12, "0.12", "interest_first")
    assert [p for p, _ in lines] == [0] * 11 + [12_000_00]
    assert {i for _, i in lines} == {120_00}


def test_equal_principal_at_a_zero_rate_puts_the_odd_fen_last() -> None:
    lines = sandbox_lines(100_00, 3, "0", "equal_principal")
    assert lines == [(3333, 0), (3333, 0), (3334, 0)]


def test_equal_principal_due_dates_clip_to_the_month_end() -> None:
    lines = pricing.borrower_schedule(
        Decimal("3000"), Decimal("0.12"), 3, dt.date(2027, 1, 31), "equal_principal"
    )
    assert [line.due_date.isoformat() for line in lines] == ["2027-01-31", "2027-02-28", "2027-03-31"]
    assert [line.interest for line in lines] == [3000, 2000, 1000]


@pytest.mark.parametrize("method", REPAYMENT_METHODS)
@pytest.mark.parametrize("rate", ["0.06", "0.1234", "0.24"])
def test_without_premium_the_cost_is_the_nominal_rate_for_every_method(method: Any, rate: str) -> None:
    # The IRR of a loan's own cash flows is its monthly rate, whatever their shape.
    cost = pricing.comprehensive_cost(Decimal("50000"), Decimal(rate), 24, Decimal(0), method)
    assert abs(cost - Decimal(rate)) < Decimal("1e-25")


def reference_cost(principal: str, rate: str, months: int, premium: str, method: str) -> Decimal:
    """12 × the monthly IRR by plain bisection over the discounted unequal flows."""
    with localcontext() as ctx:
        ctx.prec = 60
        rows = exact_lines(int(Decimal(principal) * 100), months, rate, method)
        flows = [Decimal(a.numerator) / a.denominator + Decimal(b.numerator) / b.denominator for a, b in rows]
        share = Decimal(premium) / months
        lo, hi = Decimal(0), Decimal(1)
        for _ in range(200):
            mid = (lo + hi) / 2
            npv = sum((f + share) / (1 + mid) ** (t + 1) for t, f in enumerate(flows)) - Decimal(principal)
            lo, hi = (mid, hi) if npv > 0 else (lo, mid)
        return lo * 12


@pytest.mark.parametrize("method", REPAYMENT_METHODS)
def test_the_cost_cap_irr_solves_unequal_cash_flows(method: Any) -> None:
    cost = pricing.comprehensive_cost(Decimal("80000"), Decimal("0.15"), 18, Decimal("1234.56"), method)
    assert abs(cost - reference_cost("80000", "0.15", 18, "1234.56", method)) < Decimal("1e-30")


def test_the_same_premium_costs_more_when_principal_is_repaid_sooner() -> None:
    # The premium is spread evenly; 先息后本 keeps the whole principal longest, so it dilutes most.
    costs = {
        m: pricing.comprehensive_cost(Decimal("80000"), Decimal("0.10"), 24, Decimal("2000"), m)
        for m in REPAYMENT_METHODS
    }
    assert costs["interest_first"] < costs["equal_installment"] < costs["equal_principal"]


# --- through the engine and the SDK ---------------------------------------------------------------


@pytest.fixture
def engine() -> Any:
    made = Engine(now=START)
    yield made
    made.close()


def sme_quote(method: str | None, rate: str = "0.10", **loan: Any) -> dict[str, Any]:
    terms: dict[str, Any] = {
        "principal": {"amount": 300_000_00, "currency": "CNY"},
        "term_months": 12,
        "annual_rate": rate,
        "first_due_date": "2027-02-28",
        **loan,
    }
    if method is not None:
        terms["repayment_method"] = method
    return {
        "product": "sme_loan",
        "merchant_order_id": "SME-1",
        "beneficiary": testing.BANK,
        "borrower": {"type": "enterprise", "name": "晨光科技有限公司", "uscc": USCC, "credit_score": 700},
        "loan": terms,
    }


@pytest.mark.parametrize("method", REPAYMENT_METHODS)
def test_a_quote_and_its_policy_carry_the_method_and_its_schedule(engine: Engine, method: Any) -> None:
    quote = engine.create_quote(TENANT, sme_quote(method))
    assert quote["decision"] == "approved"
    assert quote["repayment_method"] == method
    expected = sandbox_lines(300_000_00, 12, "0.10", method)
    assert [(x["principal"]["amount"], x["interest"]["amount"]) for x in quote["schedule"]] == expected
    assert quote["sum_insured"]["amount"] == sum(p + i for p, i in expected)
    policy = engine.bind_policy(TENANT, quote["id"], consent_now(engine, TENANT))
    assert policy["repayment_method"] == method
    assert policy["installments"] == quote["schedule"]


def test_without_a_method_the_loan_is_equal_installments(engine: Engine) -> None:
    quote = engine.create_quote(TENANT, sme_quote(None))
    assert quote["repayment_method"] == "equal_installment"


@pytest.mark.parametrize(
    ("product", "method"), [("consumer_installment", "equal_principal"), ("platform_loan", "interest_first")]
)
def test_a_method_the_product_does_not_offer_is_refused(engine: Engine, product: str, method: str) -> None:
    assert method not in PRODUCTS[product].methods
    body = sme_quote(method)
    body["product"] = product
    body["borrower"] = {
        "type": "individual",
        "name": "张三",
        "id_number": "11010519491231002X",
        "credit_score": 700,
    }
    body["loan"]["principal"] = {"amount": 5000_00, "currency": "CNY"}
    with pytest.raises(Invalid) as caught:
        engine.create_quote(TENANT, body)
    assert (caught.value.code, caught.value.param) == (
        "repayment_method_not_offered",
        "loan.repayment_method",
    )


def test_interest_first_at_a_zero_rate_is_not_offered(engine: Engine) -> None:
    with pytest.raises(Invalid) as caught:
        engine.create_quote(TENANT, sme_quote("interest_first", rate="0"))
    assert caught.value.code == "repayment_method_not_offered"


def test_the_sdk_refuses_a_method_not_offered_before_sending() -> None:
    with Sandbox(now=START) as sb, sb.client() as client:
        body = sme_quote("interest_first", rate="0")
        body["loan"]["principal"] = yg.Money.cny("300000.00")
        with pytest.raises(ParameterError) as caught:  # not InvalidRequestError: nothing was sent
            client.quotes.create(**body)
        assert (caught.value.code, caught.value.param) == (
            "repayment_method_not_offered",
            "loan.repayment_method",
        )
        quote = client.quotes.create(**sme_quote("interest_first"))
        assert quote.repayment_method == "interest_first"


def test_the_http_api_answers_422_with_the_code() -> None:
    with Sandbox(now=START) as sb, httpx.Client(transport=sb.transport(), base_url=SANDBOX_BASE_URL) as http:
        answer = http.post(
            "/v1/quotes",
            json=sme_quote("interest_first", rate="0"),
            headers={"Authorization": f"Bearer {TENANT}"},
        )
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert (error["code"], error["param"]) == ("repayment_method_not_offered", "loan.repayment_method")
