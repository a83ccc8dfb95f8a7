"""Endorsements (批改, DESIGN §7.4): a partial return lowers the loan, re-amortises the rest and
refunds the unearned premium of the returned share; later cancels and settles refund from the share
in force."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.consent import consent_now
from yangguang_sdk.sandbox import pricing
from yangguang_sdk.sandbox.engine import Engine
from yangguang_sdk.sandbox.errors import Conflict, Invalid

from .test_engine import START, T, check_ledger
from .test_pricing import quote_params, ref_expected_losses

DAY = dt.timedelta(days=1)
PRINCIPAL, MONTHS, RATE, SCORE = "6000.00", 6, "0.12", 720


@pytest.fixture
def engine() -> Iterator[Engine]:
    e = Engine(now=START)
    yield e
    e.close()


def bind(engine: Engine, *, method: str = "equal_installment") -> dict[str, Any]:
    params = quote_params(principal=PRINCIPAL, months=MONTHS, rate=RATE, score=SCORE)
    params["loan"]["repayment_method"] = method
    quote = engine.create_quote(T, params)
    return engine.bind_policy(T, quote["id"], consent_now(engine, T))


def pay(engine: Engine, policy: dict[str, Any], n: int) -> None:
    line = engine.get_policy(T, policy["id"])["installments"][n - 1]
    engine.create_repayment(
        T, {"policy_id": policy["id"], "installment": n, "amount": line["amount"], "paid_at": engine.now(T)}
    )


def to_due(engine: Engine, policy: dict[str, Any], n: int) -> None:
    """Move the clock to installment n's due date (00:00) and pay it."""
    due = dt.date.fromisoformat(policy["installments"][n - 1]["due_date"])
    target = dt.datetime(due.year, due.month, due.day, tzinfo=dt.timezone.utc)
    engine.advance(T, target - engine.now(T))
    pay(engine, policy, n)


def endorse(engine: Engine, policy: dict[str, Any], fen: int, preview: bool = False) -> dict[str, Any]:
    return engine.endorse_policy(
        T, policy["id"], {"principal_reduction": {"amount": fen, "currency": "CNY"}, "preview": preview}
    )


def fen(money: dict[str, Any]) -> int:
    return int(money["amount"])


def e_of(policy: dict[str, Any], on: dt.date) -> Fraction:
    """e(d) independently: the reference EL weights of test_pricing, as exact rationals."""
    losses = [
        Fraction(x) for x in ref_expected_losses("consumer_installment", PRINCIPAL, MONTHS, RATE, SCORE)
    ]
    dues = [dt.date.fromisoformat(line["due_date"]) for line in policy["installments"]]
    starts = [START.date(), *dues[:-1]]
    earned = sum(
        (
            loss if due <= on else loss * Fraction((on - s).days, (due - s).days) if s <= on else Fraction(0)
            for s, due, loss in zip(starts, dues, losses, strict=True)
        ),
        Fraction(0),
    )
    return earned / sum(losses)


def test_an_endorsement_re_amortises_the_rest_and_refunds_the_returned_share(engine: Engine) -> None:
    policy = bind(engine)
    to_due(engine, policy, 1)
    before = engine.get_policy(T, policy["id"])
    outstanding = sum(fen(line["principal"]) for line in before["installments"][1:])
    result = endorse(engine, policy, 200_000)
    assert result["id"].startswith("end_") and result["type"] == "principal_reduction"
    assert result["effective_date"] == engine.now(T).date().isoformat()
    fresh = pricing.borrower_schedule(
        pricing.fen_to_yuan(outstanding - 200_000), Decimal(RATE), MONTHS - 1, dt.date(2027, 1, 1)
    )
    after = engine.get_policy(T, policy["id"])
    remaining = after["installments"][1:]
    assert [fen(line["principal"]) for line in remaining] == [line.principal for line in fresh]
    assert [fen(line["interest"]) for line in remaining] == [line.interest for line in fresh]
    assert [line["due_date"] for line in remaining] == [
        line["due_date"] for line in before["installments"][1:]
    ]
    assert sum(fen(line["principal"]) for line in remaining) == outstanding - 200_000
    assert after["installments"][0] == before["installments"][0]
    assert fen(after["sum_insured"]) == sum(fen(line["amount"]) for line in after["installments"])
    assert result["schedule"] == [{**line, "days_past_due": 0} for line in after["installments"]]
    # past the cooling-off period: premium × f × (1 − e(d)) × A / B_k, rounded down, f = 1
    e = e_of(before, engine.now(T).date())
    expected = math.floor(fen(policy["premium"]) * (1 - e) * Fraction(200_000, outstanding))
    assert fen(result["premium_refund"]) == expected
    assert fen(after["refunded_total"]) == expected and after["refund"] is None
    [event] = engine.list_events(T, type="policy.endorsed")["data"]
    assert event["data"] == after and event["endorsement"] == result
    [entry] = [x for x in engine.ledger(T)["entries"] if x.get("endorsement_id") == result["id"]]
    assert entry["lines"][0] == {"account": "premium_refunds", "debit": expected, "credit": 0}
    check_ledger(engine, T)


def test_a_preview_changes_nothing(engine: Engine) -> None:
    policy = bind(engine)
    to_due(engine, policy, 1)
    before = (engine.get_policy(T, policy["id"]), engine.list_events(T, limit=100), engine.ledger(T))
    preview = endorse(engine, policy, 150_000, preview=True)
    assert preview["preview"] is True and preview["id"] is None
    assert (engine.get_policy(T, policy["id"]), engine.list_events(T, limit=100), engine.ledger(T)) == before
    done = endorse(engine, policy, 150_000)
    assert {k: v for k, v in done.items() if k not in ("id", "preview")} == {
        k: v for k, v in preview.items() if k not in ("id", "preview")
    }


def test_inside_cooling_off_an_endorsement_and_a_cancel_return_the_whole_premium(engine: Engine) -> None:
    policy = bind(engine)
    engine.advance(T, 3 * DAY)
    premium = fen(policy["premium"])
    result = endorse(engine, policy, 100_000)
    assert fen(result["premium_refund"]) == math.floor(premium * Fraction(100_000, 600_000))
    cancelled = engine.cancel_policy(T, policy["id"], reason="order_refunded")
    assert fen(cancelled["refund"]) == premium - fen(result["premium_refund"])
    assert fen(cancelled["refunded_total"]) == premium
    check_ledger(engine, T)


def test_a_later_settle_refunds_from_the_share_in_force(engine: Engine) -> None:
    policy = bind(engine)
    to_due(engine, policy, 1)
    b1 = sum(fen(line["principal"]) for line in policy["installments"][1:])
    endorse(engine, policy, 100_000)
    engine.advance(T, 10 * DAY)
    settled_on = engine.now(T).date() - 2 * DAY
    settled = engine.settle_policy(T, policy["id"], settled_on=settled_on)
    f = Fraction(b1 - 100_000, b1)
    assert fen(settled["refund"]) == math.floor(fen(policy["premium"]) * f * (1 - e_of(policy, settled_on)))
    check_ledger(engine, T)


def test_a_claim_after_an_endorsement_uses_the_new_schedule(engine: Engine) -> None:
    policy = bind(engine)
    to_due(engine, policy, 1)
    endorse(engine, policy, 300_000)
    after = engine.get_policy(T, policy["id"])
    engine.advance(T, 120 * DAY)
    [claim] = engine.list_claims(T)["data"]
    day_d = dt.date.fromisoformat(claim["default_date"])
    unpaid = after["installments"][1:]
    expected = sum(fen(line["principal"]) for line in unpaid) + sum(
        fen(line["interest"]) for line in unpaid if dt.date.fromisoformat(line["due_date"]) <= day_d
    )
    assert fen(claim["amount"]) == min(expected, fen(after["sum_insured"]))
    check_ledger(engine, T)


def test_refusals(engine: Engine) -> None:
    policy, other, third = bind(engine), bind(engine), bind(engine)
    engine.cancel_policy(T, third["id"], reason="x")
    with pytest.raises(Conflict) as cancelled:
        endorse(engine, third, 10_000)
    assert cancelled.value.code == "policy_not_endorsable"
    with pytest.raises(Invalid) as too_much:
        endorse(engine, policy, 600_000)  # the whole balance: settle instead
    assert (too_much.value.code, too_much.value.param) == ("invalid_parameter", "principal_reduction")
    with pytest.raises(Invalid) as zero:
        endorse(engine, policy, 0)
    assert zero.value.param == "principal_reduction"
    pay(engine, policy, 2)  # paid ahead of installment 1
    with pytest.raises(Conflict) as ahead:
        endorse(engine, policy, 10_000)
    assert ahead.value.code == "policy_not_endorsable" and policy["id"] in ahead.value.message
    engine.advance(T, 40 * DAY)  # installment 1 is due and unpaid
    with pytest.raises(Conflict) as due:
        endorse(engine, other, 10_000)
    assert due.value.code == "policy_not_endorsable"
    engine.advance(T, 100 * DAY)  # defaulted: a claim
    with pytest.raises(Conflict) as claimed:
        endorse(engine, other, 10_000)
    assert claimed.value.code == "policy_not_endorsable"


@settings(max_examples=25, deadline=None)
@given(days=st.integers(0, 170), reduction=st.integers(1, 599_999))
def test_an_endorsement_and_a_cancel_on_one_day_refund_what_a_plain_cancel_would(
    days: int, reduction: int
) -> None:
    """To the fen: each refund is rounded down on its own, so the two may together be one fen below
    the plain cancel's, never above; inside the cooling-off period they are the whole premium."""
    refunds = []
    for endorse_first in (True, False):
        engine = Engine(now=START)
        try:
            policy = bind(engine)
            paid = 0
            for n, line in enumerate(policy["installments"], 1):
                if dt.date.fromisoformat(line["due_date"]) <= (START + days * DAY).date():
                    to_due(engine, policy, n)
                    paid = n
            if paid == MONTHS:
                return
            engine.advance(T, START + days * DAY - engine.now(T))
            outstanding = sum(fen(x["principal"]) for x in policy["installments"][paid:])
            total = 0
            if endorse_first:
                total += fen(endorse(engine, policy, 1 + reduction % (outstanding - 1))["premium_refund"])
            cancelled = engine.cancel_policy(T, policy["id"], reason="x")
            total += fen(cancelled["refund"])
            assert total == fen(cancelled["refunded_total"]) <= fen(policy["premium"])
            check_ledger(engine, T)
            refunds.append(
                (total, engine.now(T).date() <= dt.date.fromisoformat(policy["cooling_off_until"]))
            )
        finally:
            engine.close()
    (with_endorsement, cooling), (plain, _) = refunds
    assert plain - 1 <= with_endorsement <= plain
    if cooling:
        assert with_endorsement == plain


@settings(max_examples=30, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(["pay", "endorse", "wait", "cancel", "settle"]), st.integers(1, 10**6)),
        max_size=12,
    )
)
def test_random_servicing_keeps_the_books_and_the_schedule(steps: list[tuple[str, int]]) -> None:
    engine = Engine(now=START)
    try:
        policy = bind(engine)
        premium = fen(policy["premium"])
        reduced = 0
        for action, x in steps:
            current = engine.get_policy(T, policy["id"])
            unpaid = [line for line in current["installments"] if line["status"] != "paid"]
            try:
                if action == "pay" and unpaid:
                    pay(engine, policy, unpaid[0]["installment"])
                elif action == "endorse" and unpaid:
                    outstanding = sum(fen(line["principal"]) for line in unpaid)
                    if outstanding > 1:
                        amount = 1 + x % (outstanding - 1)
                        endorse(engine, policy, amount)
                        reduced += amount
                elif action == "wait":
                    engine.advance(T, (x % 40) * DAY)
                elif action == "cancel":
                    engine.cancel_policy(T, policy["id"], reason="x")
                elif action == "settle":
                    engine.settle_policy(T, policy["id"])
            except (Conflict, Invalid):
                pass
            now = engine.get_policy(T, policy["id"])
            lines = now["installments"]
            assert sum(fen(line["principal"]) for line in lines) == 600_000 - reduced
            assert fen(now["sum_insured"]) == sum(fen(line["amount"]) for line in lines)
            assert 0 <= fen(now["refunded_total"]) <= premium
            totals = check_ledger(engine, T)
            assert totals["refunds"] == fen(now["refunded_total"])
    finally:
        engine.close()
