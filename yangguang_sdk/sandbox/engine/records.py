"""The engine's records, typed: quotes, policies and their installments, claims, repayments, events,
journal entries and the merchant's balance transactions.

Each record converts to and from the JSON document the store keeps (``to_json`` / ``from_json``).
That document is the record's wire shape (``yangguang_sdk.types``) plus internal keys starting with
``_``, which ``render`` leaves out; its top-level scalars are what list filters match on. Money is
integer fen (the engine insures CNY only), instants are aware UTC datetimes, dates are dates.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal

from ...types.products import BorrowerType, RepaymentMethod
from ...types.statement import BalanceTransactionType
from ..clock import format_ts, parse_ts
from ..disclosure import DisclosureRecord

__all__ = [
    "BalanceTransactionRecord",
    "ClaimRecord",
    "ClaimStatus",
    "Decision",
    "EndorsementRecord",
    "EventRecord",
    "InstallmentStatus",
    "JournalEntry",
    "Json",
    "LineRecord",
    "LoanRecord",
    "Parties",
    "PolicyRecord",
    "PolicyStatus",
    "QuoteRecord",
    "RepaymentRecord",
    "money",
]

Json = dict[str, Any]
Decision = Literal["approved", "declined", "referred"]
InstallmentStatus = Literal["scheduled", "paid", "overdue"]
PolicyStatus = Literal["active", "cancelled", "completed", "claimed"]
ClaimStatus = Literal["open", "approved", "paid", "rejected"]


def money(fen: int) -> Json:
    """Money on the wire: ``{"amount": fen, "currency": "CNY"}``."""
    return {"amount": fen, "currency": "CNY"}


def _fen(value: Json) -> int:
    return int(value["amount"])


def _ts(value: dt.datetime | None) -> str | None:
    return None if value is None else format_ts(value)


def _parse_ts(text: str | None) -> dt.datetime | None:
    return None if text is None else parse_ts(text)


def _fen_or_none(value: Json | None) -> int | None:
    return None if value is None else _fen(value)


def _money_or_none(fen: int | None) -> Json | None:
    return None if fen is None else money(fen)


@dataclass(slots=True)
class LineRecord:
    """One installment of a schedule (quote) or of a policy's loan."""

    installment: int
    due_date: dt.date
    principal: int
    interest: int
    amount: int
    status: InstallmentStatus = "scheduled"
    paid_at: dt.datetime | None = None

    def to_json(self, days_past_due: int = 0) -> Json:
        return {
            "installment": self.installment,
            "due_date": self.due_date.isoformat(),
            "principal": money(self.principal),
            "interest": money(self.interest),
            "amount": money(self.amount),
            "status": self.status,
            "days_past_due": days_past_due,
            "paid_at": _ts(self.paid_at),
        }

    @classmethod
    def from_json(cls, data: Json) -> LineRecord:
        return cls(
            data["installment"],
            dt.date.fromisoformat(data["due_date"]),
            _fen(data["principal"]),
            _fen(data["interest"]),
            _fen(data["amount"]),
            data["status"],
            _parse_ts(data["paid_at"]),
        )


@dataclass(slots=True)
class LoanRecord:
    """The loan a quote prices."""

    principal: int
    term_months: int
    annual_rate: Decimal
    first_due_date: dt.date
    repayment_method: RepaymentMethod = "equal_installment"

    def to_json(self) -> Json:
        return {
            "principal": money(self.principal),
            "term_months": self.term_months,
            "annual_rate": str(self.annual_rate),
            "first_due_date": self.first_due_date.isoformat(),
            "repayment_method": self.repayment_method,
        }

    @classmethod
    def from_json(cls, data: Json) -> LoanRecord:
        return cls(
            _fen(data["principal"]),
            data["term_months"],
            Decimal(data["annual_rate"]),
            dt.date.fromisoformat(data["first_due_date"]),
            data.get("repayment_method", "equal_installment"),
        )


@dataclass(slots=True)
class Parties:
    """Who a quote and its policy concern besides the borrower, in their wire shapes: the
    beneficiary (paid on a claim), and the vehicle, guarantor or contract a product requires."""

    beneficiary: Json | None = None
    vehicle: Json | None = None
    guarantor: Json | None = None
    contract: Json | None = None

    def to_json(self) -> Json:
        return {
            "beneficiary": self.beneficiary,
            "vehicle": self.vehicle,
            "guarantor": self.guarantor,
            "contract": self.contract,
        }

    @classmethod
    def from_json(cls, data: Json) -> Parties:
        return cls(data.get("beneficiary"), data.get("vehicle"), data.get("guarantor"), data.get("contract"))


@dataclass(slots=True)
class QuoteRecord:
    """An underwriting decision and its price; ``expected_losses`` (EL_t) stay internal."""

    id: str
    product: str
    merchant_order_id: str
    decision: Decision
    decline_reason: str | None
    premium: int | None
    sum_insured: int
    comprehensive_cost: Decimal | None  # 6 places
    created_at: dt.datetime
    decided_at: dt.datetime | None
    expires_at: dt.datetime | None
    schedule: list[LineRecord]
    loan: LoanRecord
    borrower_type: BorrowerType
    credit_score_used: int | None
    expected_losses: list[Decimal]
    policy_id: str | None = None
    version: int = 1
    parties: Parties = field(default_factory=lambda: Parties())
    borrower_ref: str | None = (
        None  # a SHA-256 digest of the borrower's ID number or USCC (quotes.borrower_ref)
    )
    metadata: dict[str, str] = field(default_factory=dict)
    disclosure: DisclosureRecord | None = None  # None on a declined quote

    def to_json(self) -> Json:
        cost = self.comprehensive_cost
        return {
            "object": "quote",
            "id": self.id,
            "product": self.product,
            "merchant_order_id": self.merchant_order_id,
            "decision": self.decision,
            "decline_reason": self.decline_reason,
            "premium": _money_or_none(self.premium),
            "sum_insured": money(self.sum_insured),
            "comprehensive_cost": None if cost is None else str(cost),
            "repayment_method": self.loan.repayment_method,
            "created_at": format_ts(self.created_at),
            "decided_at": _ts(self.decided_at),
            "expires_at": _ts(self.expires_at),
            "schedule": [line.to_json() for line in self.schedule],
            "policy_id": self.policy_id,
            "loan": self.loan.to_json(),
            "borrower_type": self.borrower_type,
            "credit_score_used": self.credit_score_used,
            "version": self.version,
            "metadata": dict(self.metadata),
            "disclosure": None if self.disclosure is None else self.disclosure.to_json(),
            **self.parties.to_json(),
            "_borrower": self.borrower_ref,
            "_expected_losses": [str(x) for x in self.expected_losses],
        }

    @classmethod
    def from_json(cls, data: Json) -> QuoteRecord:
        cost = data["comprehensive_cost"]
        return cls(
            id=data["id"],
            product=data["product"],
            merchant_order_id=data["merchant_order_id"],
            decision=data["decision"],
            decline_reason=data["decline_reason"],
            premium=_fen_or_none(data["premium"]),
            sum_insured=_fen(data["sum_insured"]),
            comprehensive_cost=None if cost is None else Decimal(cost),
            created_at=parse_ts(data["created_at"]),
            decided_at=_parse_ts(data["decided_at"]),
            expires_at=_parse_ts(data["expires_at"]),
            schedule=[LineRecord.from_json(line) for line in data["schedule"]],
            loan=LoanRecord.from_json(data["loan"]),
            borrower_type=data["borrower_type"],
            credit_score_used=data["credit_score_used"],
            expected_losses=[Decimal(x) for x in data["_expected_losses"]],
            policy_id=data["policy_id"],
            version=data["version"],
            parties=Parties.from_json(data),
            borrower_ref=data.get("_borrower"),
            metadata=dict(data.get("metadata") or {}),
            disclosure=None
            if data.get("disclosure") is None
            else DisclosureRecord.from_json(data["disclosure"]),
        )


@dataclass(slots=True)
class PolicyRecord:
    """Cover in force (or ended) on one loan; ``expected_losses`` (EL_t, for refunds) stay internal."""

    id: str
    quote_id: str
    merchant_order_id: str
    product: str
    premium: int
    sum_insured: int
    bound_at: dt.datetime
    created_at: dt.datetime
    cooling_off_until: dt.date
    installments: list[LineRecord]
    expected_losses: list[Decimal]
    repayment_method: RepaymentMethod = "equal_installment"
    status: PolicyStatus = "active"
    refund: int | None = None
    cancelled_at: dt.datetime | None = None
    cancel_reason: str | None = None
    completed_at: dt.datetime | None = None
    settled_on: dt.date | None = None
    claim_id: str | None = None
    defaulted_at: dt.datetime | None = None
    version: int = 1
    parties: Parties = field(default_factory=lambda: Parties())
    borrower_ref: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    consent: Json | None = None  # {disclosure_acknowledged_at, reference, wording_version, wording_sha256}
    share_in_force: Fraction = Fraction(1)  # f of DESIGN §7.4: 1 at bind, × (B_k − A) / B_k per endorsement
    refunded_total: int = 0  # every refund so far, endorsements included

    def to_json(self, days_past_due: list[int] | None = None) -> Json:
        """The stored document; ``days_past_due`` (one per installment) for the wire view."""
        lines = self.installments
        return {
            "object": "policy",
            "id": self.id,
            "quote_id": self.quote_id,
            "merchant_order_id": self.merchant_order_id,
            "product": self.product,
            "status": self.status,
            "premium": money(self.premium),
            "sum_insured": money(self.sum_insured),
            "bound_at": format_ts(self.bound_at),
            "created_at": format_ts(self.created_at),
            "cooling_off_until": self.cooling_off_until.isoformat(),
            "repayment_method": self.repayment_method,
            "refund": _money_or_none(self.refund),
            "cancelled_at": _ts(self.cancelled_at),
            "cancel_reason": self.cancel_reason,
            "completed_at": _ts(self.completed_at),
            "settled_on": None if self.settled_on is None else self.settled_on.isoformat(),
            "claim_id": self.claim_id,
            "defaulted_at": _ts(self.defaulted_at),
            "installments": [
                line.to_json(0 if days_past_due is None else days_past_due[n]) for n, line in enumerate(lines)
            ],
            "version": self.version,
            "preview": False,
            "metadata": dict(self.metadata),
            "consent": self.consent,
            "refunded_total": money(self.refunded_total),
            "_share_in_force": str(self.share_in_force),
            **self.parties.to_json(),
            "_borrower": self.borrower_ref,
            "_expected_losses": [str(x) for x in self.expected_losses],
        }

    @classmethod
    def from_json(cls, data: Json) -> PolicyRecord:
        settled_on = data["settled_on"]
        return cls(
            id=data["id"],
            quote_id=data["quote_id"],
            merchant_order_id=data["merchant_order_id"],
            product=data["product"],
            premium=_fen(data["premium"]),
            sum_insured=_fen(data["sum_insured"]),
            bound_at=parse_ts(data["bound_at"]),
            created_at=parse_ts(data["created_at"]),
            cooling_off_until=dt.date.fromisoformat(data["cooling_off_until"]),
            installments=[LineRecord.from_json(line) for line in data["installments"]],
            expected_losses=[Decimal(x) for x in data["_expected_losses"]],
            repayment_method=data.get("repayment_method", "equal_installment"),
            status=data["status"],
            refund=_fen_or_none(data["refund"]),
            cancelled_at=_parse_ts(data["cancelled_at"]),
            cancel_reason=data["cancel_reason"],
            completed_at=_parse_ts(data["completed_at"]),
            settled_on=None if settled_on is None else dt.date.fromisoformat(settled_on),
            claim_id=data["claim_id"],
            defaulted_at=_parse_ts(data["defaulted_at"]),
            version=data["version"],
            parties=Parties.from_json(data),
            borrower_ref=data.get("_borrower"),
            metadata=dict(data.get("metadata") or {}),
            consent=data.get("consent"),
            share_in_force=Fraction(data.get("_share_in_force", "1")),
            refunded_total=_fen(data["refunded_total"]) if data.get("refunded_total") else 0,
        )


@dataclass(slots=True)
class ClaimRecord:
    """A claim opened on a default (day D): approved D + 1, paid D + 4, recovered 30 days later."""

    id: str
    policy_id: str
    amount: int
    default_date: dt.date
    installment: int
    opened_at: dt.datetime
    status: ClaimStatus = "open"
    approved_at: dt.datetime | None = None
    paid_at: dt.datetime | None = None
    recovered: int | None = None
    recovered_at: dt.datetime | None = None
    version: int = 1
    beneficiary: Json | None = None  # the policy's: who is paid
    paid_to: Json | None = None  # who was paid, once paid (代偿)
    merchant_order_id: str | None = None  # the policy's
    product: str | None = None  # the policy's
    metadata: dict[str, str] = field(default_factory=dict)  # the policy's when the claim opened

    def to_json(self) -> Json:
        return {
            "object": "claim",
            "id": self.id,
            "policy_id": self.policy_id,
            "status": self.status,
            "amount": money(self.amount),
            "default_date": self.default_date.isoformat(),
            "installment": self.installment,
            "opened_at": format_ts(self.opened_at),
            "approved_at": _ts(self.approved_at),
            "paid_at": _ts(self.paid_at),
            "recovered": _money_or_none(self.recovered),
            "recovered_at": _ts(self.recovered_at),
            "version": self.version,
            "beneficiary": self.beneficiary,
            "paid_to": self.paid_to,
            "merchant_order_id": self.merchant_order_id,
            "product": self.product,
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_json(cls, data: Json) -> ClaimRecord:
        return cls(
            id=data["id"],
            policy_id=data["policy_id"],
            amount=_fen(data["amount"]),
            default_date=dt.date.fromisoformat(data["default_date"]),
            installment=data["installment"],
            opened_at=parse_ts(data["opened_at"]),
            status=data["status"],
            approved_at=_parse_ts(data["approved_at"]),
            paid_at=_parse_ts(data["paid_at"]),
            recovered=_fen_or_none(data["recovered"]),
            recovered_at=_parse_ts(data["recovered_at"]),
            version=data["version"],
            beneficiary=data.get("beneficiary"),
            paid_to=data.get("paid_to"),
            merchant_order_id=data.get("merchant_order_id"),
            product=data.get("product"),
            metadata=dict(data.get("metadata") or {}),
        )


@dataclass(slots=True)
class EndorsementRecord:
    """A change to a policy (批改): a principal reduction after a partial return (DESIGN §7.4)."""

    id: str | None  # None for a preview
    policy_id: str
    amount: int  # A, the principal reduction
    premium_refund: int
    effective_date: dt.date
    schedule: list[LineRecord]
    sum_insured: int
    created_at: dt.datetime
    preview: bool = False

    def to_json(self) -> Json:
        return {
            "object": "endorsement",
            "id": self.id,
            "policy_id": self.policy_id,
            "type": "principal_reduction",
            "amount": money(self.amount),
            "premium_refund": money(self.premium_refund),
            "effective_date": self.effective_date.isoformat(),
            "schedule": [line.to_json() for line in self.schedule],
            "sum_insured": money(self.sum_insured),
            "created_at": format_ts(self.created_at),
            "preview": self.preview,
        }


@dataclass(slots=True)
class RepaymentRecord:
    """An installment the platform reported paid."""

    id: str
    policy_id: str
    installment: int
    amount: int
    paid_at: dt.datetime
    created_at: dt.datetime
    version: int = 1

    def to_json(self) -> Json:
        return {
            "object": "repayment",
            "id": self.id,
            "policy_id": self.policy_id,
            "installment": self.installment,
            "amount": money(self.amount),
            "paid_at": format_ts(self.paid_at),
            "created_at": format_ts(self.created_at),
            "version": self.version,
        }


@dataclass(slots=True)
class EventRecord:
    """Something that happened, with the object as it was then (``data``, in its wire shape);
    ``extra`` adds top-level fields (the ``installment`` of an installment event)."""

    id: str
    type: str
    timestamp: dt.datetime
    data: Json
    extra: Json = field(default_factory=dict)

    def to_json(self) -> Json:
        return {
            "object": "event",
            "id": self.id,
            "type": self.type,
            "timestamp": format_ts(self.timestamp),
            "data": self.data,
            **self.extra,
        }


@dataclass(slots=True)
class JournalEntry:
    """One balanced double entry: ``fen`` debited to ``debit`` and credited to ``credit``."""

    id: str
    kind: str
    timestamp: dt.datetime
    debit: str
    credit: str
    fen: int
    refs: dict[str, str]

    def to_json(self) -> Json:
        return {
            "object": "journal_entry",
            "id": self.id,
            "kind": self.kind,
            "timestamp": format_ts(self.timestamp),
            "currency": "CNY",
            "lines": [
                {"account": self.debit, "debit": self.fen, "credit": 0},
                {"account": self.credit, "debit": 0, "credit": self.fen},
            ],
            **self.refs,
        }


@dataclass
class BalanceTransactionRecord:
    """One movement of money between the merchant and the insurer (DESIGN §7.6): ``fen`` is signed,
    positive owed to the insurer, negative owed to the merchant."""

    id: str
    type: BalanceTransactionType
    fen: int
    policy_id: str
    merchant_order_id: str | None
    source_id: str
    created: dt.datetime

    def to_json(self) -> Json:
        return {
            "object": "balance_transaction",
            "id": self.id,
            "type": self.type,
            "amount": money(self.fen),
            "policy_id": self.policy_id,
            "merchant_order_id": self.merchant_order_id,
            "source_id": self.source_id,
            "created": format_ts(self.created),
        }
