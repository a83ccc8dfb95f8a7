"""The event catalog: every event type the insurer emits, what it means, and the JSON Schema of its
``data`` (``GET /v1/event_types``, ``client.event_types.list()``, the docs' event page).

Generated from the event models (``types.event.KNOWN_EVENT_CLASSES``): a new event class appears in
the catalog by itself; its description goes in ``EVENT_DESCRIPTIONS``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any, Literal, get_args

from pydantic import Field, TypeAdapter

from ._base import APIObject
from .event import KNOWN_EVENT_CLASSES, BaseEvent

__all__ = ["EventType", "EVENT_DESCRIPTIONS", "build_catalog", "event_catalog"]

EVENT_DESCRIPTIONS: dict[str, str] = {
    "quote.decided": "A referred quote (no credit score) was decided, 30 clock-minutes after it was made: approved or declined.",
    "policy.bound": "A quote was bound: the policy is in force and its schedule set.",
    "policy.cancelled": "The policy was cancelled (in the cooling-off period or later); `refund` says what goes back.",
    "policy.completed": "The cover ended normally: every installment repaid, or the loan settled early.",
    "policy.endorsed": "The loan was lowered after a partial return (批改): the remaining installments were re-amortised.",
    "installment.overdue": "An installment was not reported paid by its due date; `installment` names it.",
    "installment.cured": "An overdue installment was paid; `installment` names it.",
    "loan.defaulted": "The earliest unpaid installment was still unpaid at the end of the claim waiting period; a claim opens.",
    "claim.opened": "A claim opened on a defaulted loan, for the unpaid principal and the interest due.",
    "claim.approved": "The claim was approved (the day after it opened).",
    "claim.rejected": "The claim was rejected.",
    "claim.paid": "The claim was paid to the beneficiary (代偿).",
    "recovery.received": "The insurer recovered part of a paid claim from the borrower (追偿).",
    "repayment.created": "A repayment was recorded against an installment.",
    "webhook_endpoint.disabled": "The insurer disabled a webhook endpoint (410 Gone, or every retry failed); other endpoints receive this.",
    "webhook_endpoint.enabled": "A disabled webhook endpoint was enabled again (`webhook_endpoints.enable`).",
    "webhook_endpoint.test": "A test delivery asked for with `webhook_endpoints.send_test`; sent only to that endpoint.",
    "statement.finalized": "A month with at least one balance transaction is over on the tenant's clock: its statement is final and never changes; `data` is the statement, lines included.",
}
"""What each event type means, shown in the catalog."""


class EventType(APIObject):
    """One event type of the catalog."""

    object: Literal["event_type"] = "event_type"
    id: str
    """The event type, e.g. ``claim.paid`` (also in ``type``)."""
    type: str
    description: str
    data_object: str
    """The object ``data`` carries: ``policy``, ``claim``, ..."""
    data_schema: dict[str, Any] = Field(default_factory=dict, repr=False)
    """The JSON Schema of the event's ``data``."""


@functools.lru_cache(maxsize=1)
def event_catalog() -> tuple[dict[str, Any], ...]:
    """Every known event type as the API lists it, in the order of ``EVENT_TYPES``."""
    return build_catalog(KNOWN_EVENT_CLASSES)


def build_catalog(classes: Iterable[type[BaseEvent]]) -> tuple[dict[str, Any], ...]:
    """The catalog entries of these event classes: one per value of each class's ``type`` Literal."""
    entries: list[dict[str, Any]] = []
    for cls in classes:
        data_model = cls.model_fields["data"].annotation
        assert data_model is not None, f"{cls.__name__} has no data annotation"
        schema = TypeAdapter(data_model).json_schema(mode="serialization")
        data_object = getattr(data_model, "model_fields", {}).get("object")
        object_name = data_object.default if data_object is not None else ""
        for event_type in get_args(cls.model_fields["type"].annotation):
            entries.append(
                {
                    "object": "event_type",
                    "id": event_type,
                    "type": event_type,
                    "description": EVENT_DESCRIPTIONS.get(event_type) or (cls.__doc__ or "").strip(),
                    "data_object": object_name,
                    "data_schema": schema,
                }
            )
    return tuple(entries)
