"""The product table's rules for one quote request: what the insurer refuses with a 422 because of
the product, not because of a field on its own (DESIGN §7.5).

One function, ``quote_rule_violation``, read by both sides: the SDK's ``quotes.create`` raises it as
a ``ParameterError`` before sending, the sandbox engine as its 422. Each violation carries the API's
error code (``repayment_method_not_offered``, ``beneficiary_required``, or ``invalid_parameter``) and
the dotted field it names. Messages never repeat identity numbers or VINs.
"""

from __future__ import annotations

from dataclasses import dataclass

from .products import PRODUCTS
from .quote import QuoteCreateParams

__all__ = ["RuleViolation", "quote_rule_violation"]


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
    return None
