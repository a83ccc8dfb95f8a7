"""The one renderer: an engine record, or an extension's stored JSON, in its wire shape (``types/``).

The engine's public methods answer with it, events carry objects rendered by it, and the webhook
delivery worker shows its endpoints with it. The wire shape is the stored document without its
internal keys (those starting with ``_``); a policy's ``days_past_due`` are computed on the way out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from ..clock import business_date
from .records import (
    ClaimRecord,
    EndorsementRecord,
    EventRecord,
    Json,
    PolicyRecord,
    QuoteRecord,
    RepaymentRecord,
)

__all__ = ["render"]

Record = QuoteRecord | PolicyRecord | ClaimRecord | RepaymentRecord | EventRecord | EndorsementRecord


def render(record: Record | Mapping[str, Any], *, today: dt.date | None = None) -> Json:
    """The wire view of ``record``. A policy needs ``today`` (the clock's date): its overdue
    installments' ``days_past_due`` run with the clock until a default, then stay as on day D."""
    if isinstance(record, PolicyRecord):
        if today is None:
            raise TypeError("rendering a policy needs today's date")
        day = today if record.defaulted_at is None else business_date(record.defaulted_at)
        days = [(day - line.due_date).days if line.status == "overdue" else 0 for line in record.installments]
        data: Mapping[str, Any] = record.to_json(days)
    elif isinstance(record, Mapping):
        data = record
    else:
        data = record.to_json()
    return {k: v for k, v in data.items() if not k.startswith("_")}
