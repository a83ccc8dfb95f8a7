"""Events: what happened to a quote, policy, claim or endpoint, typed by ``type``.

``parse_event`` turns an event's JSON into the matching class (``ClaimEvent`` for ``claim.paid``,
...); a type this SDK does not know yet becomes a ``GenericEvent`` instead of an error, so the
insurer can add event types without breaking old receivers.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    SerializerFunctionWrapHandler,
    Tag,
    TypeAdapter,
    ValidationError,
    model_serializer,
)
from pydantic_core import SchemaValidator, core_schema

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
    "parse_event_deferred",
    "load_event",
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


_PENDING = "_yg_pending_body"
"""The key, in pydantic's private slot, of a deferred event's body (see ``parse_event_deferred``)."""


class BaseEvent(APIObject):
    """Fields every event has.

    An event from ``Webhook.verify`` may arrive with its envelope (``id``, ``type``,
    ``timestamp``) read and its other fields still to read: they are validated from the verified
    body the first time any of them is used, by attribute, comparison, repr, dump, copy or pickle,
    so the object behaves exactly as one parsed at once.
    """

    object: Literal["event"] = "event"
    id: str = ""
    type: str
    timestamp: dt.datetime

    if not TYPE_CHECKING:  # for mypy, an event has its declared fields only

        def __getattr__(self, name: str) -> Any:
            if name[:2] != "__" and load_event(self):
                try:
                    return object.__getattribute__(self, name)
                except AttributeError:
                    pass
            return super().__getattr__(name)

        def __setattr__(self, name: str, value: Any) -> None:
            load_event(self)
            super().__setattr__(name, value)

        def __delattr__(self, name: str) -> None:
            load_event(self)
            super().__delattr__(name)

        def model_dump(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
            load_event(self)  # a body that does not validate raises its own error, not pydantic's
            return super().model_dump(*args, **kwargs)

        def model_dump_json(self, *args: Any, **kwargs: Any) -> str:
            load_event(self)
            return super().model_dump_json(*args, **kwargs)

        def __eq__(self, other: object) -> bool:
            load_event(self)
            if isinstance(other, BaseEvent):
                load_event(other)
            return super().__eq__(other)

    def __repr_args__(self) -> Any:
        load_event(self)
        return super().__repr_args__()

    def __iter__(self) -> Any:
        load_event(self)
        return super().__iter__()

    def __copy__(self) -> Any:
        load_event(self)
        return super().__copy__()

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Any:
        load_event(self)
        return super().__deepcopy__(memo)

    def __getstate__(self) -> dict[Any, Any]:
        load_event(self)
        return super().__getstate__()

    @property
    def model_fields_set(self) -> set[str]:
        load_event(self)
        return self.__pydantic_fields_set__

    @property
    def model_extra(self) -> dict[str, Any] | None:
        load_event(self)
        return self.__pydantic_extra__

    @model_serializer(mode="wrap")
    def _serialize_loaded(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        # model_dump, model_dump_json and an event nested in another model all pass here.
        load_event(self)
        return handler(self)

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


class _Envelope(BaseModel):
    """What ``parse_event_deferred`` reads at once: the fields every event has."""

    model_config = ConfigDict(extra="ignore", hide_input_in_errors=True)

    object: Literal["event"] = "event"
    id: str = ""
    type: Any = None
    timestamp: dt.datetime


# The insurer's events start with their four envelope fields as plain strings,
# {"object":"event","id":"evt_...","type":"policy.bound","timestamp":"2026-11-25T02:00:00Z",...}:
# read there, they cost no JSON parse of the whole body.
_LEADING_PAIR = rb'"(object|id|type|timestamp)":"([A-Za-z0-9_.:+\-]{0,255})",'
_LEADING_ENVELOPE = re.compile(rb"\{" + _LEADING_PAIR * 4)
_TIMESTAMP = SchemaValidator(core_schema.datetime_schema())
"""Pydantic's own datetime parsing, the same as a ``dt.datetime`` field's."""
_ALL_SET = frozenset({"object", "id", "type", "timestamp"})


def _envelope(body: bytes) -> tuple[str, Any, dt.datetime, frozenset[str]] | None:
    """``(id, type, timestamp, fields given)``: from the body's first four fields when they are
    exactly those, in any order, as the insurer sends them; else from the whole body parsed; None
    when the envelope is invalid."""
    match = _LEADING_ENVELOPE.match(body)
    if match is not None:
        pairs = match.groups()
        fields = {pairs[0]: pairs[1], pairs[2]: pairs[3], pairs[4]: pairs[5], pairs[6]: pairs[7]}
        if len(fields) == 4 and fields[b"object"] == b"event":
            try:
                timestamp = _TIMESTAMP.validate_python(fields[b"timestamp"].decode())
            except ValidationError:
                pass
            else:
                return fields[b"id"].decode(), fields[b"type"].decode(), timestamp, _ALL_SET
    try:
        envelope = _Envelope.model_validate_json(body)
    except ValidationError:
        return None
    return envelope.id, envelope.type, envelope.timestamp, frozenset(envelope.model_fields_set)


def parse_event_deferred(
    body: bytes, *, default_id: str = "", error: Callable[[bytes, Exception], Exception] | None = None
) -> Event:
    """``parse_event`` for a verified webhook body, with the fields beyond the envelope (``data``,
    ...) validated when first used rather than now.

    The envelope is validated now; the rest of the body, its JSON syntax included when the
    envelope leads it as the insurer sends it, at first use, where a body found invalid raises
    ``error(body, exc)`` (the ValidationError itself without ``error``). An event of a type this SDK does
    not know is parsed at once, as ``parse_event`` does. ``default_id`` fills an event whose body
    has no ``id``.
    """
    envelope = _envelope(body)
    cls = _CLASS_OF_TYPE.get(envelope[1]) if envelope is not None and isinstance(envelope[1], str) else None
    if envelope is None or cls is None:
        event = parse_event(body)
        if not event.id and default_id:
            event.id = default_id
        return event
    event_id, event_type, timestamp, given = envelope
    if not event_id and default_id:
        event_id = default_id
        given = given | {"id"}
    deferred = cls.__new__(cls)
    state = object.__setattr__
    state(
        deferred, "__dict__", {"object": "event", "id": event_id, "type": event_type, "timestamp": timestamp}
    )
    # These stay as they are until the first use: every use that could change them reads the body first.
    state(deferred, "__pydantic_fields_set__", given)
    state(deferred, "__pydantic_extra__", None)
    state(deferred, "__pydantic_private__", {_PENDING: (body, error)})
    return cast(Event, deferred)


def load_event(event: BaseEvent) -> bool:
    """Validate now what ``parse_event_deferred`` left to read; True if there was anything.

    Safe to call on any event, and from several threads (a race validates twice, to equal values).
    """
    try:
        private = object.__getattribute__(event, "__pydantic_private__")
    except AttributeError:  # not initialised yet (unpickling, copying)
        return False
    pending = private.get(_PENDING) if private else None
    if pending is None:
        return False
    body, error = pending
    envelope_id = object.__getattribute__(event, "__dict__")["id"]
    try:
        # pydantic-core validates into the event itself (fields, extras, fields set; the private
        # slot is reset), as a model's __init__ does; on an error the event is left as it was.
        type(event).__pydantic_validator__.validate_json(body, self_instance=event)
    except ValidationError as exc:
        if error is None:
            raise
        raise error(body, exc) from None
    values = object.__getattribute__(event, "__dict__")
    if not values["id"] and envelope_id:  # the body had no id: the message's, as verify gave it
        values["id"] = envelope_id
        object.__getattribute__(event, "__pydantic_fields_set__").add("id")
    if len(private) > 1:  # what else was kept there (a last_response)
        rest = {k: v for k, v in private.items() if k != _PENDING}
        object.__setattr__(event, "__pydantic_private__", rest)
    return True


KNOWN_EVENT_CLASSES: tuple[type[BaseEvent], ...] = get_args(get_args(_KnownEvent)[0])
"""Every typed event class (each ``type`` Literal names its event types): the catalog reads them."""

_CLASS_OF_TYPE: dict[str, type[BaseEvent]] = {
    event_type: cls
    for cls in KNOWN_EVENT_CLASSES
    for event_type in get_args(cls.model_fields["type"].annotation)
}
"""The class of each known event type, for ``parse_event_deferred``."""
