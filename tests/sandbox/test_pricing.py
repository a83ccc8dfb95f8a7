"""Pricing rules of DESIGN §4, checked against an independent computation written here.

The reference below deliberately uses other formulas than ``sandbox/pricing.py``: closed-form
balances instead of the recurrence, ``exp``/``ln`` for the hazard instead of a fractional power, a
plain sum of discounted payments and bisection for the IRR.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

import pytest

from yangguang_sdk import testing
from yangguang_sdk.sandbox import pricing
from yangguang_sdk.sandbox.engine import Engine
from yangguang_sdk.sandbox.products import PRODUCTS

from .test_schedule_rounding import exact_schedule

START = dt.datetime(2027, 1, 10, 9, 0, tzinfo=dt.timezone.utc)
TENANT = "yg_test_pricing"

# --- the independent reference ---------------------------------------------------------------------

PD = [
    (720, "0.010"),
    (680, "0.044"),
    (640, "0.089"),
    (600, "0.158"),
    (560, "0.225"),
    (520, "0.284"),
    (0, "0.410"),
]
PRODUCT_TERMS = {  # LGD, deductible
    "consumer_installment": ("0.80", "0"),
    "platform_loan": ("0.80", "0"),
    "sme_loan": ("0.60", "0.10"),
}


def ref_expected_losses(
    product: str, principal: str, months: int, annual_rate: str, score: int
) -> list[Decimal]:
    """[EL_1, ..., EL_n] in yuan."""
    with localcontext() as ctx:
        ctx.prec = 60
        pd = next(Decimal(p) for low, p in PD if score >= low)
        h = 1 - ((1 - pd).ln() / 24).exp()
        lgd, ded = (Decimal(x) for x in PRODUCT_TERMS[product])
        big_p, r = Decimal(principal), Decimal(annual_rate) / 12

        def balance(t: int) -> Decimal:  # closed form B_t
            if r == 0:
                return big_p * (months - t) / months
            g = (1 + r) ** t
            payment = big_p * r * (1 + r) ** months / ((1 + r) ** months - 1)
            return big_p * g - payment * (g - 1) / r

        return [
            (1 - h) ** (t - 1) * h * lgd * (1 - ded) * balance(t - 1) * (1 + r) for t in range(1, months + 1)
        ]


def ref_premium_fen(product: str, principal: str, months: int, annual_rate: str, score: int) -> int:
    with localcontext() as ctx:
        ctx.prec = 60
        el = sum(ref_expected_losses(product, principal, months, annual_rate, score), Decimal(0))
        gross = (el + Decimal("5.00")) / Decimal("0.70")
        return int((gross * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def ref_cost(principal: str, months: int, annual_rate: str, premium_fen: int) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 40
        big_p, r = Decimal(principal), Decimal(annual_rate) / 12
        payment = big_p / months if r == 0 else big_p * r / (1 - (1 + r) ** -months)
        flow = payment + Decimal(premium_fen) / 100 / months

        def pv(i: Decimal) -> Decimal:
            return sum((flow / (1 + i) ** k for k in range(1, months + 1)), Decimal(0))

        lo, hi = Decimal(0), Decimal(5)
        for _ in range(140):
            mid = (lo + hi) / 2
            if pv(mid) > big_p:
                lo = mid
            else:
                hi = mid
        return lo * 12


def ref_schedule(principal: str, months: int, annual_rate: str) -> list[tuple[int, int]]:
    """(principal fen, interest fen) per installment, rounded as DESIGN §4 says, in exact rationals."""
    return exact_schedule(int(Decimal(principal) * 100), months, annual_rate)


# --- helpers --------------------------------------------------------------------------------------


def quote_params(
    product: str = "consumer_installment",
    principal: str = "12999.00",
    months: int = 12,
    rate: str = "0.12",
    score: int | None = 720,
    first_due: str = "2027-02-15",
) -> dict[str, Any]:
    if product == "sme_loan":
        borrower: dict[str, Any] = {
            "type": "enterprise",
            "name": "阳光五金有限公司",
            "uscc": "91110000600037341L",
        }
    else:
        borrower = {"type": "individual", "name": "张三", "id_number": "11010519491231002X"}
    if score is not None:
        borrower["credit_score"] = score
    return {
        "product": product,
        "merchant_order_id": "ORD-1",
        **testing.parties(product),  # a licensed lender as beneficiary where the product needs one
        "borrower": borrower,
        "loan": {
            "principal": {"amount": int(Decimal(principal) * 100), "currency": "CNY"},
            "term_months": months,
            "annual_rate": rate,
            "first_due_date": first_due,
        },
    }


@pytest.fixture
def engine() -> Any:
    e = Engine(now=START)
    yield e
    e.close()


# --- worked cases ---------------------------------------------------------------------------------

CASES = [
    # product, principal, months, rate, score, expected decision
    ("consumer_installment", "12999.00", 12, "0.12", 720, "approved"),
    ("platform_loan", "50000.00", 24, "0.18", 650, "approved"),
    ("sme_loan", "500000.00", 36, "0.08", 700, "approved"),
    ("consumer_installment", "3000.00", 6, "0", 600, "approved"),
    ("platform_loan", "20000.00", 12, "0.10", 600, "approved"),
    ("platform_loan", "20000.00", 12, "0.15", 600, "declined"),  # 24.38%: just over the cap
    ("consumer_installment", "500.00", 3, "0.22", 760, "declined"),  # the ¥5 expense breaks the 24% cap
    ("platform_loan", "200000.00", 36, "0.235", 560, "declined"),  # premium pushes 23.5% over 24%
]


@pytest.mark.parametrize(("product", "principal", "months", "rate", "score", "decision"), CASES)
def test_quote_premium_and_cost_match_an_independent_computation(
    engine: Engine, product: str, principal: str, months: int, rate: str, score: int, decision: str
) -> None:
    quote = engine.create_quote(TENANT, quote_params(product, principal, months, rate, score))
    premium = ref_premium_fen(product, principal, months, rate, score)
    cost = ref_cost(principal, months, rate, premium)
    # a declined quote offers no price (DESIGN §7.3); the cost that explains the decline stays
    assert quote["premium"] == (None if decision == "declined" else {"amount": premium, "currency": "CNY"})
    assert abs(Decimal(quote["comprehensive_cost"]) - cost) <= Decimal("0.0000005")
    assert quote["decision"] == decision
    assert (cost > Decimal("0.24")) == (decision == "declined")
    if decision == "declined":
        assert quote["decline_reason"] == "financing_cost_cap_exceeded"
        assert quote["expires_at"] is None


def test_first_worked_case_by_hand() -> None:
    # 12,999.00 over 12 months at 12%, score 720 (PD 1%): EL ≈ ¥29.06, premium (29.06 + 5) / 0.7.
    priced = pricing.price_loan(
        PRODUCTS["consumer_installment"], 1299900, Decimal("0.12"), 12, dt.date(2027, 2, 15), 720
    )
    assert abs(priced.expected_loss - Decimal("29.0595")) < Decimal("0.0001")
    assert priced.premium == 4866
    assert priced.sum_insured == 1299900 + 86034  # principal + rounded total interest 12 × 1154.9455 − 12999


def test_cost_cap_is_strict_and_a_parameter() -> None:
    priced = pricing.price_loan(
        PRODUCTS["platform_loan"], 20000000, Decimal("0.235"), 36, dt.date(2027, 2, 1), 560
    )
    assert priced.comprehensive_cost is not None and priced.comprehensive_cost > Decimal("0.24")
    assert pricing.comprehensive_cost(Decimal(1200), Decimal("0.24"), 12, Decimal(0)) == Decimal("0.24")


def test_score_below_threshold_is_declined_with_no_premium_but_its_cost(engine: Engine) -> None:
    quote = engine.create_quote(TENANT, quote_params(score=559))
    assert quote["decision"] == "declined"
    assert quote["decline_reason"] == "credit_score_below_threshold"
    assert quote["premium"] is None  # a price that is not offered is not shown (DESIGN §7.3)
    premium = ref_premium_fen("consumer_installment", "12999.00", 12, "0.12", 559)
    cost = ref_cost("12999.00", 12, "0.12", premium)
    assert abs(Decimal(quote["comprehensive_cost"]) - cost) <= Decimal("0.0000005")


@pytest.mark.parametrize(
    ("principal", "months"), [("99.99", 12), ("200000.01", 12), ("1000.00", 2), ("1000.00", 37)]
)
def test_outside_limits_is_declined_with_schedule_and_no_premium(
    engine: Engine, principal: str, months: int
) -> None:
    quote = engine.create_quote(TENANT, quote_params(principal=principal, months=months))
    assert quote["decision"] == "declined"
    assert quote["decline_reason"] == "outside_product_limits"
    assert quote["premium"] is None
    assert len(quote["schedule"]) == months
    assert quote["sum_insured"]["amount"] == sum(i["amount"]["amount"] for i in quote["schedule"])


def test_limits_come_before_the_score(engine: Engine) -> None:
    quote = engine.create_quote(TENANT, quote_params(product="sme_loan", principal="9999.99", score=400))
    assert quote["decline_reason"] == "outside_product_limits"


def test_hazard_band_edges() -> None:
    assert pricing.pd_two_year(519) == Decimal("0.410")
    assert pricing.pd_two_year(520) == Decimal("0.284")
    assert pricing.pd_two_year(719) == Decimal("0.044")
    assert pricing.pd_two_year(720) == Decimal("0.010")
    h = pricing.monthly_hazard(720)
    with localcontext() as ctx:
        ctx.prec = 60
        assert abs((1 - h) ** 24 - Decimal("0.99")) < Decimal("1e-45")


# --- the borrower's schedule ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("principal", "months", "rate"),
    [("12999.00", 12, "0.12"), ("100.00", 3, "0"), ("777.77", 7, "0.0999"), ("500000.00", 36, "0.08")],
)
def test_borrower_schedule_rounds_each_line_and_puts_remainders_last(
    principal: str, months: int, rate: str
) -> None:
    lines = pricing.borrower_schedule(Decimal(principal), Decimal(rate), months, dt.date(2027, 3, 5))
    assert [(x.principal, x.interest) for x in lines] == ref_schedule(principal, months, rate)
    assert sum(x.principal for x in lines) == int(Decimal(principal) * 100)


def test_zero_rate_schedule_puts_the_odd_fen_last() -> None:
    lines = pricing.borrower_schedule(Decimal("100.00"), Decimal(0), 3, dt.date(2027, 3, 5))
    assert [(x.principal, x.interest, x.amount) for x in lines] == [
        (3333, 0, 3333),
        (3333, 0, 3333),
        (3334, 0, 3334),
    ]


def test_sum_insured_is_the_rounded_schedule(engine: Engine) -> None:
    quote = engine.create_quote(TENANT, quote_params(principal="777.77", months=7, rate="0.0999"))
    rows = ref_schedule("777.77", 7, "0.0999")
    assert quote["sum_insured"]["amount"] == sum(p + i for p, i in rows)
    assert [(x["principal"]["amount"], x["interest"]["amount"]) for x in quote["schedule"]] == rows


@pytest.mark.parametrize(
    ("first", "expected"),
    [
        ("2027-01-31", ["2027-01-31", "2027-02-28", "2027-03-31", "2027-04-30"]),
        ("2028-01-31", ["2028-01-31", "2028-02-29", "2028-03-31", "2028-04-30"]),
        ("2027-11-30", ["2027-11-30", "2027-12-30", "2028-01-30", "2028-02-29"]),
    ],
)
def test_due_dates_clip_to_the_end_of_the_month(first: str, expected: list[str]) -> None:
    dates = pricing.due_dates(dt.date.fromisoformat(first), 4)
    assert [d.isoformat() for d in dates] == expected


def test_quote_schedule_uses_clipped_due_dates(engine: Engine) -> None:
    quote = engine.create_quote(TENANT, quote_params(months=3, first_due="2028-01-31"))
    assert [i["due_date"] for i in quote["schedule"]] == ["2028-01-31", "2028-02-29", "2028-03-31"]


# --- refunds and claims as pure functions ---------------------------------------------------------


def test_refund_rounds_down_to_the_fen() -> None:
    assert pricing.unearned_refund(1001, Decimal("0.5")) == 500
    assert pricing.unearned_refund(999, Decimal("0.0000001")) == 998
    assert pricing.unearned_refund(4866, Decimal(0)) == 4866


def test_earned_share_weights_periods_by_expected_loss() -> None:
    bind = dt.date(2027, 1, 1)
    dues = [dt.date(2027, 2, 1), dt.date(2027, 3, 1)]
    losses = [Decimal(3), Decimal(1)]
    assert pricing.earned_share(bind, dues, losses, bind) == 0
    assert pricing.earned_share(bind, dues, losses, dt.date(2027, 2, 1)) == Decimal("0.75")
    # 14 of 28 days of February: 3 + 1 × 14/28 over 4
    assert pricing.earned_share(bind, dues, losses, dt.date(2027, 2, 15)) == Decimal("0.875")
    assert pricing.earned_share(bind, dues, losses, dt.date(2027, 3, 1)) == 1


def test_recovery_is_half_up() -> None:
    assert pricing.recovery_amount(1015829, Decimal("0.80")) == 203166  # 203165.8
    assert pricing.recovery_amount(5, Decimal("0.90")) == 1  # 0.5 → 1


def test_claim_includes_interest_due_on_day_d_but_not_after() -> None:
    lines = [
        pricing.ScheduleLine(1, dt.date(2027, 1, 15), 1000, 100),
        pricing.ScheduleLine(2, dt.date(2027, 2, 15), 1000, 50),
        pricing.ScheduleLine(3, dt.date(2027, 3, 15), 1000, 25),
    ]
    assert pricing.claim_amount(lines, {1}, dt.date(2027, 2, 15), Decimal(0), 3175) == 2050
    assert pricing.claim_amount(lines, set(), dt.date(2027, 2, 14), Decimal(0), 3175) == 3100
    assert pricing.claim_amount(lines, set(), dt.date(2027, 2, 14), Decimal("0.1"), 3175) == 2790
    assert pricing.claim_amount(lines, set(), dt.date(2027, 4, 1), Decimal(0), 3000) == 3000  # capped
    assert (
        pricing.claim_amount(
            [pricing.ScheduleLine(1, dt.date(2027, 1, 1), 5, 0)],
            set(),
            dt.date(2027, 4, 1),
            Decimal("0.1"),
            5,
        )
        == 5
    )  # 4.5 → 5
