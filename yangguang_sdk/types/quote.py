"""Quotes: the insurer's underwriting decision and price for one installment purchase or loan."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from ._base import APIObject, CalendarDate, NestedObject, RequestModel
from .disclosure import Disclosure
from .identity import PhoneNumber, ResidentIdNumber, SocialCreditCode, VehicleIdentificationNumber
from .metadata import Metadata
from .money import Money
from .products import BeneficiaryType, RepaymentMethod

__all__ = [
    "Installment",
    "Quote",
    "IndividualBorrower",
    "EnterpriseBorrower",
    "Borrower",
    "LoanTerms",
    "QuoteCreateParams",
    "Beneficiary",
    "BeneficiaryParams",
    "Vehicle",
    "VehicleParams",
    "Guarantor",
    "GuarantorParams",
    "Contract",
    "ContractParams",
    "ProductName",
    "Decision",
    "MerchantOrderId",
    "MERCHANT_ORDER_ID_RULE",
]

ProductName = Literal[
    "consumer_installment",
    "platform_loan",
    "auto_installment",
    "sme_loan",
    "enterprise_loan",
    "guaranteed_loan",
    "contract_performance",
]
Decision = Literal["approved", "declined", "referred"]
InstallmentStatus = Literal["scheduled", "paid", "overdue"]


MERCHANT_ORDER_ID_RULE = (
    "an order id is 1-64 characters of any script (订单-2026-0001 is fine): letters, digits, "
    "punctuation and symbols, with no whitespace and no control or invisible characters"
)


def _order_id(value: str) -> str:
    """Refuses what cannot be a merchant's order id, saying the rule in words (never the value)."""
    if not value:
        why = "is empty"
    elif len(value) > 64:
        why = f"is {len(value)} characters long"
    elif any(c.isspace() for c in value):
        why = "contains a space or other whitespace"
    elif not value.isprintable():
        why = "contains a control or invisible character"
    else:
        return value
    raise PydanticCustomError("merchant_order_id", f"{why}: {MERCHANT_ORDER_ID_RULE}")


MerchantOrderId = Annotated[
    str,
    AfterValidator(_order_id),
    Field(
        json_schema_extra={"minLength": 1, "maxLength": 64, "pattern": r"^\S+$"},
        description="Your order or loan id: 1-64 characters of any script, no whitespace, no control "
        "or invisible characters.",
    ),
]
"""Your order or loan id, in any script (checked the same in the SDK and the sandbox)."""


class Installment(NestedObject):
    """One monthly installment of the borrower's schedule, rounded to the fen."""

    installment: int
    due_date: dt.date
    principal: Money
    interest: Money
    amount: Money
    status: InstallmentStatus = "scheduled"
    days_past_due: int = 0
    paid_at: dt.datetime | None = None


class Beneficiary(NestedObject):
    """Who the insurer pays on a claim (代偿): a licensed lender, a contract's creditor, or the
    merchant itself (``type`` ``merchant``, no name or USCC)."""

    type: BeneficiaryType
    name: str | None = None
    uscc: SocialCreditCode | None = None


class Vehicle(NestedObject):
    """The car an auto_installment loan pays for; the VIN is masked when shown."""

    vin: VehicleIdentificationNumber


class Guarantor(NestedObject):
    """The guarantee company standing behind a guaranteed_loan."""

    name: str
    uscc: SocialCreditCode


class Contract(NestedObject):
    """The specific debt contract a contract_performance policy insures."""

    number: str


class Quote(APIObject):
    """The underwriting decision and price for one purchase or loan."""

    object: Literal["quote"] = "quote"
    id: str
    product: str
    merchant_order_id: str
    decision: Decision
    decline_reason: str | None = None
    premium: Money | None = None
    """The premium offered; None on a declined quote (no price that is not offered is shown)."""
    sum_insured: Money
    comprehensive_cost: Decimal | None = None
    """12 × the monthly IRR of the borrower's cash flows (6 places); kept on a declined quote too."""
    created_at: dt.datetime
    decided_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None
    repayment_method: RepaymentMethod = "equal_installment"
    beneficiary: Beneficiary | None = None
    vehicle: Vehicle | None = None
    guarantor: Guarantor | None = None
    contract: Contract | None = None
    schedule: list[Installment] = Field(default_factory=list)
    policy_id: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    """Your own key-value pairs (copied to the policy at bind)."""
    disclosure: Disclosure | None = None
    """What to show the borrower before they agree (承保可回溯); None on a declined quote."""


class IndividualBorrower(RequestModel):
    """A person borrowing: consumer_installment, platform_loan, auto_installment, guaranteed_loan."""

    type: Literal["individual"]
    name: Annotated[str, Field(min_length=1, max_length=100)]
    id_number: ResidentIdNumber
    phone: PhoneNumber | None = None
    credit_score: Annotated[int, Field(strict=True, ge=300, le=850)] | None = None


class EnterpriseBorrower(RequestModel):
    """A company borrowing: sme_loan, enterprise_loan, guaranteed_loan, contract_performance."""

    type: Literal["enterprise"]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    uscc: SocialCreditCode
    credit_score: Annotated[int, Field(strict=True, ge=300, le=850)] | None = None


Borrower = Annotated[IndividualBorrower | EnterpriseBorrower, Field(discriminator="type")]


class LoanTerms(RequestModel):
    """The loan being insured: principal, term, nominal annual rate, first due date and how it is
    repaid (``equal_installment`` 等额本息 unless said)."""

    principal: Money
    term_months: Annotated[int, Field(strict=True, ge=1, le=120)]
    annual_rate: Annotated[Decimal, Field(ge=0, le=1, max_digits=12)]
    first_due_date: CalendarDate
    repayment_method: RepaymentMethod | None = None
    """None (not sent) means ``equal_installment``; ``method`` says which applies."""

    @property
    def method(self) -> RepaymentMethod:
        """The repayment method that applies: the one given, else ``equal_installment``."""
        return self.repayment_method or "equal_installment"

    @field_validator("annual_rate", mode="before")
    @classmethod
    def _no_float_rate(cls, value: object) -> object:
        if isinstance(value, float):
            raise ValueError("floats are not accepted; pass the rate as a string such as '0.12'")
        return value

    @field_validator("principal")
    @classmethod
    def _positive(cls, value: Money) -> Money:
        if value.amount <= 0:
            raise ValueError("must be greater than zero")
        return value


_Name = Annotated[str, Field(min_length=1, max_length=200)]


class BeneficiaryParams(RequestModel):
    """Who is paid on a claim. A licensed lender (``bank``, ``consumer_finance_company``,
    ``microloan_company``, ``trust_company``) or a contract's creditor (``enterprise``) has a name
    and a USCC; ``merchant`` (the caller itself) has neither."""

    type: BeneficiaryType
    name: _Name | None = None
    uscc: SocialCreditCode | None = None

    @model_validator(mode="after")
    def _named_unless_merchant(self) -> BeneficiaryParams:
        if self.type == "merchant":
            if self.name is not None or self.uscc is not None:
                raise PydanticCustomError(
                    "beneficiary", "a merchant beneficiary is the caller itself: give no name or uscc"
                )
        elif self.name is None or self.uscc is None:
            field = "name" if self.name is None else "uscc"
            raise PydanticCustomError(
                "beneficiary", f"a {self.type} beneficiary needs a name and a uscc ({field} is missing)"
            )
        return self


class VehicleParams(RequestModel):
    """The car of an auto_installment loan: its VIN, checked by the check digit before sending."""

    vin: VehicleIdentificationNumber


class GuarantorParams(RequestModel):
    """The guarantee company of a guaranteed_loan."""

    name: _Name
    uscc: SocialCreditCode


class ContractParams(RequestModel):
    """The specific debt contract of a contract_performance policy."""

    number: Annotated[str, Field(min_length=1, max_length=64)]


class QuoteCreateParams(RequestModel):
    """The body of ``POST /v1/quotes``."""

    product: ProductName
    merchant_order_id: MerchantOrderId
    borrower: Borrower
    loan: LoanTerms
    beneficiary: BeneficiaryParams | None = None
    vehicle: VehicleParams | None = None
    guarantor: GuarantorParams | None = None
    contract: ContractParams | None = None
    metadata: Metadata | None = None
