"""Policies: a bound quote, the cover that stands behind the lender."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal, get_args

from pydantic import Field, field_validator

from ._base import APIObject, CalendarDate, RequestModel, Timestamp
from .disclosure import Consent, ConsentParams
from .metadata import MetadataUpdate
from .money import Money
from .products import RepaymentMethod
from .quote import Beneficiary, Contract, Guarantor, Installment, Vehicle

__all__ = [
    "Policy",
    "PolicyBindParams",
    "PolicyCancelParams",
    "PolicySettleParams",
    "PolicyUpdateParams",
    "Endorsement",
    "EndorsementCreateParams",
    "PolicyStatus",
    "CancelReason",
    "CANCEL_REASONS",
    "Repayment",
    "RepaymentCreateParams",
]

PolicyStatus = Literal["active", "cancelled", "completed", "claimed"]
CancelReason = Literal[
    "requested_by_customer",
    "order_refunded",
    "order_cancelled",
    "application_withdrawn",
    "loan_refinanced",
    "duplicate",
    "fraud_suspected",
    "other",
]
"""The documented cancel reasons (docs/checkout.md). ``reason`` stays free text of 1-200 characters,
so a merchant's own code is accepted too; these are the ones reports and the dashboard know."""
CANCEL_REASONS: tuple[str, ...] = get_args(CancelReason)


class Policy(APIObject):
    """Credit insurance in force (or ended) on one loan."""

    object: Literal["policy"] = "policy"
    id: str
    quote_id: str
    merchant_order_id: str
    product: str
    status: PolicyStatus
    premium: Money
    sum_insured: Money
    bound_at: dt.datetime
    cooling_off_until: dt.date
    repayment_method: RepaymentMethod = "equal_installment"
    beneficiary: Beneficiary | None = None
    vehicle: Vehicle | None = None
    guarantor: Guarantor | None = None
    contract: Contract | None = None
    refund: Money | None = None
    cancelled_at: dt.datetime | None = None
    cancel_reason: str | None = None
    completed_at: dt.datetime | None = None
    settled_on: dt.date | None = None
    claim_id: str | None = None
    defaulted_at: dt.datetime | None = None
    created_at: dt.datetime | None = None
    installments: list[Installment] = Field(default_factory=list)
    version: int = 1
    preview: bool = False
    metadata: dict[str, str] = Field(default_factory=dict)
    """Your own key-value pairs: the quote's at bind, then as ``policies.update`` set them."""
    consent: Consent | None = None
    """The borrower's consent the policy was bound with (individual borrowers), and its wording."""
    refunded_total: Money | None = None
    """Every refund so far: endorsements' and the cancel's or settle's (``refund`` is the latter)."""


class PolicyBindParams(RequestModel):
    quote_id: Annotated[str, Field(min_length=1, max_length=64)]
    consent: ConsentParams | None = None
    """Required when the quote's borrower is an individual (DESIGN §7.3)."""


class PolicyUpdateParams(RequestModel):
    """The body of ``POST /v1/policies/{id}``: metadata keys to merge in (``""`` or null removes one)."""

    metadata: MetadataUpdate


class Endorsement(APIObject):
    """A change to a policy (批改): a principal reduction after a partial return (DESIGN §7.4)."""

    object: Literal["endorsement"] = "endorsement"
    id: str | None = None
    """``end_...``; None on a preview."""
    policy_id: str
    type: Literal["principal_reduction"] = "principal_reduction"
    amount: Money
    """The principal reduction."""
    premium_refund: Money
    effective_date: dt.date
    schedule: list[Installment] = Field(default_factory=list)
    """The policy's new full schedule: the paid installments, then the re-amortised ones."""
    sum_insured: Money
    created_at: dt.datetime | None = None
    preview: bool = False


class EndorsementCreateParams(RequestModel):
    """The body of ``POST /v1/policies/{id}/endorsements``."""

    type: Literal["principal_reduction"] = "principal_reduction"
    principal_reduction: Money
    preview: bool = False

    @field_validator("principal_reduction")
    @classmethod
    def _positive(cls, value: Money) -> Money:
        if value.amount <= 0:
            raise ValueError("must be greater than zero")
        return value


class PolicyCancelParams(RequestModel):
    reason: Annotated[
        str,
        Field(
            min_length=1,
            max_length=200,
            description="Why the cover ends: one of " + ", ".join(CANCEL_REASONS) + ", or your own code "
            "(1-200 characters).",
        ),
    ] = "requested_by_customer"
    preview: bool = False


class PolicySettleParams(RequestModel):
    settled_on: CalendarDate | None = None
    preview: bool = False


class Repayment(APIObject):
    """An installment the platform reported paid."""

    object: Literal["repayment"] = "repayment"
    id: str
    policy_id: str
    installment: int
    amount: Money
    paid_at: dt.datetime
    created_at: dt.datetime | None = None


class RepaymentCreateParams(RequestModel):
    policy_id: Annotated[str, Field(min_length=1, max_length=64)]
    installment: Annotated[int, Field(strict=True, ge=1, le=120)]
    amount: Money
    paid_at: Timestamp
    """When the borrower paid; naive times are refused wherever this model is validated."""
