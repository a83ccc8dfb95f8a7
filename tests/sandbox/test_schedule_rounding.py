"""The borrower's schedule rounds exact half-fen ties up: checked against exact rational arithmetic.

The reference here uses ``fractions.Fraction`` and the balance recurrence of DESIGN §4 as written
(r = annual_rate / 12, interest_t = B_{t−1}·r, B_t = B_{t−1} − (payment − interest_t)), where
``sandbox/pricing.py`` uses closed forms in integers. Nothing is ever rounded before the fen.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from yangguang_sdk.sandbox import pricing
from yangguang_sdk.sandbox.engine import Engine

START = dt.datetime(2027, 1, 10, 9, 0, tzinfo=dt.timezone.utc)
FIRST_DUE = dt.date(2027, 2, 15)


def half_up(x: Fraction) -> int:
    """x rounded half-up to an integer (a tie away from zero), exactly."""
    magnitude = int(abs(x) + Fraction(1, 2))  # int() truncates, and abs(x) + ½ ≥ 0
    return magnitude if x >= 0 else -magnitude


def exact_schedule(principal_fen: int, months: int, annual_rate: str) -> list[tuple[int, int]]:
    """(principal fen, interest fen) per installment, in exact rationals, rounded as DESIGN §4 says."""
    principal = Fraction(principal_fen, 100)
    r = Fraction(annual_rate) / 12
    payment = principal / months if r == 0 else principal * r / (1 - (1 + r) ** -months)
    rows, balance = [], principal
    for _ in range(months - 1):
        interest = balance * r
        rows.append((half_up((payment - interest) * 100), half_up(interest * 100)))
        balance -= payment - interest
    total_interest = half_up((payment * months - principal) * 100)
    rows.append((principal_fen - sum(p for p, _ in rows), total_interest - sum(i for _, i in rows)))
    return rows


def sandbox_schedule(principal_fen: int, months: int, annual_rate: str) -> list[tuple[int, int]]:
    lines = pricing.borrower_schedule(
        Decimal(principal_fen).scaleb(-2), Decimal(annual_rate), months, FIRST_DUE
    )
    return [(line.principal, line.interest) for line in lines]


# --- the two loans that showed it -----------------------------------------------------------------


def test_a_first_interest_of_exactly_half_a_fen_rounds_up() -> None:
    # ¥300.00 × 0.0022 / 12 = ¥0.055 exactly: 5.5 fen → 6.
    assert sandbox_schedule(30000, 3, "0.0022")[0] == (9998, 6)
    assert sandbox_schedule(30000, 3, "0.0022") == exact_schedule(30000, 3, "0.0022")


def test_a_tie_on_a_larger_loan_rounds_up_too() -> None:
    # ¥47,532.00 × 0.025 / 12 = ¥99.025 exactly: 9902.5 fen → 9903.
    rows = sandbox_schedule(4753200, 27, "0.025")
    assert rows[0][1] == 9903
    assert rows == exact_schedule(4753200, 27, "0.025")
    assert sum(p for p, _ in rows) == 4753200


@pytest.mark.parametrize(
    ("principal_fen", "months", "rate", "interest_1"),
    [(30000, 3, "0.0022", 6), (4753200, 27, "0.025", 9903)],
)
def test_the_quote_shows_the_tie_rounded_up(
    principal_fen: int, months: int, rate: str, interest_1: int
) -> None:
    engine = Engine(now=START)
    try:
        quote = engine.create_quote("yg_test_rounding", quote_params(principal_fen, months, rate))
    finally:
        engine.close()
    schedule = [(i["principal"]["amount"], i["interest"]["amount"]) for i in quote["schedule"]]
    assert schedule[0][1] == interest_1
    assert schedule == exact_schedule(principal_fen, months, rate)
    assert quote["sum_insured"]["amount"] == sum(p + i for p, i in schedule)


def quote_params(principal_fen: int, months: int, rate: str) -> dict[str, Any]:
    return {
        "product": "consumer_installment",
        "merchant_order_id": "ORD-TIE",
        "borrower": {
            "type": "individual",
            "name": "张三",
            "id_number": "11010519491231002X",
            "credit_score": 720,
        },
        "loan": {
            "principal": {"amount": principal_fen, "currency": "CNY"},
            "term_months": months,
            "annual_rate": rate,
            "first_due_date": FIRST_DUE.isoformat(),
        },
    }


# --- many loans -----------------------------------------------------------------------------------


@st.composite
def rates(draw: st.DrawFn) -> str:
    """An annual rate with 1–6 decimals from 0 to 36%, tiny ones (0.0022, 0.000001) included."""
    places = draw(st.integers(1, 6))
    most = 36 * 10**places // 100
    units = draw(st.one_of(st.integers(0, most), st.integers(0, min(30, most))))
    return str(Decimal(units).scaleb(-places))


def tie_principal(rate: str, multiple: int) -> int | None:
    """A principal in fen (¥100 – ¥200,000) whose first interest is an exact half fen, if any."""
    a, d = Fraction(rate).as_integer_ratio()
    # The first interest in fen is F·a / q with q = 12·d; a half fen means 2·a·F ≡ q (mod 2·q).
    q = 12 * d
    g = math.gcd(2 * a, 2 * q)
    if a == 0 or q % g:
        return None  # no principal ties at this rate
    step = 2 * q // g
    first = q // g * pow(2 * a // g, -1, step) % step
    principal = first + step * ((10_000 - first + step - 1) // step + multiple % 1000)
    return principal if principal <= 20_000_000 else None


@st.composite
def loans(draw: st.DrawFn) -> tuple[int, int, str]:
    rate = draw(rates())
    months = draw(st.integers(3, 36))
    principal = draw(st.integers(10_000, 20_000_000))
    if draw(st.booleans()):  # half the loans are built to have an exact tie in installment 1
        principal = tie_principal(rate, draw(st.integers(0, 10**6))) or principal
    return principal, months, rate


@settings(max_examples=400, deadline=None)
@given(loans())
@example((30000, 3, "0.0022"))
@example((4753200, 27, "0.025"))
@example((10000, 3, "0"))
@example((20_000_000, 36, "0.36"))
def test_every_installment_matches_exact_rational_arithmetic(loan: tuple[int, int, str]) -> None:
    principal_fen, months, rate = loan
    rows = sandbox_schedule(principal_fen, months, rate)
    assert rows == exact_schedule(principal_fen, months, rate)
    assert sum(p for p, _ in rows) == principal_fen


@given(st.sampled_from(["0.0022", "0.025", "0.0999", "0.12", "0.000001"]), st.integers(0, 10**6))
def test_the_tie_generator_makes_ties(rate: str, multiple: int) -> None:
    principal = tie_principal(rate, multiple)
    if principal is not None:
        interest_fen = Fraction(principal) * Fraction(rate) / 12
        assert interest_fen.denominator == 2
