"""Events: what happened to a quote, policy, claim or endpoint, typed by ``type``.

``parse_event`` turns an event's JSON into the matching class (``ClaimEvent`` for ``claim.paid``,
...); a type this SDK does not know yet becomes a ``GenericEvent`` instead of an error, so the
insurer can add event types without breaking old receivers.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Annotated, Any, Literal, get_args

from pydantic import Discriminator, Field, Tag, TypeAdapter, ValidationError

from ._base import APIObject
from .claim import Claim
from .policy import Policy, Repayment
from .quote import Quote
from .statement import Statement
from .webhook_endpoint import WebhookEndpoint

__all__ = [
    "EVENT_TYPES",
    "BaseEvent",
    "QuoteEvent",
    "PolicyEvent",
    "InstallmentEvent",
    "ClaimEvent",
    "RepaymentEvent",
    "WebhookEndpointEvent",
    "StatementEvent",
    "GenericEvent",
    "Event",
    "parse_event",
    "KNOWN_EVENT_CLASSES",
]

QuoteEventType = Literal["quote.decided"]
PolicyEventType = Literal["policy.bound", "policy.cancelled", "policy.completed", "policy.endorsed"]
InstallmentEventType = Literal["installment.overdue", "installment.cured", "loan.defaulted"]
ClaimEventType = Literal[
    "claim.opened", "claim.approved", "claim.rejected", "claim.paid", "recovery.received"
]
RepaymentEventType = Literal["repayment.created"]
EndpointEventType = Literal["webhook_endpoint.disabled", "webhook_endpoint.enabled", "webhook_endpoint.test"]
StatementEventType = Literal["statement.finalized"]

_GROUPS: dict[str, tuple[str, ...]] = {
    "quote": get_args(QuoteEventType),
    "policy": get_args(PolicyEventType),
    "installment": get_args(InstallmentEventType),
    "claim": get_args(ClaimEventType),
    "repayment": get_args(RepaymentEventType),
    "webhook_endpoint": get_args(EndpointEventType),
    "statement": get_args(StatementEventType),
}
_TAG_OF_TYPE = {t: group for group, types in _GROUPS.items() for t in types}
EVENT_TYPES: tuple[str, ...] = tuple(_TAG_OF_TYPE)
"""Every event type the insurer emits: DESIGN section 5's list plus ``repayment.created``."""


class BaseEvent(APIObject):
    """Fields every event has."""

    object: Literal["event"] = "event"
    id: str = ""
    type: str
    timestamp: dt.datetime

    @property
    def object_version(self) -> int | None:
        """The ``version`` of the object in ``data``, to ignore events older than what you have."""
        data: Any = getattr(self, "data", None)
        version = data.get("version") if isinstance(data, dict) else getattr(data, "version", None)
        return version if isinstance(version, int) else None


class QuoteEvent(BaseEvent):
    type: QuoteEventType
    data: Quote


class PolicyEvent(BaseEvent):
    type: PolicyEventType
    data: Policy


class InstallmentEvent(BaseEvent):
    """An installment went overdue or was cured, or the loan defaulted; ``data`` is the policy and
    ``installment`` the installment concerned."""

    type: InstallmentEventType
    data: Policy
    installment: int | None = None


class ClaimEvent(BaseEvent):
    type: ClaimEventType
    data: Claim


class RepaymentEvent(BaseEvent):
    type: RepaymentEventType
    data: Repayment


class WebhookEndpointEvent(BaseEvent):
    type: EndpointEventType
    data: WebhookEndpoint


class StatementEvent(BaseEvent):
    """A month's statement became final (DESIGN §7.6); ``data`` is the statement as it stays."""

    type: StatementEventType
    data: Statement


class GenericEvent(BaseEvent):
    """An event whose type this SDK version does not know; ``data`` is left as a dict."""

    data: dict[str, Any]


def _tag(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return _TAG_OF_TYPE.get(kind, "generic") if isinstance(kind, str) else "generic"


Event = Annotated[
    Annotated[QuoteEvent, Tag("quote")]
    | Annotated[PolicyEvent, Tag("policy")]
    | Annotated[InstallmentEvent, Tag("installment")]
    | Annotated[ClaimEvent, Tag("claim")]
    | Annotated[RepaymentEvent, Tag("repayment")]
    | Annotated[WebhookEndpointEvent, Tag("webhook_endpoint")]
    | Annotated[StatementEvent, Tag("statement")]
    | Annotated[GenericEvent, Tag("generic")],
    Discriminator(_tag),
]


_KnownEvent = Annotated[
    QuoteEvent
    | PolicyEvent
    | InstallmentEvent
    | ClaimEvent
    | RepaymentEvent
    | WebhookEndpointEvent
    | StatementEvent,
    Field(discriminator="type"),
]


@functools.lru_cache(maxsize=1)
def _known_adapter() -> TypeAdapter[_KnownEvent]:
    return TypeAdapter(_KnownEvent)


def parse_event(data: bytes | str | dict[str, Any]) -> Event:
    """An event from its JSON text or decoded dict, typed by its ``type``.

    The known types go through a plain tagged union (validated in Rust, no Python callback); only
    an unknown or missing ``type`` falls back to ``GenericEvent``.
    """
    adapter = _known_adapter()
    try:
        if isinstance(data, dict):
            return adapter.validate_python(data)
        return adapter.validate_json(data)
    except ValidationError as exc:
        if exc.error_count() != 1 or exc.errors()[0]["type"] not in (
            "union_tag_invalid",
            "union_tag_not_found",
        ):
            raise
    if isinstance(data, dict):
        return GenericEvent.model_validate(data)
    return GenericEvent.model_validate_json(data)


KNOWN_EVENT_CLASSES: tuple[type[BaseEvent], ...] = get_args(get_args(_KnownEvent)[0])
"""Every typed event class (each ``type`` Literal names its event types): the catalog reads them."""
