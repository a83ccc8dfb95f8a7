"""mkdocs hook: renders the product table (``yangguang_sdk.types.products.PRODUCTS``) into the page
that holds ``<!-- products-table -->``.

The products page therefore shows the table the SDK and the sandbox read, never a hand-copied one.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

MARKER = "<!-- products-table -->"
ROOT = Path(__file__).resolve().parent.parent.parent

_METHODS = {"equal_installment": "EI", "equal_principal": "EP", "interest_first": "IF"}
_BENEFICIARY = {
    "merchant_default": "the merchant unless a licensed lender is named",
    "licensed": "a licensed lender (required)",
    "creditor": "the creditor, type `enterprise` (required)",
}


def _yuan(value: Any) -> str:
    return f"{int(value):,}"


def _percent(value: Any) -> str:
    return f"{value * 100:.0f}%"


def render() -> str:
    """The product table as Markdown, from the SDK's own data."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # this checkout's package, not an installed one
    from yangguang_sdk.types.products import EXPOSURE_LIMITS, PRODUCTS

    rows = [
        "| product | | borrower | term (months) | principal (CNY) | cooling-off (days) | waiting (days) "
        "| LGD | deductible | methods | beneficiary | also requires |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in PRODUCTS.values():
        rows.append(
            f"| `{p.name}` | {p.title} | {' or '.join(p.borrower_types)} "
            f"| {p.min_term_months}–{p.max_term_months} "
            f"| {_yuan(p.min_principal)}–{_yuan(p.max_principal)} | {p.cooling_off_days} "
            f"| {p.waiting_period_days} | {p.lgd} | {_percent(p.deductible)} "
            f"| {', '.join(_METHODS[m] for m in p.methods)} | {_BENEFICIARY[p.beneficiary]} "
            f"| {', '.join(f'`{r}`' for r in p.requires) or '–'} |"
        )
    rows += [
        "",
        "Exposure limit per borrower: "
        + ", ".join(f"{kind} ¥{_yuan(fen // 100)}" for kind, fen in EXPOSURE_LIMITS.items())
        + ".",
    ]
    return "\n".join(rows)


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, render())
