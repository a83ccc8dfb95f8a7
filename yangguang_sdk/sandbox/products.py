"""The sandbox insurer's pricing parameters, as data (DESIGN §4).

The product table itself (``PRODUCTS``) lives in ``yangguang_sdk.types.products``, shared with the
SDK and the CLI, and is re-exported here; the rates and loadings shared by all products live in
``PRICING``. The engine and the pricing functions read these tables and hold no product knowledge
of their own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from ..types.products import EXPOSURE_LIMITS, PRODUCTS, BorrowerType, Product

__all__ = [
    "EXPOSURE_LIMITS",
    "PD_TABLE",
    "PRICING",
    "PRODUCTS",
    "PricingParameters",
    "Product",
    "BorrowerType",
]

# Probability of a 90+ days default within two years by credit score: Federal Reserve, Report to
# the Congress on Credit Scoring (2007), table 2. Rows are (lowest score of the band, PD).
PD_TABLE: tuple[tuple[int, Decimal], ...] = (
    (300, Decimal("0.410")),
    (520, Decimal("0.284")),
    (560, Decimal("0.225")),
    (600, Decimal("0.158")),
    (640, Decimal("0.089")),
    (680, Decimal("0.044")),
    (720, Decimal("0.010")),
)


@dataclass(frozen=True)
class PricingParameters:
    """Loadings, thresholds and timings shared by every product."""

    fixed_expense: Decimal = Decimal("5.00")  # yuan per policy
    channel_commission: Decimal = Decimal("0.15")
    expense_loading: Decimal = Decimal("0.10")
    profit_margin: Decimal = Decimal("0.05")
    min_credit_score: int = 560  # below: declined credit_score_below_threshold
    financing_cost_cap: Decimal = Decimal("0.24")  # strictly above: declined
    referral_score: int = 600  # a quote without a score is priced as this score
    referral_delay: dt.timedelta = dt.timedelta(minutes=30)
    referral_max_principal: Decimal = Decimal("50000")  # yuan; above: referral_declined
    quote_validity: dt.timedelta = dt.timedelta(minutes=30)  # after the decision
    claim_approval_delay: dt.timedelta = dt.timedelta(days=1)  # D + 1
    claim_payment_delay: dt.timedelta = dt.timedelta(days=4)  # D + 4
    recovery_delay: dt.timedelta = dt.timedelta(days=30)  # after the claim payment

    @property
    def premium_divisor(self) -> Decimal:
        """1 − commission − expenses − margin: the share of the gross premium left for losses."""
        return Decimal(1) - self.channel_commission - self.expense_loading - self.profit_margin


PRICING = PricingParameters()
