"""The wire models of the insurer's API (pydantic v2)."""

from __future__ import annotations

from ._response_info import ResponseInfo
from .claim import Claim, ClaimStatus, TestClock
from .event import (
    EVENT_TYPES,
    BaseEvent,
    ClaimEvent,
    Event,
    GenericEvent,
    InstallmentEvent,
    PolicyEvent,
    QuoteEvent,
    RepaymentEvent,
    WebhookEndpointEvent,
    parse_event,
)
from .identity import PhoneNumber, ResidentIdNumber, SocialCreditCode
from .money import Money
from .policy import (
    Policy,
    PolicyBindParams,
    PolicyCancelParams,
    PolicySettleParams,
    PolicyStatus,
    Repayment,
    RepaymentCreateParams,
)
from .quote import (
    Borrower,
    EnterpriseBorrower,
    IndividualBorrower,
    Installment,
    LoanTerms,
    Quote,
    QuoteCreateParams,
)
from .quote_params import (
    BorrowerParam,
    EnterpriseBorrowerParam,
    IndividualBorrowerParam,
    LoanParam,
    MoneyParam,
)
from .webhook_endpoint import DeliveryAttempt, WebhookEndpoint, WebhookEndpointCreateParams

__all__ = [
    "EVENT_TYPES",
    "BaseEvent",
    "Borrower",
    "BorrowerParam",
    "Claim",
    "ClaimEvent",
    "ClaimStatus",
    "DeliveryAttempt",
    "EnterpriseBorrower",
    "EnterpriseBorrowerParam",
    "Event",
    "GenericEvent",
    "IndividualBorrower",
    "IndividualBorrowerParam",
    "Installment",
    "InstallmentEvent",
    "LoanParam",
    "LoanTerms",
    "Money",
    "MoneyParam",
    "PhoneNumber",
    "Policy",
    "PolicyBindParams",
    "PolicyCancelParams",
    "PolicyEvent",
    "PolicySettleParams",
    "PolicyStatus",
    "Quote",
    "QuoteCreateParams",
    "QuoteEvent",
    "Repayment",
    "RepaymentCreateParams",
    "RepaymentEvent",
    "ResidentIdNumber",
    "ResponseInfo",
    "SocialCreditCode",
    "TestClock",
    "WebhookEndpoint",
    "WebhookEndpointCreateParams",
    "WebhookEndpointEvent",
    "parse_event",
]
