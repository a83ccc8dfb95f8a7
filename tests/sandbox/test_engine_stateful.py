"""A random walk through the engine: quotes, binds, repayments, skipped installments, cancellations,
settlements and clock jumps, with the book's invariants checked after every step.

``YANGGUANG_SOAK=1`` runs many more and longer walks.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule

from tests.consent import consent_now
from yangguang_sdk import testing
from yangguang_sdk.sandbox.engine import Engine
from yangguang_sdk.sandbox.errors import SandboxError
from yangguang_sdk.types.products import PRODUCTS, REPAYMENT_METHODS

from .test_engine import START, check_ledger

SOAK = os.environ.get("YANGGUANG_SOAK") == "1"
TENANTS = ("yg_test_one", "yg_test_two")

# Errors a random walk may legitimately run into; anything else fails the test.
EXPECTED = {
    "quote_expired",
    "quote_not_bindable",
    "quote_already_bound",
    "policy_not_cancellable",
    "policy_already_cancelled",
    "policy_already_completed",
    "policy_claimed",
    "policy_not_active",
    "installment_already_paid",
    "invalid_first_due_date",
    "invalid_settlement_date",
    "borrower_exposure_limit",  # one borrower's policies add up in a random walk
}

products = st.sampled_from(list(PRODUCTS))
methods = st.sampled_from(REPAYMENT_METHODS)
rates = st.sampled_from(["0", "0.05", "0.12", "0.18", "0.24"])
scores = st.none() | st.integers(300, 850)
steps = st.sampled_from(
    [dt.timedelta(minutes=1), dt.timedelta(minutes=31), dt.timedelta(days=1), dt.timedelta(days=10)]
    + [dt.timedelta(days=40), dt.timedelta(days=95)]
)


class EngineMachine(RuleBasedStateMachine):
    quotes = Bundle("quotes")
    policies = Bundle("policies")

    @initialize()
    def start(self) -> None:
        self.engine = Engine(now=START)
        self.versions: dict[str, int] = {}
        self.last_event: dict[str, str | None] = dict.fromkeys(TENANTS)

    def teardown(self) -> None:
        self.engine.close()

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except SandboxError as exc:
            assert exc.code in EXPECTED, exc
            return None

    @rule(
        target=quotes,
        tenant=st.sampled_from(TENANTS),
        product=products,
        principal=st.integers(5_000, 30_000_000),
        months=st.integers(2, 40),
        rate=rates,
        score=scores,
        first_due_in=st.integers(1, 45),
        method=methods,
    )
    def quote(
        self,
        tenant: str,
        product: str,
        principal: int,
        months: int,
        rate: str,
        score: int | None,
        first_due_in: int,
        method: str,
    ) -> tuple[str, str]:
        quote = self._quote(tenant, product, principal, months, rate, score, first_due_in, method)
        return tenant, quote["id"]

    @rule(
        target=policies,
        tenant=st.sampled_from(TENANTS),
        product=products,
        principal=st.sampled_from([300_000, 1_299_900, 2_000_000, 5_000_000, 30_000_000]),
        months=st.sampled_from([3, 6, 12, 24]),
        rate=st.sampled_from(["0", "0.06", "0.12"]),
        score=st.integers(600, 850),
        first_due_in=st.integers(1, 45),
        method=methods,
    )
    def open_policy(
        self,
        tenant: str,
        product: str,
        principal: int,
        months: int,
        rate: str,
        score: int,
        first_due_in: int,
        method: str,
    ) -> tuple[str, str]:
        """A quote likely to be approved, bound at once."""
        quote = self._quote(tenant, product, principal, months, rate, score, first_due_in, method)
        policy = self._call(self.engine.bind_policy, tenant, quote["id"], consent_now(self.engine, tenant))
        return tenant, policy["id"] if policy else ""

    def _quote(
        self,
        tenant: str,
        product: str,
        principal: int,
        months: int,
        rate: str,
        score: int | None,
        first_due_in: int,
        method: str = "equal_installment",
    ) -> dict[str, Any]:
        if PRODUCTS[product].borrower_types[0] == "enterprise":
            borrower: dict[str, Any] = {"type": "enterprise", "name": "某公司", "uscc": "91110000600037341L"}
        else:
            borrower = {"type": "individual", "name": "张三", "id_number": "11010519491231002X"}
        if score is not None:
            borrower["credit_score"] = score
        first_due = self.engine.now(tenant).date() + dt.timedelta(days=first_due_in)
        params = {
            "product": product,
            "merchant_order_id": "ORD",
            **testing.parties(product),
            "borrower": borrower,
            "loan": {
                "principal": {"amount": principal, "currency": "CNY"},
                "term_months": months,
                "annual_rate": rate,
                "first_due_date": first_due.isoformat(),
                # the method asked for where the product offers it, else the default
                "repayment_method": method
                if method in PRODUCTS[product].methods and not (method == "interest_first" and rate == "0")
                else "equal_installment",
            },
        }
        quote: dict[str, Any] = self.engine.create_quote(tenant, params)
        return quote

    @rule(target=policies, quote=quotes)
    def bind(self, quote: tuple[str, str]) -> tuple[str, str]:
        tenant, quote_id = quote
        policy = self._call(self.engine.bind_policy, tenant, quote_id, consent_now(self.engine, tenant))
        return tenant, policy["id"] if policy else ""

    @rule(policy=policies, skip=st.integers(0, 2), count=st.integers(1, 6))
    def repay(self, policy: tuple[str, str], skip: int, count: int) -> None:
        """Pay ``count`` installments from the first unpaid one, or from a little later (skipping)."""
        tenant, policy_id = policy
        if not policy_id:
            return
        current = self.engine.get_policy(tenant, policy_id)
        unpaid = [i for i in current["installments"] if i["status"] != "paid"]
        for line in unpaid[skip : skip + count]:
            self._pay(tenant, policy_id, line)

    def _pay(self, tenant: str, policy_id: str, line: dict[str, Any]) -> None:
        self._call(
            self.engine.create_repayment,
            tenant,
            {
                "policy_id": policy_id,
                "installment": line["installment"],
                "amount": line["amount"],
                "paid_at": self.engine.clock(tenant)["now"],
            },
        )

    @rule(policy=policies, preview=st.booleans())
    def cancel(self, policy: tuple[str, str], preview: bool) -> None:
        tenant, policy_id = policy
        if policy_id:
            self._call(self.engine.cancel_policy, tenant, policy_id, reason="random_walk", preview=preview)

    @rule(policy=policies, days_back=st.integers(0, 40))
    def settle(self, policy: tuple[str, str], days_back: int) -> None:
        tenant, policy_id = policy
        if policy_id:
            on = self.engine.now(tenant).date() - dt.timedelta(days=days_back)
            self._call(self.engine.settle_policy, tenant, policy_id, settled_on=on)

    @rule(tenant=st.sampled_from(TENANTS), step=steps)
    def advance(self, tenant: str, step: dt.timedelta) -> None:
        """Each tenant's clock is its own: advancing one leaves the other where it was."""
        other = TENANTS[1 - TENANTS.index(tenant)]
        before = self.engine.now(other)
        self.engine.advance(tenant, step)
        assert self.engine.now(other) == before

    # --- invariants -------------------------------------------------------------------------------

    @invariant()
    def ledger_balances(self) -> None:
        for tenant in TENANTS:
            totals = check_ledger(self.engine, tenant)
            premiums = sum(
                p["premium"]["amount"] for p in self.engine.list_policies(tenant, limit=100)["data"]
            )
            assert totals["premium"] == premiums

    @invariant()
    def refunds_and_claims_are_bounded(self) -> None:
        for tenant in TENANTS:
            policies = {p["id"]: p for p in self.engine.list_policies(tenant, limit=100)["data"]}
            for policy in policies.values():
                if policy["refund"] is not None:
                    assert 0 <= policy["refund"]["amount"] <= policy["premium"]["amount"]
            for claim in self.engine.list_claims(tenant, limit=100)["data"]:
                policy = policies[claim["policy_id"]]
                assert policy["status"] in ("active", "claimed")  # never cancelled or completed
                assert 0 < claim["amount"]["amount"] <= policy["sum_insured"]["amount"]
                if claim["recovered"] is not None:
                    assert claim["recovered"]["amount"] <= claim["amount"]["amount"]

    @invariant()
    def event_versions_increase_per_object(self) -> None:
        for tenant in TENANTS:
            while True:
                page = self.engine.list_events(tenant, limit=100, starting_after=self.last_event[tenant])
                for event in page["data"]:
                    data = event["data"]
                    if event["type"] == "statement.finalized":  # once per month, never versioned
                        assert data["status"] == "final" and data["lines"], data["month"]
                        continue
                    assert data["version"] > self.versions.get(data["id"], 0), event["type"]
                    self.versions[data["id"]] = data["version"]
                if page["data"]:
                    self.last_event[tenant] = page["data"][-1]["id"]
                if not page["has_more"]:
                    break


EngineMachine.TestCase.settings = settings(
    max_examples=300 if SOAK else 30,
    stateful_step_count=60 if SOAK else 30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestEngineStateMachine = EngineMachine.TestCase
