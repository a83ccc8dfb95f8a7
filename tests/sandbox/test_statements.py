"""Balance transactions and monthly statements (DESIGN §7.6): the merchant's money, month by month.

The statements' totals are checked against amounts computed here from the objects themselves
(policies' premiums and refunds, endorsements' refunds, claims paid to the merchant), never from
the balance transactions the statements are made of.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.consent import consent_now
from yangguang_sdk import testing
from yangguang_sdk.sandbox.engine import Engine
from yangguang_sdk.sandbox.engine.statements import commission
from yangguang_sdk.sandbox.errors import Invalid
from yangguang_sdk.types import StatementEvent, parse_event

from .test_engine import check_ledger
from .test_pricing import quote_params

T = "yg_test_settle"
START = dt.datetime(2027, 1, 10, 9, 0, tzinfo=dt.timezone.utc)
DAY = dt.timedelta(days=1)
UTC = dt.timezone.utc
SOAK = os.environ.get("YANGGUANG_SOAK") == "1"  # more random lifecycles (as test_engine_stateful)


@pytest.fixture
def engine() -> Iterator[Engine]:
    e = Engine(now=START)
    yield e
    e.close()


# -- amounts computed independently, from the objects ----------------------------------------------


def month(ts: str) -> str:
    return ts[:7]


def half_away(fen_times_15: int) -> int:
    """x·15/100 rounded half away from zero, in integers (the test's own rounding)."""
    q, r = divmod(abs(fen_times_15), 100)
    return (q + (r >= 50)) * (1 if fen_times_15 >= 0 else -1)


def expected(engine: Engine, tenant: str, endorsements: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per month: premiums (bind), refunds (cancel, settle: when it ran; endorsements) and claims
    paid to the merchant (at paid_at), from the policies, endorsements and claims."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: {"premiums": 0, "refunds": 0, "claims": 0})
    for policy in list_all(engine.list_policies, tenant):
        out[month(policy["bound_at"])]["premiums"] += policy["premium"]["amount"]
        ended = policy["cancelled_at"] or (policy["completed_at"] if policy["settled_on"] else None)
        if policy["refund"] is not None and ended is not None:
            out[month(ended)]["refunds"] += policy["refund"]["amount"]
    for endorsement in endorsements:
        out[month(endorsement["created_at"])]["refunds"] += endorsement["premium_refund"]["amount"]
    for claim in list_all(engine.list_claims, tenant):
        if claim["status"] == "paid" and claim["paid_to"]["type"] == "merchant":
            out[month(claim["paid_at"])]["claims"] += claim["amount"]["amount"]
    return out


def list_all(method: Any, tenant: str, **filters: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = method(tenant, limit=100, starting_after=cursor, **filters)
        rows += page["data"]
        if not page["has_more"]:
            return rows
        cursor = page["next_cursor"]


def check_statement(statement: dict[str, Any], want: dict[str, int]) -> None:
    """The totals against ``want``, the commission and net by the rule, and the lines summing up."""
    fen = {k: statement[k]["amount"] for k in ("premiums", "refunds", "claims_paid_to_merchant")}
    assert fen == {
        "premiums": want["premiums"],
        "refunds": want["refunds"],
        "claims_paid_to_merchant": want["claims"],
    }, statement["month"]
    commission = half_away((want["premiums"] - want["refunds"]) * 15)
    assert statement["commission"]["amount"] == commission
    net = want["premiums"] - want["refunds"] - commission - want["claims"]
    assert statement["net_due"]["amount"] == net
    lines = statement["lines"]
    assert (
        sum(line["amount"]["amount"] for line in lines) == want["premiums"] - want["refunds"] - want["claims"]
    )
    for kind, total in (("premium", "premiums"), ("premium_refund", "refunds"), ("claim_payment", "claims")):
        assert sum(abs(line["amount"]["amount"]) for line in lines if line["type"] == kind) == want[total]
    created = [line["created"] for line in lines]
    assert created == sorted(created)
    assert all(month(c) == statement["month"] for c in created)


# -- helpers -----------------------------------------------------------------------------------------


def bind(
    engine: Engine, order: str, *, product: str = "consumer_installment", first_due: str
) -> dict[str, Any]:
    params = quote_params(product=product, principal="8000.00", months=6, first_due=first_due)
    params["merchant_order_id"] = order
    if product != "consumer_installment":  # a licensed lender: a bank
        params["beneficiary"] = dict(testing.BANK)
    quote = engine.create_quote(T, params)
    assert quote["decision"] == "approved", quote
    return engine.bind_policy(T, quote["id"], consent_now(engine, T))


def move_to(engine: Engine, when: dt.datetime) -> None:
    engine.advance(T, when - engine.now(T))


def test_three_months_of_a_mixed_portfolio_reconcile_with_the_objects(engine: Engine) -> None:
    endorsements: list[dict[str, Any]] = []
    # January: binds, a cancel in cooling-off, an endorsement; two loans that will default
    kept = bind(engine, "订单-保留", first_due="2027-02-15")
    early = bind(engine, "ORD-early-cancel", first_due="2027-02-15")
    late = bind(engine, "ORD-late-cancel", first_due="2027-02-15")
    endorsed = bind(engine, "ORD-endorsed", first_due="2027-02-15")
    to_merchant = bind(engine, "ORD-claim-merchant", first_due="2027-01-20")
    to_bank = bind(engine, "ORD-claim-bank", product="platform_loan", first_due="2027-01-20")
    assert to_merchant["beneficiary"]["type"] == "merchant" and to_bank["beneficiary"]["type"] == "bank"
    move_to(engine, dt.datetime(2027, 1, 12, 10, tzinfo=UTC))
    cancelled = engine.cancel_policy(T, early["id"], reason="buyer returned the goods")
    assert cancelled["refund"] == early["premium"]  # within cooling-off: everything back
    move_to(engine, dt.datetime(2027, 1, 20, 10, tzinfo=UTC))
    endorsements.append(
        engine.endorse_policy(
            T, endorsed["id"], {"principal_reduction": {"amount": 300000, "currency": "CNY"}}
        )
    )
    move_to(engine, dt.datetime(2027, 1, 31, 23, 59, tzinfo=UTC))
    january_open = engine.get_statement(T, "2027-01")
    assert january_open["status"] == "open"

    # February: January is final; a cancel after cooling-off, a bind settled with a past date
    move_to(engine, dt.datetime(2027, 2, 1, tzinfo=UTC))
    january = engine.get_statement(T, "2027-01")
    assert january["status"] == "final"
    assert {k: v for k, v in january.items() if k != "status"} == {
        k: v for k, v in january_open.items() if k != "status"
    }
    frozen = json.dumps(january, sort_keys=True)
    move_to(engine, dt.datetime(2027, 2, 5, 9, tzinfo=UTC))
    late_cancel = engine.cancel_policy(T, late["id"], reason="changed mind after cooling-off")
    assert 0 < late_cancel["refund"]["amount"] < late["premium"]["amount"]
    settled = bind(engine, "ORD-settled", first_due="2027-03-10")
    move_to(engine, dt.datetime(2027, 2, 20, 9, tzinfo=UTC))
    settled = engine.settle_policy(T, settled["id"], settled_on=dt.date(2027, 2, 12))
    assert settled["refund"]["amount"] > 0

    # March: a bind and a cancel an hour before the month ends
    move_to(engine, dt.datetime(2027, 3, 3, 9, tzinfo=UTC))
    march_bind = bind(engine, "ORD-march", first_due="2027-04-03")
    move_to(engine, dt.datetime(2027, 3, 31, 23, tzinfo=UTC))
    engine.cancel_policy(T, march_bind["id"], reason="cancelled on the last evening")

    # April: both defaulted loans' claims are paid (代偿), one to the merchant, one to a bank
    move_to(engine, dt.datetime(2027, 5, 1, tzinfo=UTC))
    claims = {c["policy_id"]: c for c in list_all(engine.list_claims, T)}
    assert claims[to_merchant["id"]]["status"] == claims[to_bank["id"]]["status"] == "paid"
    assert kept["id"] not in claims

    want = expected(engine, T, endorsements)
    assert set(want) == {"2027-01", "2027-02", "2027-03", "2027-04"}
    assert want["2027-04"]["claims"] == claims[to_merchant["id"]]["amount"]["amount"]  # the bank's is not
    for name, totals in want.items():
        statement = engine.get_statement(T, name)
        assert statement["status"] == "final"
        check_statement(statement, totals)
    assert (
        json.dumps(engine.get_statement(T, "2027-01"), sort_keys=True) == frozen
    )  # a February cancel left it
    assert engine.get_statement(T, "2027-02")["refunds"]["amount"] == (
        late_cancel["refund"]["amount"] + settled["refund"]["amount"]
    )
    # the settle with a past settled_on is dated when it ran
    [settle_line] = [
        line
        for line in engine.get_statement(T, "2027-02")["lines"]
        if line["source_id"] == settled["id"] and line["type"] == "premium_refund"
    ]
    assert settle_line["created"] == "2027-02-20T09:00:00Z"
    # the claim payment is dated at the claim's paid_at; the bank's claim has no balance transaction
    [claim_line] = list_all(engine.list_balance_transactions, T, type="claim_payment")
    assert claim_line["created"] == claims[to_merchant["id"]]["paid_at"]
    assert claim_line["source_id"] == claims[to_merchant["id"]]["id"]
    assert list_all(engine.list_balance_transactions, T, policy_id=to_bank["id"])[-1]["type"] == "premium"
    # each finalized month was told once, at the first instant of the next month, typed
    finalized = list_all(engine.list_events, T, type="statement.finalized")
    assert [e["timestamp"] for e in finalized] == [
        "2027-02-01T00:00:00Z",
        "2027-03-01T00:00:00Z",
        "2027-04-01T00:00:00Z",
        "2027-05-01T00:00:00Z",
    ]
    event = parse_event(finalized[0])
    assert isinstance(event, StatementEvent)
    assert event.data.month == "2027-01" and event.data.net_due.amount == january["net_due"]["amount"]
    # a month with no lines: a final statement of zeros, and no event
    december = engine.get_statement(T, "2026-12")
    assert december["status"] == "final" and december["lines"] == [] and december["net_due"]["amount"] == 0
    check_books(engine, T)


def check_books(engine: Engine, tenant: str) -> None:
    """Σ of the balance transactions == what the ledger says: premiums, refunds, and the claims
    paid to the merchant among the claims the ledger paid."""
    totals = check_ledger(engine, tenant)
    lines = list_all(engine.list_balance_transactions, tenant)
    by_type: dict[str, int] = defaultdict(int)
    for line in lines:
        by_type[line["type"]] += line["amount"]["amount"]
    assert by_type["premium"] == totals["premium"]
    assert -by_type["premium_refund"] == totals["refunds"]
    merchant_claims = sum(
        c["amount"]["amount"]
        for c in list_all(engine.list_claims, tenant)
        if c["status"] == "paid" and c["paid_to"]["type"] == "merchant"
    )
    assert -by_type["claim_payment"] == merchant_claims <= totals["claims_paid"]


def test_the_finalized_event_comes_in_time_order_with_the_other_events(engine: Engine) -> None:
    bind(engine, "ORD-1", first_due="2027-01-31")
    engine.advance(T, dt.timedelta(days=40))  # overdue on Feb 1 00:00, the statement at the same instant
    types = [(e["timestamp"], e["type"]) for e in list_all(engine.list_events, T)]
    assert types[-2:] == [
        ("2027-02-01T00:00:00Z", "installment.overdue"),
        ("2027-02-01T00:00:00Z", "statement.finalized"),
    ] or types[-2:] == [
        ("2027-02-01T00:00:00Z", "statement.finalized"),
        ("2027-02-01T00:00:00Z", "installment.overdue"),
    ]
    assert [t for t, _ in types] == sorted(t for t, _ in types)


def test_an_operation_at_the_first_instant_of_a_month_belongs_to_that_month(engine: Engine) -> None:
    bind(engine, "ORD-jan", first_due="2027-03-15")
    move_to(engine, dt.datetime(2027, 2, 1, tzinfo=UTC))
    february = bind(engine, "ORD-feb", first_due="2027-03-15")
    january = engine.get_statement(T, "2027-01")
    assert january["status"] == "final" and len(january["lines"]) == 1
    [line] = engine.get_statement(T, "2027-02")["lines"]
    assert line["policy_id"] == february["id"] and line["created"] == "2027-02-01T00:00:00Z"


def test_balance_transactions_are_signed_and_point_at_their_sources(engine: Engine) -> None:
    policy = bind(engine, "订单-一", first_due="2027-02-15")
    endorsement = engine.endorse_policy(
        T, policy["id"], {"principal_reduction": {"amount": 100000, "currency": "CNY"}}
    )
    engine.advance(T, DAY)
    cancelled = engine.cancel_policy(T, policy["id"], reason="returned")
    lines = list_all(engine.list_balance_transactions, T)
    assert [(x["type"], x["amount"]["amount"], x["source_id"]) for x in lines] == [
        ("premium", policy["premium"]["amount"], policy["id"]),
        ("premium_refund", -endorsement["premium_refund"]["amount"], endorsement["id"]),
        ("premium_refund", -cancelled["refund"]["amount"], policy["id"]),
    ]
    assert all(x["id"].startswith("btx_") and x["merchant_order_id"] == "订单-一" for x in lines)
    assert all(x["policy_id"] == policy["id"] for x in lines)


def test_balance_transaction_filters_and_pages(engine: Engine) -> None:
    policies = [bind(engine, f"ORD-{n}", first_due="2027-02-15") for n in range(3)]
    engine.advance(T, DAY)
    engine.cancel_policy(T, policies[1]["id"], reason="returned")
    assert [x["type"] for x in list_all(engine.list_balance_transactions, T, type="premium_refund")] == [
        "premium_refund"
    ]
    assert len(list_all(engine.list_balance_transactions, T, policy_id=policies[1]["id"])) == 2
    after = START + dt.timedelta(hours=1)
    assert len(list_all(engine.list_balance_transactions, T, created_gte=after)) == 1
    assert len(list_all(engine.list_balance_transactions, T, created_lt=after)) == 3
    page = engine.list_balance_transactions(T, limit=2)
    assert page["has_more"] and len(page["data"]) == 2
    rest = engine.list_balance_transactions(T, limit=2, starting_after=page["next_cursor"])
    assert not rest["has_more"] and len(rest["data"]) == 2
    with pytest.raises(Invalid) as exc:
        engine.list_balance_transactions(T, type="payout")
    assert exc.value.param == "type"
    assert engine.list_balance_transactions("yg_test_someone_else")["data"] == []


@pytest.mark.parametrize(
    "bad", ["2027-13", "2027-00", "27-01", "2027-1", "1999-12", "2200-01", "", "２０２７-01"]
)
def test_a_bad_month_is_refused_naming_month(engine: Engine, bad: str) -> None:
    with pytest.raises(Invalid) as exc:
        engine.get_statement(T, bad)
    assert exc.value.code == "invalid_parameter" and exc.value.param == "month"


def test_the_edges_of_the_month_range_are_months(engine: Engine) -> None:
    assert engine.get_statement(T, "2000-01")["status"] == "final"
    future = engine.get_statement(T, "2199-12")
    assert future["status"] == "open" and future["period_end"] == "2200-01-01T00:00:00Z"


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_commission_is_15_percent_half_away_from_zero(fen: int) -> None:
    assert commission(fen) == half_away(fen * 15)


@pytest.mark.parametrize(
    ("fen", "fen_commission"), [(10, 2), (-10, -2), (30, 5), (-30, -5), (3, 0), (4, 1), (0, 0)]
)
def test_commission_rounds_the_half_fen_away_from_zero(fen: int, fen_commission: int) -> None:
    assert commission(fen) == fen_commission


# -- the property ----------------------------------------------------------------------------------

ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(
            ["bind", "bind", "bind_bank", "cancel", "cancel", "settle", "endorse", "endorse", "pay"]
        ),
        st.sampled_from([0, 0, 1, 3, 8, 20, 45]),  # days to wait first
        st.integers(min_value=0, max_value=10_000),  # which policy, how much
    ),
    min_size=1,
    max_size=14,
)


@settings(
    max_examples=400 if SOAK else 40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(actions=ACTIONS)
def test_statements_add_up_to_the_portfolio_over_random_lifecycles(
    actions: list[tuple[str, int, int]],
) -> None:
    """Σ nets + Σ commissions = Σ premiums − Σ refunds − Σ claims paid to the merchant, to the fen,
    over every month the lifecycles touched; and the balance transactions agree with the ledger."""
    engine = Engine(now=START)
    try:
        endorsements: list[dict[str, Any]] = []
        policies: list[dict[str, Any]] = []
        orders = 0
        for action, days, pick in [("bind", 0, 0), *actions]:
            if days:
                engine.advance(T, dt.timedelta(days=days, hours=pick % 24))
            today = engine.now(T).date()
            active = [p for p in (engine.get_policy(T, q["id"]) for q in policies) if p["status"] == "active"]
            chosen = active[pick % len(active)] if active else None
            try:
                if action in ("bind", "bind_bank"):
                    orders += 1
                    first_due = (today + dt.timedelta(days=5 + pick % 30)).isoformat()
                    product = "platform_loan" if action == "bind_bank" else "consumer_installment"
                    policies.append(bind(engine, f"ORD-{orders}", product=product, first_due=first_due))
                elif chosen is None:
                    continue
                elif action == "cancel":
                    engine.cancel_policy(T, chosen["id"], reason="random")
                elif action == "settle":
                    bound = dt.date.fromisoformat(chosen["bound_at"][:10])
                    on = bound + dt.timedelta(days=pick % max(1, (today - bound).days + 1))
                    engine.settle_policy(T, chosen["id"], settled_on=on)
                elif action == "endorse":
                    unpaid = [i for i in chosen["installments"] if i["status"] != "paid"]
                    outstanding = sum(i["principal"]["amount"] for i in unpaid)
                    if outstanding > 1:
                        amount = 1 + pick % (outstanding - 1)
                        endorsements.append(
                            engine.endorse_policy(
                                T,
                                chosen["id"],
                                {"principal_reduction": {"amount": amount, "currency": "CNY"}},
                            )
                        )
                elif action == "pay":
                    line = next((i for i in chosen["installments"] if i["status"] != "paid"), None)
                    if line is not None:
                        engine.create_repayment(
                            T,
                            {
                                "policy_id": chosen["id"],
                                "installment": line["installment"],
                                "amount": line["amount"],
                                "paid_at": engine.now(T),
                            },
                        )
            except Exception as exc:  # a refusal of the rules (409/422) is part of a random life
                assert type(exc).__name__ in ("Conflict", "Invalid"), exc
        # live on (defaults, claims paid), then read every month up to the clock's, which is open
        engine.advance(T, dt.timedelta(days=200))
        end = engine.now(T)
        months = []
        cursor = dt.date(START.year, START.month, 1)
        while cursor <= dt.date(end.year, end.month, 1):
            months.append(f"{cursor.year:04d}-{cursor.month:02d}")
            cursor = (cursor + dt.timedelta(days=32)).replace(day=1)
        statements = [engine.get_statement(T, m) for m in months]
        assert [s["status"] for s in statements] == ["final"] * (len(months) - 1) + ["open"]
        want = expected(engine, T, endorsements)
        assert set(want) <= set(months)
        for statement in statements:
            check_statement(
                statement, want.get(statement["month"], {"premiums": 0, "refunds": 0, "claims": 0})
            )
        premiums = sum(w["premiums"] for w in want.values())
        refunds = sum(w["refunds"] for w in want.values())
        claims = sum(w["claims"] for w in want.values())
        nets = sum(s["net_due"]["amount"] for s in statements)
        commissions = sum(s["commission"]["amount"] for s in statements)
        assert nets + commissions == premiums - refunds - claims
        check_books(engine, T)
    finally:
        engine.close()


def test_a_line_dated_into_a_finalized_month_fails_the_operation_whole(engine: Engine) -> None:
    """The guard behind finality: were a line ever dated into a final month, the operation fails
    and leaves nothing behind (here the month is marked final by hand, which no operation does)."""
    engine._store.put("statements", T, "2027-01", {"month": "2027-01", "status": "final"})  # noqa: SLF001
    params = quote_params(first_due="2027-02-15")
    quote = engine.create_quote(T, params)
    with pytest.raises(RuntimeError, match="finalized month 2027-01"):
        engine.bind_policy(T, quote["id"], consent_now(engine, T))
    assert engine.list_policies(T)["data"] == [] and engine.list_balance_transactions(T)["data"] == []
    assert engine.ledger(T)["entries"] == []
