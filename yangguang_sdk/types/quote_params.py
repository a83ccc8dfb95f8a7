"""The nested params of ``client.quotes.create`` as typed dicts, so an editor completes
``borrower={...`` and a type checker catches a misspelt key.

At run time they are plain dicts: ``QuoteCreateParams`` checks them before anything is sent.
"""

# No ``from __future__ import annotations`` here: TypedDict reads ``Required`` from evaluated
# annotations only, and ``__required_keys__`` should be right at run time too.
import datetime as dt
from decimal import Decimal
from typing import Literal, TypeAlias

from typing_extensions import NotRequired, Required, TypedDict

from .identity import PhoneNumber, ResidentIdNumber, SocialCreditCode, VehicleIdentificationNumber
from .money import Money
from .products import BeneficiaryType, RepaymentMethod

__all__ = [
    "MoneyParam",
    "IndividualBorrowerParam",
    "EnterpriseBorrowerParam",
    "BorrowerParam",
    "LoanParam",
    "BeneficiaryParam",
    "VehicleParam",
    "GuarantorParam",
    "ContractParam",
    "ConsentParam",
]


class MoneyParam(TypedDict):
    """Money as on the wire: ``{"amount": 1299900, "currency": "CNY"}`` (integer minor units)."""

    amount: int
    currency: str


class IndividualBorrowerParam(TypedDict, total=False):
    """A person borrowing (consumer_installment, platform_loan, auto_installment, guaranteed_loan)."""

    type: Required[Literal["individual"]]
    name: Required[str]
    id_number: Required[str | ResidentIdNumber]
    """An 18-character resident ID number (GB 11643), checked before sending."""
    phone: str | PhoneNumber | None
    """An 11-digit mainland mobile number."""
    credit_score: int | None
    """300-850; without one the quote is referred."""


class EnterpriseBorrowerParam(TypedDict, total=False):
    """A company borrowing (sme_loan, enterprise_loan, guaranteed_loan, contract_performance)."""

    type: Required[Literal["enterprise"]]
    name: Required[str]
    uscc: Required[str | SocialCreditCode]
    """An 18-character Unified Social Credit Code (GB 32100), checked before sending."""
    credit_score: int | None
    """300-850; without one the quote is referred."""


BorrowerParam: TypeAlias = IndividualBorrowerParam | EnterpriseBorrowerParam
"""Who borrows: ``{"type": "individual", ...}`` or ``{"type": "enterprise", ...}``."""


class LoanParam(TypedDict):
    """The loan being insured."""

    principal: Money | MoneyParam
    """``yg.Money.cny("12999.00")``, or money as on the wire."""
    term_months: int
    annual_rate: str | Decimal | int
    """The nominal annual rate as a string or Decimal (``"0.12"``); floats are refused."""
    first_due_date: str | dt.date
    """``"2026-12-25"`` or a date; later installments fall due monthly after it."""
    repayment_method: NotRequired[RepaymentMethod]
    """``"equal_installment"`` (等额本息, the default), ``"equal_principal"`` (等额本金) or
    ``"interest_first"`` (先息后本), as the product offers."""


class BeneficiaryParam(TypedDict, total=False):
    """Who the insurer pays on a claim (代偿): ``{"type": "bank", "name": ..., "uscc": ...}``, or
    ``{"type": "merchant"}`` (the caller itself, with no name or USCC)."""

    type: Required[BeneficiaryType]
    name: str
    uscc: str | SocialCreditCode


class VehicleParam(TypedDict):
    """The car of an auto_installment loan."""

    vin: str | VehicleIdentificationNumber
    """17 characters (ISO 3779 / GB 16735), checked by its check digit before sending."""


class GuarantorParam(TypedDict):
    """The guarantee company of a guaranteed_loan."""

    name: str
    uscc: str | SocialCreditCode


class ContractParam(TypedDict):
    """The specific debt contract of a contract_performance policy."""

    number: str


class ConsentParam(TypedDict):
    """The borrower's consent to bind with (individual borrowers): when they acknowledged the
    quote's disclosure (an aware datetime) and your consent record's id (1-64 characters).
    ``yangguang_sdk.consent(client, reference=...)`` builds one."""

    disclosure_acknowledged_at: dt.datetime
    reference: str
