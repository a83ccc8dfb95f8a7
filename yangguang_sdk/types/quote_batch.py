"""Quote batches: up to 1,000 quotes in one call (``client.quotes.create_batch``, DESIGN §7.8)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from ._base import APIObject, NestedObject, RequestModel
from .quote import Quote

__all__ = [
    "QUOTE_BATCH_MAX_ITEMS",
    "QuoteBatch",
    "QuoteBatchError",
    "QuoteBatchItem",
    "QuoteBatchCreateParams",
]

QUOTE_BATCH_MAX_ITEMS = 1000
"""The most quotes one batch takes."""


class QuoteBatchError(NestedObject):
    """The error of one item of a batch: what ``quotes.create`` would have raised for it, as data.

    ``param`` names the field within the item (``loan.principal``), as ``quotes.create`` would;
    ``index`` is the item's position in the list given (0-based)."""

    object: Literal["error"] = "error"
    index: int
    type: str
    code: str
    message: str
    param: str | None = None


QuoteBatchItem = Annotated[Quote | QuoteBatchError, Field(discriminator="object")]
"""One result of a batch: a ``Quote`` (its ``object`` is ``"quote"``) or a ``QuoteBatchError``."""


class QuoteBatch(APIObject):
    """The results of a batch, one per item given, in the same order: a quote or an error each.

    A batch succeeds as a whole even when some items fail (partial success is normal): look at each
    result, or at ``quotes`` and ``errors``."""

    object: Literal["quote_batch"] = "quote_batch"
    data: list[QuoteBatchItem]

    @property
    def quotes(self) -> list[Quote]:
        """The items quoted (approved, declined or referred), in order."""
        return [item for item in self.data if isinstance(item, Quote)]

    @property
    def errors(self) -> list[QuoteBatchError]:
        """The items that failed, in order (``index`` says which)."""
        return [item for item in self.data if isinstance(item, QuoteBatchError)]


class QuoteBatchCreateParams(RequestModel):
    """The body of ``POST /v1/quote_batches``: 1-1,000 quote bodies, each as for ``POST /v1/quotes``.

    Each item is validated on its own: a bad one is an error result at its place, not a 422 for the
    whole batch."""

    items: Annotated[
        list[Any],
        Field(
            min_length=1,
            max_length=QUOTE_BATCH_MAX_ITEMS,
            description="1-1,000 bodies of POST /v1/quotes (QuoteCreateParams), each checked on its own.",
        ),
    ]
