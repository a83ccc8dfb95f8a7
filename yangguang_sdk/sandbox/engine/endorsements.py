"""Endorsements (批改, DESIGN §7.4): a partial return lowers the loan.

On date d (the tenant's clock), with installments 1…k paid and none due unpaid, a principal
reduction A of the outstanding B_k re-amortises the remaining m = n − k installments on B_k − A
(same rate, method and due dates, §4's rounding), refunds premium × f × (1 − e(d)) × A / B_k
rounded down to the fen (f the share in force before it, e(d) the exposure-weighted earned share,
0 inside the cooling-off period) and multiplies f by (B_k − A) / B_k. Later cancels and settles
refund from the new f; a cancel inside the cooling-off period returns the rest of the premium.
"""

from __future__ import annotations

from fractions import Fraction

from ...types.money import Money
from ...types.policy import EndorsementCreateParams
from .. import pricing
from ..clock import business_date, to_micros
from ..errors import Conflict, Invalid, validated
from ._core import public
from .policies import Policies
from .records import EndorsementRecord, Json, LineRecord, PolicyRecord
from .render import render

__all__ = ["Endorsements"]


class Endorsements(Policies):
    """Principal reductions of active policies."""

    @public
    def endorse_policy(self, tenant: str, policy_id: str, params: EndorsementCreateParams | Json) -> Json:
        """Lower the loan by ``principal_reduction`` (or preview it): the endorsement object."""
        p = validated(EndorsementCreateParams, params)
        record = self._load_policy(tenant, policy_id)
        today = self._today()
        k = self._check_endorsable(record)
        remaining = record.installments[k:]
        outstanding = sum(line.principal for line in remaining)  # B_k
        reduction = p.principal_reduction
        if reduction.currency != "CNY" or not 0 < reduction.amount < outstanding:
            raise Invalid(
                "invalid_parameter",
                f"principal_reduction must be a CNY amount above zero and below the outstanding principal "
                f"{Money(outstanding)} (to repay it all, settle the policy)",
                param="principal_reduction",
            )
        amount = reduction.amount
        quote = self._load_quote(tenant, record.quote_id)
        fresh = pricing.borrower_schedule(
            pricing.fen_to_yuan(outstanding - amount),
            quote.loan.annual_rate,
            len(remaining),
            remaining[0].due_date,
            record.repayment_method,
        )
        # the remaining installments keep their own due dates (a fresh schedule's would clip anew)
        new_lines = [
            LineRecord(old.installment, old.due_date, line.principal, line.interest, line.amount)
            for old, line in zip(remaining, fresh, strict=True)
        ]
        paid = record.installments[:k]
        sum_insured = sum(line.amount for line in paid) + sum(line.amount for line in new_lines)
        earned = Fraction(0) if today <= record.cooling_off_until else self._earned_fraction(record, today)
        refund = pricing.share_refund(
            record.premium, record.share_in_force, earned, Fraction(amount, outstanding)
        )
        endorsement = EndorsementRecord(
            id=None if p.preview else self._new_id(tenant, "end"),
            policy_id=record.id,
            amount=amount,
            premium_refund=refund,
            effective_date=today,
            schedule=[*paid, *new_lines],
            sum_insured=sum_insured,
            created_at=self._current,
            preview=p.preview,
        )
        if p.preview:
            return render(endorsement)
        assert endorsement.id is not None
        with self._txn():
            record.installments = [*paid, *new_lines]
            record.sum_insured = sum_insured
            record.share_in_force *= Fraction(outstanding - amount, outstanding)
            record.refunded_total += refund
            record.version += 1
            self._put_policy(tenant, record)
            wire = render(endorsement)
            self._store.put("endorsements", tenant, endorsement.id, wire, ts=to_micros(self._current))
            self._post_refund(
                tenant,
                record.id,
                record.merchant_order_id,
                refund,
                endorsement.id,
                endorsement_id=endorsement.id,
            )
            self._emit(tenant, "policy.endorsed", self._render_policy(record), endorsement=wire)
        return wire

    def _check_endorsable(self, record: PolicyRecord) -> int:
        """k, the number of installments paid (1…k), or 409 ``policy_not_endorsable``."""
        why = None
        if record.status != "active":
            why = f"is {record.status}"
        elif record.claim_id is not None:
            why = f"has a claim ({record.claim_id})"
        lines = record.installments
        k = next((n for n, line in enumerate(lines) if line.status != "paid"), len(lines))
        if why is None and any(line.status == "paid" for line in lines[k:]):
            why = f"has installment(s) paid ahead of unpaid installment {k + 1}"
        if why is None and lines[k:] and lines[k].due_date <= business_date(self._current):
            why = f"has installment {k + 1} due on {lines[k].due_date} and not reported paid"
        if why is not None:
            raise Conflict("policy_not_endorsable", f"Policy {record.id} {why}; it cannot be endorsed.")
        return k
