"""The insurer's product table, as data (DESIGN §4, §7.1 and §7.5).

Who may borrow, the loan limits, the repayment methods offered, the objects a quote must carry,
who may be the beneficiary, and the claim terms of every product; and the exposure limit per
borrower. The SDK reads it to refuse before sending what the insurer would refuse; the sandbox
engine, the CLI and the docs' products page read the same table.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

__all__ = [
    "PRODUCTS",
    "Product",
    "BorrowerType",
    "RepaymentMethod",
    "REPAYMENT_METHODS",
    "BeneficiaryType",
    "BeneficiaryRule",
    "LICENSED_LENDERS",
    "RequiredObject",
    "EXPOSURE_LIMITS",
]

BorrowerType = Literal["individual", "enterprise"]

RepaymentMethod = Literal["equal_installment", "equal_principal", "interest_first"]
"""等额本息 (equal installments), 等额本金 (equal principal parts), 先息后本 (interest first)."""
REPAYMENT_METHODS: tuple[RepaymentMethod, ...] = ("equal_installment", "equal_principal", "interest_first")

BeneficiaryType = Literal[
    "bank", "consumer_finance_company", "microloan_company", "trust_company", "enterprise", "merchant"
]
LICENSED_LENDERS: tuple[BeneficiaryType, ...] = (
    "bank",
    "consumer_finance_company",
    "microloan_company",
    "trust_company",
)
"""The beneficiary types that are licensed lenders."""

BeneficiaryRule = Literal["merchant_default", "licensed", "creditor"]
"""Who a product pays on a claim: ``merchant_default`` (the merchant itself unless a licensed lender
is named), ``licensed`` (a licensed lender, required), ``creditor`` (an ``enterprise``, required)."""

RequiredObject = Literal["vehicle", "guarantor", "contract"]

EXPOSURE_LIMITS: dict[BorrowerType, int] = {"individual": 500_000_00, "enterprise": 10_000_000_00}
"""Fen: how much outstanding principal one borrower may have insured at once, per tenant."""


@dataclass(frozen=True)
class Product:
    """One insurance product: who may borrow, the loan limits, the methods, the required objects,
    the beneficiary rule and the claim terms."""

    name: str
    title: str  # the Chinese name of the product line
    borrower_types: tuple[BorrowerType, ...]
    min_term_months: int
    max_term_months: int
    min_principal: Decimal  # yuan, inclusive
    max_principal: Decimal  # yuan, inclusive
    cooling_off_days: int
    waiting_period_days: int  # days from the earliest unpaid due date to the default (day D)
    lgd: Decimal  # loss given default
    deductible: Decimal  # share of every claim the lender keeps
    methods: tuple[RepaymentMethod, ...]
    beneficiary: BeneficiaryRule
    requires: tuple[RequiredObject, ...] = ()

    def within_limits(self, principal: Decimal, term_months: int) -> bool:
        """Whether a loan of ``principal`` yuan over ``term_months`` months fits this product."""
        return (
            self.min_principal <= principal <= self.max_principal
            and self.min_term_months <= term_months <= self.max_term_months
        )


_ALL = REPAYMENT_METHODS
_EI_EP: tuple[RepaymentMethod, ...] = ("equal_installment", "equal_principal")

PRODUCTS: dict[str, Product] = {
    p.name: p
    for p in (
        Product(
            name="consumer_installment",
            title="消费分期",
            borrower_types=("individual",),
            min_term_months=3,
            max_term_months=36,
            min_principal=Decimal("100"),
            max_principal=Decimal("200000"),
            cooling_off_days=15,
            waiting_period_days=80,
            lgd=Decimal("0.80"),
            deductible=Decimal("0"),
            methods=("equal_installment",),
            beneficiary="merchant_default",
        ),
        Product(
            name="platform_loan",
            title="网络平台贷款",
            borrower_types=("individual",),
            min_term_months=3,
            max_term_months=36,
            min_principal=Decimal("500"),
            max_principal=Decimal("200000"),
            cooling_off_days=15,
            waiting_period_days=80,
            lgd=Decimal("0.80"),
            deductible=Decimal("0"),
            methods=_EI_EP,
            beneficiary="licensed",
        ),
        Product(
            name="auto_installment",
            title="分期购车",
            borrower_types=("individual",),
            min_term_months=12,
            max_term_months=60,
            min_principal=Decimal("20000"),
            max_principal=Decimal("500000"),
            cooling_off_days=7,
            waiting_period_days=90,
            lgd=Decimal("0.50"),
            deductible=Decimal("0"),
            methods=_EI_EP,
            beneficiary="merchant_default",
            requires=("vehicle",),
        ),
        Product(
            name="sme_loan",
            title="小微企业贷款",
            borrower_types=("enterprise",),
            min_term_months=6,
            max_term_months=36,
            min_principal=Decimal("10000"),
            max_principal=Decimal("1000000"),
            cooling_off_days=0,
            waiting_period_days=90,
            lgd=Decimal("0.60"),
            deductible=Decimal("0.10"),
            methods=_ALL,
            beneficiary="licensed",
        ),
        Product(
            name="enterprise_loan",
            title="企业贷款",
            borrower_types=("enterprise",),
            min_term_months=6,
            max_term_months=60,
            min_principal=Decimal("100000"),
            max_principal=Decimal("10000000"),
            cooling_off_days=0,
            waiting_period_days=90,
            lgd=Decimal("0.50"),
            deductible=Decimal("0.20"),
            methods=_ALL,
            beneficiary="licensed",
        ),
        Product(
            name="guaranteed_loan",
            title="担保贷款",
            borrower_types=("individual", "enterprise"),
            min_term_months=6,
            max_term_months=36,
            min_principal=Decimal("10000"),
            max_principal=Decimal("3000000"),
            cooling_off_days=0,
            waiting_period_days=90,
            lgd=Decimal("0.40"),
            deductible=Decimal("0.10"),
            methods=_ALL,
            beneficiary="licensed",
            requires=("guarantor",),
        ),
        Product(
            name="contract_performance",
            title="特定债务合同履约",
            borrower_types=("enterprise",),
            min_term_months=1,
            max_term_months=12,
            min_principal=Decimal("10000"),
            max_principal=Decimal("5000000"),
            cooling_off_days=0,
            waiting_period_days=60,
            lgd=Decimal("0.70"),
            deductible=Decimal("0.10"),
            methods=_ALL,
            beneficiary="creditor",
            requires=("contract",),
        ),
    )
}
