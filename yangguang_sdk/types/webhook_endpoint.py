"""Webhook endpoints: where the insurer sends signed events."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field

from ._base import APIObject, RequestModel, Timestamp

__all__ = [
    "WebhookEndpoint",
    "WebhookEndpointCreateParams",
    "WebhookEndpointRecoverParams",
    "WebhookRecovery",
    "DeliveryAttempt",
]


class WebhookEndpoint(APIObject):
    """A URL that receives events. ``secret`` is present only when created or rotated."""

    object: Literal["webhook_endpoint"] = "webhook_endpoint"
    id: str
    url: str
    events: list[str] = Field(default_factory=list)
    signing: Literal["ed25519", "hmac-sha256"] = "ed25519"
    status: Literal["enabled", "disabled"] = "enabled"
    secret: str | None = Field(default=None, repr=False)
    created_at: dt.datetime | None = None
    disabled_reason: str | None = None
    """Why the insurer disabled it: ``gone`` (the URL answered 410) or ``retries_exhausted``."""
    disabled_at: dt.datetime | None = None


class WebhookEndpointCreateParams(RequestModel):
    url: Annotated[str, Field(min_length=1, max_length=2048, pattern=r"^https?://")]
    events: list[str] = Field(default_factory=list)
    signing: Literal["ed25519", "hmac-sha256"] = "ed25519"


class WebhookEndpointRecoverParams(RequestModel):
    since: Timestamp
    """Events from this time on (inclusive) ..."""
    until: Timestamp | None = None
    """... and before this one (exclusive); None: up to now."""


class WebhookRecovery(APIObject):
    """What ``webhook_endpoints.recover`` scheduled."""

    object: Literal["webhook_recovery"] = "webhook_recovery"
    endpoint_id: str
    since: dt.datetime
    until: dt.datetime | None = None
    recovered: int
    """How many events are sent again: those in the window the endpoint subscribes to with no
    successful attempt to it."""


class DeliveryAttempt(APIObject):
    """One attempt to deliver one event to one endpoint."""

    object: Literal["delivery_attempt"] = "delivery_attempt"
    id: str = ""
    event_id: str
    event_type: str | None = None
    endpoint_id: str
    attempt: int
    """1 for the first attempt of a chain (a redelivery starts a new chain)."""
    redelivery: bool = False
    at: dt.datetime
    """When it was sent, on the insurer's clock (the ``webhook-timestamp``)."""
    status_code: int | None = None
    error: str | None = None
    """Why no answer came (timeout, connection refused, ...); None when there was one."""
    succeeded: bool = False
    response: str | None = None
    """The start of the receiver's answer, for debugging."""
    duration_ms: int | None = None
    """How long the attempt took on the sandbox's wall clock (sending, waiting, reading the answer's
    start), in milliseconds; None on attempts recorded before the sandbox measured it."""
    next_attempt_at: dt.datetime | None = None
    """When the next attempt is due, if this one failed and the schedule goes on."""
