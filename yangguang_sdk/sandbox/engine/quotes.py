"""Quotes: underwriting and pricing (DESIGN §4).

A quote takes a validated ``QuoteCreateParams`` (the model checks every field on its own: identity
numbers, scores, rates); the engine checks only what needs the product table, the clock or the
schedule arithmetic. A referred quote is decided 30 minutes after it was created
(``quote.decided``); an approved quote can be bound until 30 minutes after its decision
(``expires_at`` itself is too late). A declined quote, also a referral declined later, has no
``premium`` (a checkout must not show a price that is not offered); its ``comprehensive_cost``
stays, since it explains a cost-cap decline.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal

from pydantic import BaseModel, ValidationError

from ...types.exposure import ExposureCheckParams
from ...types.metadata import METADATA_MAX_KEYS, filter_problem, merge_metadata, metadata_filter
from ...types.product_rules import beneficiary_declined, effective_beneficiary, quote_rule_violation
from ...types.quote import Borrower, QuoteCreateParams
from .. import pricing
from ..clock import to_micros
from ..disclosure import WORDING_SHA256, WORDINGS, disclose
from ..errors import Invalid, NotFound, SandboxError, validated
from ..products import EXPOSURE_LIMITS, PRICING, PRODUCTS
from ._core import Core, public
from .records import Decision, Json, LineRecord, LoanRecord, Parties, QuoteRecord, money
from .render import render

__all__ = [
    "Quotes",
    "DECISIONS",
    "MAX_PRINCIPAL_FEN",
    "MAX_FIRST_DUE_AHEAD",
    "borrower_ref",
    "checked_filter",
    "merged_metadata",
]

DECISIONS: tuple[Decision, ...] = ("approved", "declined", "referred")

# Sanity bounds far beyond every product's limits: past them the request is invalid (422) rather
# than priced and declined, as the schedule arithmetic (28-digit decimals, dates up to year 9999)
# would fail on them.
MAX_PRINCIPAL_FEN = 10**14  # CNY 1,000,000,000,000.00
MAX_FIRST_DUE_AHEAD = dt.timedelta(days=3660)
_COST_PLACES = Decimal("0.000001")


def borrower_ref(borrower: Borrower) -> str:
    """Who the borrower is, for the exposure limit, without keeping the number itself: a digest of
    the resident ID number or the USCC (the store never holds either in the clear)."""
    number = borrower.id_number.value if borrower.type == "individual" else borrower.uscc.value
    return hashlib.sha256(f"yangguang-borrower:{borrower.type}:{number}".encode()).hexdigest()


def checked_filter(metadata: Mapping[str, object] | None) -> dict[str, str] | None:
    """A list's metadata filter checked by the metadata rules (422 naming the key)."""
    if not metadata:
        return None
    try:
        return metadata_filter(metadata)
    except ValidationError as exc:
        param, message = filter_problem(exc)
        raise Invalid("invalid_parameter", message, param=param) from None


def merged_metadata(existing: Mapping[str, str], update: Mapping[str, str | None] | None) -> dict[str, str]:
    """``existing`` with ``update`` merged in (``""`` or None removes a key); at most 50 keys."""
    merged = merge_metadata(existing, update or {})
    if len(merged) > METADATA_MAX_KEYS:
        raise Invalid(
            "invalid_parameter",
            f"metadata would have {len(merged)} keys; at most {METADATA_MAX_KEYS} are kept "
            '(remove some by setting them to "")',
            param="metadata",
        )
    return merged


def _wire(params: BaseModel | None) -> Json | None:
    return None if params is None else params.model_dump(mode="json", exclude_none=True)


def line_record(line: pricing.ScheduleLine) -> LineRecord:
    """A scheduled installment from a line of the priced schedule."""
    return LineRecord(line.installment, line.due_date, line.principal, line.interest, line.amount)


class Quotes(Core):
    """Underwriting: create, read and decide quotes."""

    @public
    def create_quote(self, tenant: str, params: QuoteCreateParams | Json) -> Json:
        """Underwrite and price a loan: decision approved, declined or referred (DESIGN §4)."""
        p = validated(QuoteCreateParams, params)
        product = PRODUCTS[p.product]
        borrower = p.borrower
        violation = quote_rule_violation(p)
        if violation is not None:
            raise Invalid(violation.code, violation.message, param=violation.param)
        score = borrower.credit_score
        who = borrower_ref(borrower)
        loan = p.loan
        if loan.principal.currency != "CNY":
            raise Invalid(
                "currency_not_supported", "the sandbox insures CNY loans only", param="loan.principal"
            )
        today = self._today()
        if loan.first_due_date <= today:
            raise Invalid(
                "invalid_first_due_date",
                f"first_due_date must be after today ({today.isoformat()} on the sandbox clock)",
                param="loan.first_due_date",
            )
        if loan.first_due_date > today + MAX_FIRST_DUE_AHEAD:
            raise Invalid(
                "invalid_first_due_date",
                "first_due_date must be within 10 years of today on the sandbox clock",
                param="loan.first_due_date",
            )
        if loan.principal.amount > MAX_PRINCIPAL_FEN:
            raise Invalid(
                "invalid_parameter",
                "principal is beyond any product's limits (at most CNY 1,000,000,000,000.00)",
                param="loan.principal",
            )
        principal_fen = loan.principal.amount
        principal = pricing.fen_to_yuan(principal_fen)
        rate, term, method = loan.annual_rate, loan.term_months, loan.method

        # The decision order of DESIGN §7.5: limits, the beneficiary's licence, the score, the
        # borrower's exposure, the cost cap, then a referral when there is no score.
        decision: Decision = "approved"
        reason = None
        if not product.within_limits(principal, term):
            priced = pricing.price_loan(
                product, principal_fen, rate, term, loan.first_due_date, None, method=method
            )
            decision, reason = "declined", "outside_product_limits"
        else:
            priced = pricing.price_loan(
                product,
                principal_fen,
                rate,
                term,
                loan.first_due_date,
                PRICING.referral_score if score is None else score,
                method=method,
            )
            assert priced.comprehensive_cost is not None
            if beneficiary_declined(p):
                decision, reason = "declined", "beneficiary_not_licensed"
            elif score is not None and score < PRICING.min_credit_score:
                decision, reason = "declined", "credit_score_below_threshold"
            elif self._exposure_used(tenant, who) + principal_fen > EXPOSURE_LIMITS[borrower.type]:
                decision, reason = "declined", "borrower_exposure_limit"
            elif priced.comprehensive_cost > PRICING.financing_cost_cap:
                decision, reason = "declined", "financing_cost_cap_exceeded"
            elif score is None:
                decision = "referred"

        now = self._current
        cost = (
            None
            if priced.comprehensive_cost is None
            else priced.comprehensive_cost.quantize(_COST_PLACES, ROUND_HALF_UP)
        )
        beneficiary = effective_beneficiary(p)
        disclosure = None
        if decision != "declined":  # a price that is not offered is not disclosed either
            assert priced.premium is not None and cost is not None
            disclosure = disclose(
                premium=priced.premium,
                comprehensive_cost=cost,
                total_interest=sum(line.interest for line in priced.schedule),
                cooling_off_days=product.cooling_off_days,
                beneficiary=beneficiary,
            )
        with self._txn():
            record = QuoteRecord(
                id=self._new_id(tenant, "quo"),
                product=product.name,
                merchant_order_id=p.merchant_order_id,
                decision=decision,
                decline_reason=reason,
                premium=None if decision == "declined" else priced.premium,
                sum_insured=priced.sum_insured,
                comprehensive_cost=cost,
                created_at=now,
                decided_at=None if decision == "referred" else now,
                expires_at=now + PRICING.quote_validity if decision == "approved" else None,
                schedule=[line_record(line) for line in priced.schedule],
                loan=LoanRecord(principal_fen, term, rate, loan.first_due_date, method),
                borrower_type=borrower.type,
                credit_score_used=priced.score_used,
                expected_losses=list(priced.expected_losses),
                parties=Parties(
                    beneficiary,
                    _wire(p.vehicle),
                    _wire(p.guarantor),
                    _wire(p.contract),
                ),
                borrower_ref=who,
                metadata=merged_metadata({}, p.metadata),
                disclosure=disclosure,
            )
            stored = self._put_quote(tenant, record)
            if decision == "referred":
                self._schedule(
                    tenant,
                    now + PRICING.referral_delay,
                    {"kind": "quote_decision", "quote": record.id},
                    ref=record.id,
                )
        return render(stored)

    @public
    def create_quotes(
        self, tenant: str, items: Sequence[QuoteCreateParams | Json]
    ) -> list[Json | SandboxError]:
        """``create_quote`` for each item, in order, in one transaction (one lock, one clock update,
        one commit): a quote, or the error that item raised (its writes undone). An item that fails
        never fails the others: partial success is the normal outcome of a batch (DESIGN §7.8)."""
        results: list[Json | SandboxError] = []
        for item in items:
            try:
                results.append(self.create_quote(tenant, item))
            except SandboxError as exc:
                results.append(exc)
        return results

    @public
    def check_exposure(self, tenant: str, params: ExposureCheckParams | Json) -> Json:
        """The borrower's exposure limit, what their active policies use of it, and what is left."""
        p = validated(ExposureCheckParams, params)
        limit = EXPOSURE_LIMITS[p.borrower.type]
        used = self._exposure_used(tenant, borrower_ref(p.borrower))
        return {
            "object": "exposure_check",
            "limit": money(limit),
            "used": money(used),
            "available": money(max(limit - used, 0)),
        }

    def _exposure_used(self, tenant: str, ref: str | None) -> int:
        """Σ over the borrower's active policies of the rounded principal parts of their unpaid
        installments, in fen (a scan of the tenant's active policies of that borrower)."""
        if ref is None:
            return 0
        rows = self._store.scan("policies", tenant, equals={"status": "active", "_borrower": ref})
        return sum(
            line["principal"]["amount"]
            for row in rows
            for line in row["installments"]
            if line["status"] != "paid"
        )

    @public
    def get_quote(self, tenant: str, quote_id: str) -> Json:
        return render(self._load_quote(tenant, quote_id))

    @public
    def get_wording(self, tenant: str, version: str) -> Json:
        """A policy wording by version: its text and the hex SHA-256 of the text (UTF-8)."""
        text = WORDINGS.get(version) if isinstance(version, str) else None
        if text is None:
            raise NotFound(f"No such wording version: {version!r} (known: {', '.join(sorted(WORDINGS))})")
        return {"object": "wording", "version": version, "text": text, "sha256": WORDING_SHA256[version]}

    @public
    def list_quotes(
        self,
        tenant: str,
        *,
        merchant_order_id: str | None = None,
        decision: str | None = None,
        product: str | None = None,
        created_gte: dt.datetime | None = None,
        created_lt: dt.datetime | None = None,
        metadata: Mapping[str, str] | None = None,
        limit: int = 20,
        starting_after: str | None = None,
    ) -> Json:
        """Quotes oldest first, filtered (DESIGN §7.3); ``next_cursor`` is the last id of the page."""
        equals = self._filters(
            {"decision": DECISIONS, "product": tuple(PRODUCTS)},
            merchant_order_id=merchant_order_id,
            decision=decision,
            product=product,
        )
        return self._list(
            "quotes",
            tenant,
            render,
            equals,
            created_gte,
            limit,
            starting_after,
            created_lt=created_lt,
            metadata=checked_filter(metadata),
        )

    def _load_quote(self, tenant: str, quote_id: object, param: str | None = None) -> QuoteRecord:
        return QuoteRecord.from_json(self._load("quotes", tenant, quote_id, "quote", param=param))

    def _put_quote(self, tenant: str, record: QuoteRecord) -> Json:
        """Insert (stamped now, for ``created_gte``) or replace (keeping its place and stamp); returns
        the stored document."""
        stored = record.to_json()
        self._store.put("quotes", tenant, record.id, stored, ts=to_micros(self._current))
        return stored

    def _on_quote_decision(self, tenant: str, data: Json) -> None:
        stored = self._store.get("quotes", tenant, data["quote"])
        if stored is None or stored["decision"] != "referred":
            return
        record = QuoteRecord.from_json(stored)
        if pricing.fen_to_yuan(record.loan.principal) <= PRICING.referral_max_principal:
            record.decision = "approved"
            record.expires_at = self._current + PRICING.quote_validity
        else:  # a declined quote shows no price (DESIGN §7.3); comprehensive_cost stays
            record.decision, record.decline_reason = "declined", "referral_declined"
            record.premium = record.disclosure = None
        record.decided_at = self._current
        record.version += 1
        self._emit(tenant, "quote.decided", render(self._put_quote(tenant, record)))
