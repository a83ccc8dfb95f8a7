"""The product table's rules for one quote request: what the insurer refuses with a 422 because of
the product, not because of a field on its own (DESIGN §7.5).

One function, ``quote_rule_violation``, read by both sides: the SDK's ``quotes.create`` raises it as
a ``ParameterError`` before sending, the sandbox engine as its 422. Each violation carries the API's
error code (``repayment_method_not_offered``, ``beneficiary_required``, or ``invalid_parameter``) and
the dotted field it names. Messages never repeat identity numbers or VINs.
"""

from __future__ import annotations

from dataclasses import dataclass

from .products import LICENSED_LENDERS, PRODUCTS
from .quote import QuoteCreateParams

__all__ = ["RuleViolation", "quote_rule_violation", "beneficiary_declined", "effective_beneficiary"]


@dataclass(frozen=True)
class RuleViolation:
    """Why the product refuses a quote request: the API's error code, the field, the reason."""

    code: str
    param: str
    message: str


def quote_rule_violation(params: QuoteCreateParams) -> RuleViolation | None:
    """The first rule of ``params.product`` that ``params`` breaks, or None."""
    product = PRODUCTS[params.product]
    borrower_type = params.borrower.type
    if borrower_type not in product.borrower_types:
        kinds = " or ".join(repr(k) for k in product.borrower_types)
        return RuleViolation(
            "borrower_type_mismatch",
            "borrower.type",
            f"{product.name} insures {' or '.join(product.borrower_types)} borrowers; "
            f"borrower.type must be {kinds}",
        )
    loan = params.loan
    method = loan.method
    if method not in product.methods:
        return RuleViolation(
            "repayment_method_not_offered",
            "loan.repayment_method",
            f"{product.name} offers {', '.join(product.methods)}; not {method}",
        )
    if method == "interest_first" and loan.annual_rate == 0:
        return RuleViolation(
            "repayment_method_not_offered",
            "loan.repayment_method",
            "interest_first (先息后本) needs an annual_rate above zero",
        )
    for name in ("vehicle", "guarantor", "contract"):
        given = getattr(params, name) is not None
        if name in product.requires and not given:
            return RuleViolation("invalid_parameter", name, f"{product.name} requires a {name}")
        if name not in product.requires and given:
            return RuleViolation("invalid_parameter", name, f"{product.name} takes no {name}")
    return _beneficiary_violation(params)


def _beneficiary_violation(params: QuoteCreateParams) -> RuleViolation | None:
    """The beneficiary rules of §7.5 that are 422s (``merchant`` on a licensed product is a decline,
    ``beneficiary_not_licensed``, decided by the insurer; see ``beneficiary_declined``)."""
    product = PRODUCTS[params.product]
    beneficiary = params.beneficiary
    if product.beneficiary == "licensed" and beneficiary is None:
        return RuleViolation(
            "beneficiary_required",
            "beneficiary",
            f"{product.name} insures a licensed lender: give the beneficiary, e.g. "
            '{"type": "bank", "name": ..., "uscc": ...}',
        )
    if product.beneficiary == "creditor":
        if beneficiary is None or beneficiary.type != "enterprise":
            return RuleViolation(
                "invalid_parameter",
                "beneficiary",
                f"{product.name} pays the contract's creditor: give a beneficiary of type 'enterprise'",
            )
    elif beneficiary is not None and beneficiary.type == "enterprise":
        return RuleViolation(
            "invalid_parameter",
            "beneficiary.type",
            f"an 'enterprise' beneficiary is only a contract's creditor (contract_performance); "
            f"{product.name} pays one of {', '.join(LICENSED_LENDERS)}"
            + (" or the merchant" if product.beneficiary == "merchant_default" else ""),
        )
    return None


def beneficiary_declined(params: QuoteCreateParams) -> bool:
    """Whether the quote is declined ``beneficiary_not_licensed``: the product insures licensed
    lenders only and the beneficiary named is the merchant itself."""
    beneficiary = params.beneficiary
    return (
        PRODUCTS[params.product].beneficiary == "licensed"
        and beneficiary is not None
        and beneficiary.type == "merchant"
    )


def effective_beneficiary(params: QuoteCreateParams) -> dict[str, str] | None:
    """The beneficiary a quote carries: the one given, else ``{"type": "merchant"}`` where the
    product defaults to the merchant; None where a 422 stands in the way."""
    if params.beneficiary is not None:
        return params.beneficiary.model_dump(mode="json", exclude_none=True)
    if PRODUCTS[params.product].beneficiary == "merchant_default":
        return {"type": "merchant"}
    return None
