"""Servicing on the clock: repayments, overdue and cured installments, default, claims and recovery.

For installment t due on ``due_t``:

- ``due_t + 1`` 00:00: still unpaid → status ``overdue``, event ``installment.overdue``;
- ``due_t + waiting period`` 00:00 (day D; 80 or 90 days): still unpaid → ``loan.defaulted`` and
  ``claim.opened`` for the amount of DESIGN §4 (the earliest unpaid installment reaches its D first);
- D + 1 00:00 ``claim.approved``; D + 4 00:00 ``claim.paid`` (代偿, the policy becomes ``claimed``);
  30 days after the payment ``recovery.received`` (追偿).

A repayment is accepted while the policy is active and has no claim; it emits ``repayment.created``,
then ``installment.cured`` if the installment was overdue, then ``policy.completed`` if it was the
last one. ``days_past_due`` is computed against the clock's date when read (against the event's time
in an event) and stops growing once the loan has defaulted. The policy stays ``active`` (with
``claim_id`` set) from D until the claim is paid at D + 4; it can then be neither cancelled, settled
nor repaid (409).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from ...types.money import Money
from ...types.policy import RepaymentCreateParams
from .. import pricing
from ..clock import UTC, midnight, to_micros
from ..errors import Conflict, Invalid, validated
from ..products import PRICING, PRODUCTS
from ._core import public
from .endorsements import Endorsements
from .quotes import checked_filter
from .records import ClaimRecord, ClaimStatus, Json, PolicyRecord, RepaymentRecord
from .render import render
from .statements import MerchantLine

__all__ = ["Servicing", "CLAIM_STATUSES"]

CLAIM_STATUSES: tuple[ClaimStatus, ...] = ("open", "approved", "paid", "rejected")


class Servicing(Endorsements):
    """Repayments, the overdue → default → claim → recovery transitions, and claims."""

    @public
    def create_repayment(self, tenant: str, params: RepaymentCreateParams | Json) -> Json:
        """Report installment n paid. A late one cures the overdue status; the last one completes."""
        p = validated(RepaymentCreateParams, params)
        record = self._load_policy(tenant, p.policy_id, param="policy_id")
        if record.status != "active":
            raise Conflict(
                "policy_not_active", f"Policy {p.policy_id} is {record.status}; no repayments are taken."
            )
        if record.claim_id is not None:
            raise Conflict(
                "policy_not_active",
                f"Policy {p.policy_id} has defaulted (claim {record.claim_id}); repayments now go to the insurer.",
            )
        lines = record.installments
        if not 1 <= p.installment <= len(lines):
            raise Invalid(
                "installment_not_found",
                f"Policy {p.policy_id} has installments 1 to {len(lines)}; there is no installment {p.installment}.",
                param="installment",
            )
        line = lines[p.installment - 1]
        if line.status == "paid":
            raise Conflict(
                "installment_already_paid", f"Installment {p.installment} of {p.policy_id} is already paid."
            )
        if p.amount.currency != "CNY" or p.amount.amount != line.amount:
            raise Invalid(
                "amount_mismatch",
                f"Installment {p.installment} is {Money(line.amount)}; amount must equal it exactly "
                f"(got {p.amount}).",
                param="amount",
            )
        try:
            paid_at = p.paid_at.astimezone(UTC)
        except OverflowError:  # 0001-01-01T00:00+01:00 has no UTC time
            raise Invalid("invalid_parameter", "paid_at is out of range", param="paid_at") from None
        with self._txn():
            repayment = RepaymentRecord(
                id=self._new_id(tenant, "rep"),
                policy_id=p.policy_id,
                installment=p.installment,
                amount=p.amount.amount,
                paid_at=paid_at,
                created_at=self._current,
            )
            wire = render(repayment)
            self._store.put("repayments", tenant, repayment.id, wire, ts=to_micros(self._current))
            was_overdue = line.status == "overdue"
            line.status, line.paid_at = "paid", paid_at
            record.version += 1
            self._emit(tenant, "repayment.created", wire)
            if was_overdue:
                self._emit(
                    tenant, "installment.cured", self._render_policy(record), installment=p.installment
                )
            if all(i.status == "paid" for i in lines):
                record.status = "completed"
                record.completed_at = self._current
                record.version += 1
                self._store.delete_timers(tenant, p.policy_id)
                self._emit(tenant, "policy.completed", self._render_policy(record))
            self._put_policy(tenant, record)
        return wire

    @public
    def list_repayments(
        self, tenant: str, *, policy_id: str | None = None, limit: int = 20, starting_after: str | None = None
    ) -> Json:
        equals = self._filters(policy_id=policy_id)
        return self._list("repayments", tenant, render, equals, None, limit, starting_after)

    # --- transitions ------------------------------------------------------------------------------

    def _servicable(self, tenant: str, policy_id: str) -> PolicyRecord | None:
        """The policy, if it is still active with no claim (else the transition has nothing to do)."""
        stored = self._store.get("policies", tenant, policy_id)
        if stored is None or stored["status"] != "active" or stored["claim_id"] is not None:
            return None
        return PolicyRecord.from_json(stored)

    def _on_overdue(self, tenant: str, data: Json) -> None:
        record = self._servicable(tenant, data["policy"])
        if record is None:
            return
        n = data["installment"]
        line = record.installments[n - 1]
        if line.status != "scheduled":
            return
        line.status = "overdue"
        record.version += 1
        self._put_policy(tenant, record)
        self._emit(tenant, "installment.overdue", self._render_policy(record), installment=n)
        product = PRODUCTS[record.product]
        default_day = line.due_date + dt.timedelta(days=product.waiting_period_days)
        self._schedule(
            tenant,
            midnight(default_day),
            {"kind": "default", "policy": record.id, "installment": n},
            ref=record.id,
        )

    def _on_default(self, tenant: str, data: Json) -> None:
        record = self._servicable(tenant, data["policy"])
        if record is None:
            return
        n = data["installment"]
        if record.installments[n - 1].status != "overdue":
            return
        product = PRODUCTS[record.product]
        day = self._today()
        claim_id = self._new_id(tenant, "clm")
        record.claim_id = claim_id
        record.defaulted_at = self._current
        record.version += 1
        self._put_policy(tenant, record)
        self._store.delete_timers(tenant, record.id)
        self._emit(tenant, "loan.defaulted", self._render_policy(record), installment=n)
        schedule = [
            pricing.ScheduleLine(i.installment, i.due_date, i.principal, i.interest)
            for i in record.installments
        ]
        paid = {i.installment for i in record.installments if i.status == "paid"}
        amount = pricing.claim_amount(schedule, paid, day, product.deductible, record.sum_insured)
        claim = ClaimRecord(
            claim_id,
            record.id,
            amount,
            day,
            n,
            self._current,
            beneficiary=record.parties.beneficiary,
            merchant_order_id=record.merchant_order_id,
            product=record.product,
            metadata=dict(record.metadata),
        )
        self._put_claim(tenant, claim)
        self._emit(tenant, "claim.opened", render(claim))
        self._schedule(
            tenant,
            self._current + PRICING.claim_approval_delay,
            {"kind": "claim_approval", "claim": claim_id},
            ref=claim_id,
        )
        self._schedule(
            tenant,
            self._current + PRICING.claim_payment_delay,
            {"kind": "claim_payment", "claim": claim_id},
            ref=claim_id,
        )

    def _get_claim(self, tenant: str, claim_id: str) -> ClaimRecord | None:
        stored = self._store.get("claims", tenant, claim_id)
        return None if stored is None else ClaimRecord.from_json(stored)

    def _put_claim(self, tenant: str, claim: ClaimRecord) -> None:
        """Insert (stamped now) or replace (keeping its place and stamp)."""
        self._store.put("claims", tenant, claim.id, claim.to_json(), ts=to_micros(self._current))

    def _on_claim_approval(self, tenant: str, data: Json) -> None:
        claim = self._get_claim(tenant, data["claim"])
        if claim is None or claim.status != "open":
            return
        claim.status, claim.approved_at = "approved", self._current
        claim.version += 1
        self._put_claim(tenant, claim)
        self._emit(tenant, "claim.approved", render(claim))

    def _on_claim_payment(self, tenant: str, data: Json) -> None:
        claim = self._get_claim(tenant, data["claim"])
        if claim is None or claim.status not in ("open", "approved"):
            return
        claim.status, claim.paid_at = "paid", self._current
        claim.paid_to = claim.beneficiary  # 代偿: the insurer pays the beneficiary
        claim.version += 1
        self._put_claim(tenant, claim)
        self._post(
            tenant,
            "claim_payment",
            "claims_paid",
            "cash",
            claim.amount,
            merchant=_to_merchant(claim),
            policy_id=claim.policy_id,
            claim_id=claim.id,
        )
        stored = self._store.get("policies", tenant, claim.policy_id)
        if stored is not None:
            policy = PolicyRecord.from_json(stored)
            policy.status = "claimed"
            policy.version += 1
            self._put_policy(tenant, policy)
        self._emit(tenant, "claim.paid", render(claim))
        self._schedule(
            tenant,
            self._current + PRICING.recovery_delay,
            {"kind": "recovery", "claim": claim.id},
            ref=claim.id,
        )

    def _on_recovery(self, tenant: str, data: Json) -> None:
        claim = self._get_claim(tenant, data["claim"])
        if claim is None or claim.status != "paid" or claim.recovered is not None:
            return
        policy = self._load_policy(tenant, claim.policy_id)
        amount = pricing.recovery_amount(claim.amount, PRODUCTS[policy.product].lgd)
        claim.recovered, claim.recovered_at = amount, self._current
        claim.version += 1
        self._put_claim(tenant, claim)
        self._post(
            tenant, "recovery", "cash", "recoveries", amount, policy_id=claim.policy_id, claim_id=claim.id
        )
        self._emit(tenant, "recovery.received", render(claim))

    # --- claims -----------------------------------------------------------------------------------

    @public
    def get_claim(self, tenant: str, claim_id: str) -> Json:
        return render(self._load("claims", tenant, claim_id, "claim"))

    @public
    def list_claims(
        self,
        tenant: str,
        *,
        policy_id: str | None = None,
        status: str | None = None,
        merchant_order_id: str | None = None,
        product: str | None = None,
        created_gte: dt.datetime | None = None,
        created_lt: dt.datetime | None = None,
        metadata: Mapping[str, str] | None = None,
        limit: int = 20,
        starting_after: str | None = None,
    ) -> Json:
        """Claims oldest first, filtered (DESIGN §7.3; created is ``opened_at``)."""
        equals = self._filters(
            {"status": CLAIM_STATUSES, "product": tuple(PRODUCTS)},
            policy_id=policy_id,
            status=status,
            merchant_order_id=merchant_order_id,
            product=product,
        )
        return self._list(
            "claims",
            tenant,
            render,
            equals,
            created_gte,
            limit,
            starting_after,
            created_lt=created_lt,
            metadata=checked_filter(metadata),
        )


def _to_merchant(claim: ClaimRecord) -> MerchantLine | None:
    """A claim paid to the merchant itself (beneficiary type ``merchant``) is money owed to the
    merchant; one paid to a lender is not the merchant's money and no balance transaction."""
    paid_to = claim.paid_to or {}
    if paid_to.get("type") != "merchant":
        return None
    return MerchantLine("claim_payment", claim.policy_id, claim.merchant_order_id, claim.id)
