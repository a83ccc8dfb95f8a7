"""What ``yangguang quote-batch`` reads of a quote batch's answer: the few fields of a quote its CSV
line holds, not the typed ``Quote`` with its schedule.

A typed ``Quote`` is about 50 objects (a ``Money`` per schedule amount, the installments, the
parties); parsing 100 of them was the largest share of the command's own work per batch, for the
seven fields a line keeps. This view reads the same JSON with the same types for those fields
(``Money``, an aware datetime, the decision's values) and skips the rest, so an answer the SDK could
not read is still an ``APIResponseValidationError``. ``client.quotes.create_batch`` stays typed.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..types.money import Money
from ..types.quote import Decision
from ..types.quote_batch import QuoteBatchError

__all__ = ["QuoteLine", "QuoteLines"]


class QuoteLine(BaseModel):
    """A quote as its CSV line needs it (the other fields of the answer are skipped)."""

    model_config = ConfigDict(extra="ignore", hide_input_in_errors=True)

    object: Literal["quote"] = "quote"
    id: str
    decision: Decision
    decline_reason: str | None = None
    premium: Money | None = None
    sum_insured: Money
    expires_at: dt.datetime | None = None


class QuoteLines(BaseModel):
    """A quote batch's answer (``POST /v1/quote_batches``) as ``QuoteLine``\\ s and errors, in order."""

    model_config = ConfigDict(extra="ignore", hide_input_in_errors=True)

    object: Literal["quote_batch"] = "quote_batch"
    data: list[Annotated[QuoteLine | QuoteBatchError, Field(discriminator="object")]]
