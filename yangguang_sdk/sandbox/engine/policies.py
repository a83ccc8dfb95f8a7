"""Policies: bind, read, list, cancel and settle (DESIGN §4).

Binding an approved, unexpired quote makes an active policy whose premium is due to the insurer and
schedules each installment's overdue check. Cancelling refunds the whole premium within the
cooling-off period, else the exposure-weighted unearned premium; settling (提前结清) always refunds
the unearned premium. Neither is possible once the policy is cancelled or completed
(``policy_already_cancelled`` / ``policy_already_completed``), once a claim exists
(``policy_claimed``) or while an installment is overdue (``policy_not_cancellable``), all 409.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from fractions import Fraction

from ...types.disclosure import ConsentParams
from ...types.money import Money
from ...types.policy import PolicyUpdateParams
from .. import pricing
from ..clock import UTC, business_date, format_ts, midnight, to_micros
from ..errors import Conflict, Invalid, validated
from ..products import EXPOSURE_LIMITS, PRODUCTS
from ._core import public
from .ledger import Ledger
from .quotes import Quotes, checked_filter, merged_metadata
from .records import Json, PolicyRecord, PolicyStatus, QuoteRecord, money
from .render import render
from .statements import MerchantLine

__all__ = ["Policies", "POLICY_STATUSES"]

POLICY_STATUSES: tuple[PolicyStatus, ...] = ("active", "cancelled", "completed", "claimed")


class Policies(Quotes, Ledger):
    """The policy lifecycle up to servicing."""

    @public
    def bind_policy(self, tenant: str, quote_id: str, consent: ConsentParams | Json | None = None) -> Json:
        """Bind an approved, unexpired quote: the policy is active and its premium is due to us.
        An individual borrower's quote needs ``consent`` (DESIGN §7.3), which the policy keeps."""
        given = None if consent is None else validated(ConsentParams, consent)
        quote = self._load_quote(tenant, quote_id, param="quote_id")
        if quote.policy_id is not None:
            raise Conflict(
                "quote_already_bound", f"Quote {quote_id} is already bound to policy {quote.policy_id}."
            )
        if quote.decision == "referred":
            raise Conflict(
                "quote_not_bindable",
                f"Quote {quote_id} is referred and not decided yet; bind it once approved.",
            )
        if quote.decision != "approved":
            raise Conflict(
                "quote_not_bindable",
                f"Quote {quote_id} was declined ({quote.decline_reason}) and cannot be bound.",
            )
        assert quote.expires_at is not None and quote.premium is not None  # approved
        if self._current >= quote.expires_at:
            raise Conflict(
                "quote_expired",
                f"Quote {quote_id} expired at {format_ts(quote.expires_at)}; create a new quote.",
            )
        consent_record = self._check_consent(quote, given)
        product = PRODUCTS[quote.product]
        limit = EXPOSURE_LIMITS[quote.borrower_type]
        if self._exposure_used(tenant, quote.borrower_ref) + quote.loan.principal > limit:
            raise Conflict(
                "borrower_exposure_limit",
                f"Binding quote {quote_id} would take the borrower's insured outstanding principal above "
                f"the limit of {Money(limit)}: another policy was bound since it was quoted.",
            )
        now = self._current
        with self._txn():
            record = PolicyRecord(
                id=self._new_id(tenant, "pol"),
                quote_id=quote_id,
                merchant_order_id=quote.merchant_order_id,
                product=product.name,
                premium=quote.premium,
                sum_insured=quote.sum_insured,
                bound_at=now,
                created_at=now,
                cooling_off_until=self._today() + dt.timedelta(days=product.cooling_off_days),
                installments=[dataclasses.replace(line) for line in quote.schedule],
                expected_losses=list(quote.expected_losses),
                repayment_method=quote.loan.repayment_method,
                parties=quote.parties,
                borrower_ref=quote.borrower_ref,
                metadata=dict(quote.metadata),
                consent=consent_record,
            )
            self._put_policy(tenant, record)
            quote.policy_id = record.id
            quote.version += 1
            self._put_quote(tenant, quote)
            self._post(
                tenant,
                "premium",
                "cash",
                "premium_income",
                record.premium,
                merchant=MerchantLine("premium", record.id, record.merchant_order_id, record.id),
                policy_id=record.id,
            )
            for line in record.installments:
                self._schedule(
                    tenant,
                    midnight(line.due_date + dt.timedelta(days=1)),
                    {"kind": "overdue", "policy": record.id, "installment": line.installment},
                    ref=record.id,
                )
            self._emit(tenant, "policy.bound", self._render_policy(record))
        return self._render_policy(record)

    def _check_consent(self, quote: QuoteRecord, consent: ConsentParams | None) -> Json | None:
        """The consent to store on the policy: required for an individual borrower, acknowledged
        between the quote's decision and now (the tenant's clock), else 422 ``consent_required``."""
        if consent is None:
            if quote.borrower_type == "individual":
                raise Invalid(
                    "consent_required",
                    f"Quote {quote.id} is for an individual borrower: bind it with consent="
                    '{"disclosure_acknowledged_at": ..., "reference": ...} once the borrower has '
                    "acknowledged its disclosure (yangguang_sdk.consent(client, reference=...) builds one).",
                    param="consent",
                )
            return None
        at = consent.disclosure_acknowledged_at.astimezone(UTC)
        decided = quote.decided_at or quote.created_at
        if at < decided or at > self._current:
            raise Invalid(
                "consent_required",
                f"consent.disclosure_acknowledged_at ({format_ts(at)}) must be between the quote's decision "
                f"({format_ts(decided)}) and now ({format_ts(self._current)}) on the sandbox clock: the "
                "borrower acknowledges the disclosure of this quote, before the bind.",
                param="consent",
            )
        disclosure = quote.disclosure
        return {
            "disclosure_acknowledged_at": format_ts(at),
            "reference": consent.reference,
            "wording_version": None if disclosure is None else disclosure.wording_version,
            "wording_sha256": None if disclosure is None else disclosure.wording_sha256,
        }

    @public
    def get_policy(self, tenant: str, policy_id: str) -> Json:
        return self._render_policy(self._load_policy(tenant, policy_id))

    @public
    def list_policies(
        self,
        tenant: str,
        *,
        status: str | None = None,
        merchant_order_id: str | None = None,
        product: str | None = None,
        created_gte: dt.datetime | None = None,
        created_lt: dt.datetime | None = None,
        metadata: Mapping[str, str] | None = None,
        limit: int = 20,
        starting_after: str | None = None,
    ) -> Json:
        """Policies oldest first, filtered (DESIGN §7.3); ``next_cursor`` is the last id of the page."""
        equals = self._filters(
            {"status": POLICY_STATUSES, "product": tuple(PRODUCTS)},
            status=status,
            merchant_order_id=merchant_order_id,
            product=product,
        )
        return self._list(
            "policies",
            tenant,
            lambda row: self._render_policy(PolicyRecord.from_json(row)),
            equals,
            created_gte,
            limit,
            starting_after,
            created_lt=created_lt,
            metadata=checked_filter(metadata),
        )

    @public
    def update_policy(self, tenant: str, policy_id: str, params: PolicyUpdateParams | Json) -> Json:
        """Merge ``params.metadata`` into the policy's (a key set to "" or None is removed), in any
        status. The version goes up when something changed; no event is sent (DESIGN §5 and §7.7
        list no ``policy.updated``: the next event about the policy carries the new metadata)."""
        p = validated(PolicyUpdateParams, params)
        record = self._load_policy(tenant, policy_id)
        merged = merged_metadata(record.metadata, p.metadata)
        if merged == record.metadata:
            return self._render_policy(record)
        with self._txn():
            record.metadata = merged
            record.version += 1
            self._put_policy(tenant, record)
        return self._render_policy(record)

    def _load_policy(self, tenant: str, policy_id: object, param: str | None = None) -> PolicyRecord:
        return PolicyRecord.from_json(self._load("policies", tenant, policy_id, "policy", param=param))

    def _put_policy(self, tenant: str, record: PolicyRecord) -> None:
        """Insert (stamped now, for ``created_gte``) or replace (keeping its place and stamp)."""
        self._store.put("policies", tenant, record.id, record.to_json(), ts=to_micros(self._current))

    def _render_policy(self, record: PolicyRecord) -> Json:
        return render(record, today=self._today())

    def _check_cancellable(self, record: PolicyRecord, action: str) -> None:
        """Refuse to ``action`` (cancel or settle) a policy that is not active and claim-free, with
        a code per state (DESIGN §7.3), so a cancel retried under a new key reads as done, not failed."""
        if record.claim_id is not None or record.status == "claimed":
            raise Conflict(
                "policy_claimed",
                f"Policy {record.id} has a claim ({record.claim_id}); it can no longer be {action}ed.",
            )
        if record.status == "cancelled":
            raise Conflict(
                "policy_already_cancelled",
                f"Policy {record.id} is already cancelled (refund {Money(record.refund or 0)}); "
                f"there is nothing left to {action}.",
            )
        if record.status == "completed":
            raise Conflict(
                "policy_already_completed",
                f"Policy {record.id} is already completed (settled or fully repaid); "
                f"there is nothing left to {action}.",
            )
        overdue = [str(i.installment) for i in record.installments if i.status == "overdue"]
        if overdue:
            raise Conflict(
                "policy_not_cancellable",
                f"Policy {record.id} has overdue installment(s) {', '.join(overdue)}; cannot {action} it "
                "until they are reported paid.",
            )

    def _earned_fraction(self, record: PolicyRecord, on: dt.date) -> Fraction:
        """e(d): §4's exposure-weighted earned share on ``on``, exactly, from the original EL weights
        (an endorsement keeps every due date, so the periods are the bind's)."""
        return pricing.earned_fraction(
            business_date(record.bound_at),
            [line.due_date for line in record.installments],
            record.expected_losses,
            on,
        )

    def _earned_refund(self, record: PolicyRecord, on: dt.date) -> int:
        """premium × f × (1 − e(on)), rounded down to the fen (DESIGN §4, §7.4)."""
        return pricing.share_refund(record.premium, record.share_in_force, self._earned_fraction(record, on))

    @public
    def cancel_policy(self, tenant: str, policy_id: str, *, reason: str, preview: bool = False) -> Json:
        """Cancel: full refund within the cooling-off period, else the unearned premium (DESIGN §4)."""
        record = self._load_policy(tenant, policy_id)
        if not isinstance(reason, str) or not 1 <= len(reason) <= 200:
            raise Invalid("invalid_parameter", "reason must be 1–200 characters", param="reason")
        self._check_cancellable(record, "cancel")
        today = self._today()
        if today <= record.cooling_off_until:  # the whole premium comes back, endorsements included
            refund = record.premium - record.refunded_total
        else:
            refund = self._earned_refund(record, today)
        if preview:
            return self._preview(record, refund)
        with self._txn():
            record.status = "cancelled"
            record.refund = refund
            record.cancelled_at = self._current
            record.cancel_reason = reason
            self._close(tenant, record, "policy.cancelled")
        return self._render_policy(record)

    @public
    def settle_policy(
        self, tenant: str, policy_id: str, *, settled_on: dt.date | None = None, preview: bool = False
    ) -> Json:
        """Early full repayment (提前结清): refund of the unearned premium, never the cooling-off rule."""
        record = self._load_policy(tenant, policy_id)
        today = self._today()
        bind_date = business_date(record.bound_at)
        if settled_on is None:
            settled_on = today
        elif not isinstance(settled_on, dt.date) or isinstance(settled_on, dt.datetime):
            raise Invalid("invalid_parameter", "settled_on must be a date (YYYY-MM-DD)", param="settled_on")
        elif not bind_date <= settled_on <= today:
            raise Invalid(
                "invalid_settlement_date",
                f"settled_on must be between the bind date ({bind_date}) and today ({today})",
                param="settled_on",
            )
        self._check_cancellable(record, "settle")
        refund = self._earned_refund(record, settled_on)
        if preview:
            return self._preview(record, refund)
        with self._txn():
            now = self._current
            for line in record.installments:
                if line.status != "paid":
                    line.status, line.paid_at = "paid", now
            record.status = "completed"
            record.refund = refund
            record.completed_at = now
            record.settled_on = settled_on
            self._close(tenant, record, "policy.completed")
        return self._render_policy(record)

    def _close(self, tenant: str, record: PolicyRecord, event_type: str) -> None:
        """The end of a cancel or settle (inside its transaction): store the new version, book the
        refund, drop the policy's pending transitions and emit ``event_type``."""
        record.version += 1
        refund = record.refund or 0
        record.refunded_total += refund
        self._put_policy(tenant, record)
        self._post_refund(tenant, record.id, record.merchant_order_id, refund, record.id)
        self._store.delete_timers(tenant, record.id)
        self._emit(tenant, event_type, self._render_policy(record))

    def _preview(self, record: PolicyRecord, refund: int) -> Json:
        policy = self._render_policy(record)
        policy["refund"] = money(refund)
        policy["refunded_total"] = money(record.refunded_total + refund)
        policy["preview"] = True
        return policy
