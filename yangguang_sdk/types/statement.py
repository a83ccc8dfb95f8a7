"""What the merchant settles with the insurer (DESIGN §7.6): balance transactions and monthly statements."""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from ._base import EARLIEST_DATE, LATEST_DATE, APIObject
from .money import Money

__all__ = [
    "BALANCE_TRANSACTION_TYPES",
    "BalanceTransaction",
    "BalanceTransactionType",
    "Statement",
    "StatementStatus",
    "month_problem",
]

BalanceTransactionType = Literal["premium", "premium_refund", "claim_payment"]
BALANCE_TRANSACTION_TYPES: tuple[BalanceTransactionType, ...] = ("premium", "premium_refund", "claim_payment")
StatementStatus = Literal["open", "final"]

_MONTH = re.compile(r"[0-9]{4}-[0-9]{2}")
_FIRST_MONTH = f"{EARLIEST_DATE.year:04d}-{EARLIEST_DATE.month:02d}"
_LAST_MONTH = f"{LATEST_DATE.year:04d}-{LATEST_DATE.month:02d}"


def month_problem(value: object) -> str | None:
    """Why ``value`` is not a statement month ("YYYY-MM", a UTC calendar month from 2000-01 to
    2199-12), or None when it is one. The SDK and the sandbox both ask this one function."""
    if not isinstance(value, str) or not _MONTH.fullmatch(value):
        return 'must be a month "YYYY-MM", e.g. "2027-01"'
    if not 1 <= int(value[5:]) <= 12:
        return 'must be a month "YYYY-MM" with a month from 01 to 12'
    if not _FIRST_MONTH <= value <= _LAST_MONTH:
        return f"must be a month from {_FIRST_MONTH} to {_LAST_MONTH}"
    return None


class BalanceTransaction(APIObject):
    """One movement of money between the merchant and the insurer (DESIGN §7.6).

    ``amount`` is signed: positive is owed to the insurer (a premium the merchant collected),
    negative is owed to the merchant (a premium refund, a claim paid to the merchant itself).
    """

    object: Literal["balance_transaction"] = "balance_transaction"
    id: str
    type: BalanceTransactionType
    amount: Money
    policy_id: str
    merchant_order_id: str | None = None
    source_id: str
    """The object that moved the money: the policy (bind, cancel, settle), the endorsement or the claim."""
    created: dt.datetime
    """The tenant's clock when the operation ran (a claim payment: the claim's ``paid_at``)."""


class Statement(APIObject):
    """A monthly statement (对账单): every balance transaction of a UTC calendar month and its totals.

    ``premiums``, ``refunds`` and ``claims_paid_to_merchant`` are non-negative magnitudes;
    ``commission`` = 15% × (premiums − refunds), half away from zero to the fen (owed to the
    merchant); ``net_due`` = premiums − refunds − commission − claims_paid_to_merchant (owed to the
    insurer; negative: owed to the merchant). ``status`` is ``open`` until the tenant's clock
    reaches the first instant of the next month, then ``final``, and the statement never changes.
    """

    object: Literal["statement"] = "statement"
    month: str
    status: StatementStatus
    premiums: Money
    refunds: Money
    claims_paid_to_merchant: Money
    commission: Money
    net_due: Money
    lines: list[BalanceTransaction]
    period_start: dt.datetime | None = None
    """The first instant of the month (UTC)."""
    period_end: dt.datetime | None = None
    """The first instant of the next month (UTC): the statement is final from then on."""
