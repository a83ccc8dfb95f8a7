"""The insurer's product table, as data (DESIGN §4 and §7.1).

Who may borrow, the loan limits and the claim terms of every product. The SDK reads it to refuse
before sending what the insurer would refuse; the sandbox engine and the CLI read the same table.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

__all__ = ["PRODUCTS", "Product", "BorrowerType"]

BorrowerType = Literal["individual", "enterprise"]


@dataclass(frozen=True)
class Product:
    """One insurance product: who may borrow, the loan limits and the claim terms."""

    name: str
    borrower_type: BorrowerType
    min_term_months: int
    max_term_months: int
    min_principal: Decimal  # yuan, inclusive
    max_principal: Decimal  # yuan, inclusive
    cooling_off_days: int
    waiting_period_days: int  # days from the earliest unpaid due date to the default (day D)
    lgd: Decimal  # loss given default
    deductible: Decimal  # share of every claim the lender keeps

    def within_limits(self, principal: Decimal, term_months: int) -> bool:
        """Whether a loan of ``principal`` yuan over ``term_months`` months fits this product."""
        return (
            self.min_principal <= principal <= self.max_principal
            and self.min_term_months <= term_months <= self.max_term_months
        )


PRODUCTS: dict[str, Product] = {
    p.name: p
    for p in (
        Product(
            name="consumer_installment",
            borrower_type="individual",
            min_term_months=3,
            max_term_months=36,
            min_principal=Decimal("100"),
            max_principal=Decimal("200000"),
            cooling_off_days=15,
            waiting_period_days=80,
            lgd=Decimal("0.80"),
            deductible=Decimal("0"),
        ),
        Product(
            name="platform_loan",
            borrower_type="individual",
            min_term_months=3,
            max_term_months=36,
            min_principal=Decimal("500"),
            max_principal=Decimal("200000"),
            cooling_off_days=15,
            waiting_period_days=80,
            lgd=Decimal("0.80"),
            deductible=Decimal("0"),
        ),
        Product(
            name="sme_loan",
            borrower_type="enterprise",
            min_term_months=6,
            max_term_months=36,
            min_principal=Decimal("10000"),
            max_principal=Decimal("1000000"),
            cooling_off_days=0,
            waiting_period_days=90,
            lgd=Decimal("0.60"),
            deductible=Decimal("0.10"),
        ),
    )
}
