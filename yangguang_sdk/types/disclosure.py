"""Disclosure and consent (承保可回溯, DESIGN §7.3): what a quote tells the borrower before they
agree, the policy wording it refers to, and the borrower's consent a bind records."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field

from ._base import APIObject, NestedObject, RequestModel, Timestamp
from .money import Money

__all__ = ["CONSENT_REFERENCE_MAX", "Consent", "ConsentParams", "Disclosure", "Wording"]

CONSENT_REFERENCE_MAX = 64


class Disclosure(NestedObject):
    """The key facts of an offered quote, as shown to the borrower before they agree."""

    annual_cost_rate: Decimal
    """The comprehensive annual financing cost (``comprehensive_cost``) rounded half-up to 4 places."""
    total_interest: Money
    """Σ the interest parts of the schedule."""
    total_cost: Money
    """Total interest + premium: what the loan and its insurance cost the borrower."""
    key_facts: str
    """Chinese text naming the premium, the annual cost rate, the cooling-off period and the
    beneficiary."""
    wording_version: str
    """The policy wording the quote is offered under (``client.wordings.retrieve(version)``)."""
    wording_sha256: str
    """Hex SHA-256 of that wording's text (UTF-8)."""


class Wording(APIObject):
    """A version of the policy wording (保险条款): its full text and the text's SHA-256."""

    object: Literal["wording"] = "wording"
    version: str
    text: str
    sha256: str


class ConsentParams(RequestModel):
    """The borrower's consent a bind needs for an individual borrower (DESIGN §7.3)."""

    disclosure_acknowledged_at: Timestamp
    """When the borrower acknowledged the disclosure: aware, not before the quote's decision and
    not after now (the tenant's clock)."""
    reference: Annotated[str, Field(min_length=1, max_length=CONSENT_REFERENCE_MAX)]
    """Your consent record's id (1-64 characters), to trace the acknowledgement back."""


class Consent(NestedObject):
    """The consent a policy was bound with, and the wording it was given for."""

    disclosure_acknowledged_at: dt.datetime
    reference: str
    wording_version: str | None = None
    wording_sha256: str | None = None
