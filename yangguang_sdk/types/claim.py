"""Claims (代偿) and the objects around them."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from ._base import APIObject
from .money import Money
from .quote import Beneficiary

__all__ = ["Claim", "ClaimStatus", "TestClock"]

ClaimStatus = Literal["open", "approved", "paid", "rejected"]


class Claim(APIObject):
    """A claim opened on a borrower's default; paid to the beneficiary, then partly recovered (追偿)."""

    object: Literal["claim"] = "claim"
    id: str
    policy_id: str
    status: ClaimStatus
    amount: Money
    opened_at: dt.datetime
    approved_at: dt.datetime | None = None
    paid_at: dt.datetime | None = None
    recovered: Money | None = None
    recovered_at: dt.datetime | None = None
    default_date: dt.date | None = None
    installment: int | None = None
    """The earliest unpaid installment, whose waiting period ran out."""
    version: int = 1
    beneficiary: Beneficiary | None = None
    """Who the insurer pays: the policy's beneficiary (a bank, the creditor, or the merchant)."""
    paid_to: Beneficiary | None = None
    """Who was paid (代偿), once the claim is paid."""
    merchant_order_id: str | None = None
    """The policy's order id."""
    product: str | None = None
    """The policy's product."""
    metadata: dict[str, str] = Field(default_factory=dict)
    """The policy's metadata when the claim opened."""


class TestClock(APIObject):
    """The sandbox's clock."""

    __test__ = False  # not a pytest class
    object: Literal["test_clock"] = "test_clock"
    now: dt.datetime
