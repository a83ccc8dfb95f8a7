"""Servicing on the clock: repayments, overdue and cured installments, default, claims, recovery."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from yangguang_sdk.sandbox import clock as clock_module
from yangguang_sdk.sandbox.app import error_status
from yangguang_sdk.sandbox.engine import Engine
from yangguang_sdk.sandbox.errors import Conflict, Invalid
from yangguang_sdk.types import Claim, Repayment, parse_event

from .test_engine import START, T, bound_policy, check_ledger
from .test_pricing import quote_params, ref_schedule

UTC = dt.timezone.utc
DAY = dt.timedelta(days=1)
SECOND = dt.timedelta(seconds=1)


@pytest.fixture
def engine() -> Iterator[Engine]:
    e = Engine(now=START)
    yield e
    e.close()


def pay(engine: Engine, policy: dict[str, Any], n: int, paid_at: str | None = None) -> dict[str, Any]:
    return engine.create_repayment(
        T,
        {
            "policy_id": policy["id"],
            "installment": n,
            "amount": policy["installments"][n - 1]["amount"],
            "paid_at": paid_at or engine.clock(T)["now"],
        },
    )


def advance_to(engine: Engine, when: dt.datetime) -> None:
    engine.advance(T, when - engine.now(T))


def at_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=UTC)


def event_types(engine: Engine) -> list[str]:
    return [e["type"] for e in engine.list_events(T, limit=100)["data"]]


# --- repayments -----------------------------------------------------------------------------------


def test_repayment_marks_the_installment_paid(engine: Engine) -> None:
    policy = bound_policy(engine)
    repayment = pay(engine, policy, 1)
    Repayment.model_validate(repayment)
    assert repayment["id"].startswith("rep_") and repayment["amount"] == policy["installments"][0]["amount"]
    after = engine.get_policy(T, policy["id"])
    assert after["installments"][0]["status"] == "paid" and after["version"] == 2
    assert engine.list_repayments(T, policy_id=policy["id"])["data"] == [repayment]
    assert event_types(engine) == ["policy.bound", "repayment.created"]


def test_repayment_validation(engine: Engine) -> None:
    policy = bound_policy(engine)
    amount = policy["installments"][0]["amount"]
    base = {"policy_id": policy["id"], "installment": 1, "amount": amount, "paid_at": "2027-01-10T09:00:00Z"}
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"amount": {"amount": amount["amount"] + 1, "currency": "CNY"}}, "amount_mismatch", "amount"),
        ({"installment": 13}, "installment_not_found", "installment"),
        ({"paid_at": "2027-01-10T09:00:00"}, "invalid_parameter", "paid_at"),
    ]
    for change, code, param in cases:
        with pytest.raises(Invalid) as err:
            engine.create_repayment(T, {**base, **change})
        assert (error_status(err.value), err.value.code, err.value.param) == (422, code, param)
    engine.create_repayment(T, base)
    with pytest.raises(Conflict) as conflict:
        engine.create_repayment(T, base)
    assert conflict.value.code == "installment_already_paid"
    engine.cancel_policy(T, policy["id"], reason="x")
    with pytest.raises(Conflict) as conflict:
        engine.create_repayment(T, {**base, "installment": 2, "amount": policy["installments"][1]["amount"]})
    assert conflict.value.code == "policy_not_active"


def test_paying_every_installment_completes_the_policy(engine: Engine) -> None:
    policy = bound_policy(engine, months=3)
    for n in (1, 2, 3):
        pay(engine, policy, n)
    done = engine.get_policy(T, policy["id"])
    assert done["status"] == "completed" and done["refund"] is None and done["version"] == 5
    assert event_types(engine)[-1] == "policy.completed"
    engine.advance(T, 400 * DAY)
    assert engine.list_claims(T)["data"] == []
    assert engine.get_policy(T, policy["id"]) == done


# --- overdue and cure -----------------------------------------------------------------------------


def test_an_unpaid_installment_is_overdue_the_day_after_its_due_date(engine: Engine) -> None:
    policy = bound_policy(engine)  # installment 1 due 2027-02-15
    advance_to(engine, at_midnight(dt.date(2027, 2, 16)) - SECOND)
    assert engine.get_policy(T, policy["id"])["installments"][0]["status"] == "scheduled"
    engine.advance(T, SECOND)
    current = engine.get_policy(T, policy["id"])
    assert (current["installments"][0]["status"], current["installments"][0]["days_past_due"]) == (
        "overdue",
        1,
    )
    event = engine.list_events(T, type="installment.overdue")["data"][0]
    assert event["timestamp"] == "2027-02-16T00:00:00Z" and event["installment"] == 1
    assert event["data"]["version"] == 2
    parse_event(event)
    engine.advance(T, 10 * DAY)
    assert engine.get_policy(T, policy["id"])["installments"][0]["days_past_due"] == 11
    with pytest.raises(Conflict) as err:
        engine.cancel_policy(T, policy["id"], reason="x")
    assert err.value.code == "policy_not_cancellable"
    with pytest.raises(Conflict):
        engine.settle_policy(T, policy["id"])


def test_a_late_repayment_cures_the_installment(engine: Engine) -> None:
    policy = bound_policy(engine)
    engine.advance(T, 40 * DAY)
    pay(engine, policy, 1)
    cured = engine.get_policy(T, policy["id"])
    assert cured["installments"][0]["status"] == "paid" and cured["installments"][0]["days_past_due"] == 0
    [event] = engine.list_events(T, type="installment.cured")["data"]
    assert event["installment"] == 1 and event["data"] == cured
    assert engine.cancel_policy(T, policy["id"], reason="x")["status"] == "cancelled"


# --- default and claim ----------------------------------------------------------------------------


def ref_claim(
    principal: str, months: int, rate: str, first_due: dt.date, k: int, day_d: dt.date, ded: str
) -> int:
    """Claim of a borrower who paid installments 1..k, on day D, written out independently."""
    rows = ref_schedule(principal, months, rate)
    dues = []
    for t in range(months):
        y, m = divmod(first_due.month - 1 + t, 12)
        dues.append(dt.date(first_due.year + y, m + 1, first_due.day))  # day 15: no clipping needed
    base = sum(p for p, _ in rows[k:]) + sum(
        i for (_, i), due in zip(rows[k:], dues[k:], strict=True) if due <= day_d
    )
    amount = min(Decimal(base) * (1 - Decimal(ded)), Decimal(sum(p + i for p, i in rows)))
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


CLAIM_CASES = [
    # product, principal, months, rate, score, k paid, waiting days, deductible, LGD, first due date
    ("consumer_installment", "12999.00", 12, "0.12", 720, 3, 80, "0", "0.80", "2027-02-15"),
    ("consumer_installment", "5000.00", 6, "0.18", 650, 0, 80, "0", "0.80", "2027-02-15"),
    ("sme_loan", "300000.00", 12, "0.08", 700, 2, 90, "0.10", "0.60", "2027-02-15"),
    ("sme_loan", "10000.00", 6, "0.10", 760, 5, 90, "0.10", "0.60", "2027-02-15"),
    # 2028-12-15 + 90 days = 2029-03-15, the due date of installment 4: its interest is claimed
    ("sme_loan", "50000.00", 12, "0.10", 700, 0, 90, "0.10", "0.60", "2028-12-15"),
]


@pytest.mark.parametrize(
    ("product", "principal", "months", "rate", "score", "k", "wait", "ded", "lgd", "first"), CLAIM_CASES
)
def test_a_borrower_who_stops_after_installment_k_gets_a_claim_on_day_d(
    engine: Engine,
    product: str,
    principal: str,
    months: int,
    rate: str,
    score: int,
    k: int,
    wait: int,
    ded: str,
    lgd: str,
    first: str,
) -> None:
    first_due = dt.date.fromisoformat(first)
    policy = bound_policy(
        engine, product=product, principal=principal, months=months, rate=rate, score=score, first_due=first
    )
    for n in range(1, k + 1):
        pay(engine, policy, n)
    due_unpaid = dt.date.fromisoformat(policy["installments"][k]["due_date"])
    day_d = due_unpaid + dt.timedelta(days=wait)

    advance_to(engine, at_midnight(day_d) - SECOND)  # the last second of D − 1: no default yet
    assert engine.list_claims(T)["data"] == []
    assert engine.get_policy(T, policy["id"])["claim_id"] is None
    engine.advance(T, SECOND)

    [claim] = engine.list_claims(T)["data"]
    Claim.model_validate(claim)
    expected = ref_claim(principal, months, rate, first_due, k, day_d, ded)
    assert claim["amount"]["amount"] == expected
    assert claim["status"] == "open" and claim["opened_at"] == f"{day_d}T00:00:00Z"
    defaulted = engine.list_events(T, type="loan.defaulted")["data"]
    assert [(e["timestamp"], e["installment"]) for e in defaulted] == [(f"{day_d}T00:00:00Z", k + 1)]
    assert engine.get_policy(T, policy["id"])["status"] == "active"
    with pytest.raises(Conflict) as err:
        engine.cancel_policy(T, policy["id"], reason="x")
    assert err.value.code == "policy_claimed" and policy["id"] in err.value.message
    with pytest.raises(Conflict) as err:
        pay(engine, policy, k + 1)
    assert err.value.code == "policy_not_active"

    engine.advance(T, DAY)
    assert engine.get_claim(T, claim["id"])["status"] == "approved"
    engine.advance(T, 3 * DAY)
    paid = engine.get_claim(T, claim["id"])
    assert paid["status"] == "paid" and paid["paid_at"] == f"{day_d + 4 * DAY}T00:00:00Z"
    assert engine.get_policy(T, policy["id"])["status"] == "claimed"
    totals = check_ledger(engine, T)
    assert totals["claims_paid"] == expected

    engine.advance(T, 30 * DAY)
    recovered = engine.get_claim(T, claim["id"])
    recovery = int((Decimal(expected) * (1 - Decimal(lgd))).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert recovered["recovered"] == {"amount": recovery, "currency": "CNY"}
    assert recovered["recovered_at"] == f"{day_d + 34 * DAY}T00:00:00Z"
    assert recovered["version"] == 4
    # days past due stop growing at the default
    assert engine.get_policy(T, policy["id"])["installments"][k]["days_past_due"] == wait
    totals = check_ledger(engine, T)
    assert totals["insurer_balance"] == policy["premium"]["amount"] - expected + recovery
    claim_events = [
        e for e in engine.list_events(T, limit=100)["data"] if e["type"].startswith(("claim.", "recovery."))
    ]
    assert [(e["type"], e["data"]["version"]) for e in claim_events] == [
        ("claim.opened", 1),
        ("claim.approved", 2),
        ("claim.paid", 3),
        ("recovery.received", 4),
    ]


def test_a_cure_on_the_last_day_prevents_the_default(engine: Engine) -> None:
    policy = bound_policy(engine, months=3)
    day_d = dt.date(2027, 2, 15) + dt.timedelta(days=80)
    advance_to(engine, at_midnight(day_d) - SECOND)
    pay(engine, policy, 1)
    engine.advance(T, SECOND)
    assert engine.list_claims(T)["data"] == []
    # installment 2 (due 2027-03-15) is still unpaid: its own day D comes later
    advance_to(engine, at_midnight(dt.date(2027, 3, 15) + dt.timedelta(days=80)) - SECOND)
    assert engine.list_claims(T)["data"] == []
    engine.advance(T, SECOND)
    [claim] = engine.list_claims(T)["data"]
    assert claim["installment"] == 2


def test_no_claim_on_a_cancelled_policy(engine: Engine) -> None:
    policy = bound_policy(engine)
    engine.cancel_policy(T, policy["id"], reason="x")
    engine.advance(T, 500 * DAY)
    assert engine.list_claims(T)["data"] == []
    # (and January's statement, with the premium and its refund, is final on February 1)
    assert event_types(engine) == ["policy.bound", "policy.cancelled", "statement.finalized"]


# --- the clock's step size does not matter --------------------------------------------------------


def lifetime(step: dt.timedelta, steps: int) -> dict[str, Any]:
    """A year of a small book: a good payer, a stopper, a late payer, a cancellation, a referral."""
    engine = Engine(now=START)
    good = bound_policy(engine, months=6)
    stopper = bound_policy(engine, product="sme_loan", principal="200000.00", score=700)
    late = bound_policy(engine, product="platform_loan", principal="8000.00", rate="0.10", months=6)
    cancelled = bound_policy(engine)
    engine.create_quote(T, quote_params(score=None))
    for n in range(1, 7):
        pay(engine, good, n, "2027-01-10T09:00:00Z")
    pay(engine, stopper, 1)
    engine.cancel_policy(T, cancelled["id"], reason="x")
    engine.advance(T, 40 * DAY)
    pay(engine, late, 1)
    for _ in range(steps):
        engine.advance(T, step)
    events: list[dict[str, Any]] = []
    page = engine.list_events(T, limit=100)
    events.extend(page["data"])
    while page["has_more"]:
        page = engine.list_events(T, limit=100, starting_after=page["next_cursor"])
        events.extend(page["data"])
    result = {
        "events": events,
        "ledger": engine.ledger(T),
        "policies": engine.list_policies(T, limit=100),
        "claims": engine.list_claims(T, limit=100),
        "clock": engine.clock(T),
    }
    engine.close()
    return result


def test_one_long_advance_equals_many_small_ones() -> None:
    once = lifetime(365 * DAY, 1)
    daily = lifetime(DAY, 365)
    assert daily == once
    types = [e["type"] for e in once["events"]]
    assert {
        "installment.overdue",
        "installment.cured",
        "loan.defaulted",
        "claim.paid",
        "recovery.received",
    } <= set(types)
    assert {"quote.decided", "policy.completed", "policy.cancelled"} <= set(types)
    stamps = [e["timestamp"] for e in once["events"]]
    assert stamps == sorted(stamps)
    check_versions(once["events"])


def check_versions(events: list[dict[str, Any]]) -> None:
    """Every event about an object carries a strictly newer version of it."""
    last: dict[str, int] = {}
    for event in events:
        data = event["data"]
        if event["type"] == "statement.finalized":  # a month's statement: once, never versioned
            continue
        assert data["version"] > last.get(data["id"], 0), event["type"]
        last[data["id"]] = data["version"]


# --- real time ------------------------------------------------------------------------------------


def test_realtime_clock_runs_due_transitions_lazily(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = [1000.0]
    monkeypatch.setattr(clock_module, "wall", lambda: fake[0])
    engine = Engine(now=START, realtime=True)
    quote = engine.create_quote(T, quote_params(score=None))
    fake[0] += 29 * 60
    assert engine.get_quote(T, quote["id"])["decision"] == "referred"
    fake[0] += 60.5
    decided = engine.get_quote(T, quote["id"])
    assert decided["decision"] == "approved" and decided["decided_at"] == "2027-01-10T09:30:00Z"
    assert engine.clock(T)["now"] == "2027-01-10T09:30:00.500000Z"
    engine.advance(T, DAY)
    assert engine.now(T) == START + dt.timedelta(minutes=30, seconds=0.5) + DAY
    engine.close()
