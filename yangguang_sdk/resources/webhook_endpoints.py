"""``client.webhook_endpoints``: where the insurer sends signed events."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Literal

from typing_extensions import Unpack

from .._request import APIRequest
from ..errors import ParameterError
from ..types.event import Event
from ..types.webhook_endpoint import (
    DeliveryAttempt,
    WebhookEndpoint,
    WebhookEndpointCreateParams,
    WebhookEndpointRecoverParams,
    WebhookRecovery,
)
from ._resource import (
    AsyncAPIResource,
    RequestOptions,
    SyncAPIResource,
    async_list,
    async_method,
    options,
    page_limit,
    path_id,
    sync_list,
    sync_method,
    validate_params,
)

__all__ = ["WebhookEndpoints", "AsyncWebhookEndpoints"]


def create(
    *,
    url: str,
    events: Sequence[str] = (),
    signing: Literal["ed25519", "hmac-sha256"] = "ed25519",
    **opts: Unpack[RequestOptions],
) -> APIRequest[WebhookEndpoint]:
    """Register a URL for events (all when ``events`` is empty). The returned ``secret`` is shown
    only now: store it. Ed25519 by default, so a leaked receiver key cannot forge events."""
    body = validate_params(
        WebhookEndpointCreateParams, {"url": url, "events": list(events), "signing": signing}
    )
    return APIRequest("POST", "/v1/webhook_endpoints", WebhookEndpoint, body=body, **options(opts))


def retrieve(endpoint_id: str, **opts: Unpack[RequestOptions]) -> APIRequest[WebhookEndpoint]:
    eid = path_id(endpoint_id, "endpoint_id", "whe_")
    return APIRequest("GET", f"/v1/webhook_endpoints/{eid}", WebhookEndpoint, **options(opts))


def list_(*, limit: int | None = None, **opts: Unpack[RequestOptions]) -> APIRequest[WebhookEndpoint]:
    return APIRequest(
        "GET",
        "/v1/webhook_endpoints",
        WebhookEndpoint,
        query={"limit": page_limit(limit)},
        **options(opts),
    )


def delete(endpoint_id: str, **opts: Unpack[RequestOptions]) -> APIRequest[WebhookEndpoint]:
    eid = path_id(endpoint_id, "endpoint_id", "whe_")
    return APIRequest("DELETE", f"/v1/webhook_endpoints/{eid}", WebhookEndpoint, **options(opts))


def rotate_secret(endpoint_id: str, **opts: Unpack[RequestOptions]) -> APIRequest[WebhookEndpoint]:
    """A new secret; the old one keeps signing beside it for 24 hours."""
    eid = path_id(endpoint_id, "endpoint_id", "whe_")
    return APIRequest(
        "POST", f"/v1/webhook_endpoints/{eid}/rotate_secret", WebhookEndpoint, body={}, **options(opts)
    )


def attempts(
    endpoint_id: str,
    *,
    event_id: str | None = None,
    limit: int | None = None,
    **opts: Unpack[RequestOptions],
) -> APIRequest[DeliveryAttempt]:
    """Every delivery attempt to the endpoint, oldest first (optionally those of one event)."""
    eid = path_id(endpoint_id, "endpoint_id", "whe_")
    query = {
        "event_id": None if event_id is None else path_id(event_id, "event_id", "evt_"),
        "limit": page_limit(limit),
    }
    return APIRequest(
        "GET",
        f"/v1/webhook_endpoints/{eid}/attempts",
        DeliveryAttempt,
        query=query,
        **options(opts),
    )


def enable(endpoint_id: str, **opts: Unpack[RequestOptions]) -> APIRequest[WebhookEndpoint]:
    """Enable a disabled endpoint again (the insurer records ``webhook_endpoint.enabled``). Events
    missed while it was disabled are not resent: ``recover`` does that."""
    eid = path_id(endpoint_id, "endpoint_id", "whe_")
    return APIRequest(
        "POST", f"/v1/webhook_endpoints/{eid}/enable", WebhookEndpoint, body={}, **options(opts)
    )


def recover_request(
    endpoint_id: str,
    *,
    since: dt.datetime,
    until: dt.datetime | None = None,
    **opts: Unpack[RequestOptions],
) -> APIRequest[WebhookRecovery]:
    eid = path_id(endpoint_id, "endpoint_id", "whe_")
    params = validate_params(WebhookEndpointRecoverParams, {"since": since, "until": until})
    if params.until is not None and params.until <= params.since:
        raise ParameterError("must be after since", param="until")
    body = params.model_dump(mode="json")
    return APIRequest(
        "POST", f"/v1/webhook_endpoints/{eid}/recover", WebhookRecovery, body=body, **options(opts)
    )


def send_test(endpoint_id: str, **opts: Unpack[RequestOptions]) -> APIRequest[Event]:
    """Deliver a ``webhook_endpoint.test`` event to this endpoint now (to it only); returns the event."""
    eid = path_id(endpoint_id, "endpoint_id", "whe_")
    return APIRequest("POST", f"/v1/webhook_endpoints/{eid}/send_test", Event, body={}, **options(opts))


class WebhookEndpoints(SyncAPIResource):
    create = sync_method(create)
    retrieve = sync_method(retrieve)
    list = sync_list(list_)
    delete = sync_method(delete)
    rotate_secret = sync_method(rotate_secret)
    attempts = sync_list(attempts)
    enable = sync_method(enable)
    send_test = sync_method(send_test)

    def recover(
        self,
        endpoint_id: str,
        *,
        since: dt.datetime,
        until: dt.datetime | None = None,
        **opts: Unpack[RequestOptions],
    ) -> int:
        """Send again every event from ``since`` (inclusive) to ``until`` (exclusive; now if None)
        that the endpoint subscribes to and that has no successful attempt to it, in the endpoint's
        order; returns how many. Use it after an outage, once the endpoint is enabled."""
        return self._client.execute(recover_request(endpoint_id, since=since, until=until, **opts)).recovered


class AsyncWebhookEndpoints(AsyncAPIResource):
    create = async_method(create)
    retrieve = async_method(retrieve)
    list = async_list(list_)
    delete = async_method(delete)
    rotate_secret = async_method(rotate_secret)
    attempts = async_list(attempts)
    enable = async_method(enable)
    send_test = async_method(send_test)

    async def recover(
        self,
        endpoint_id: str,
        *,
        since: dt.datetime,
        until: dt.datetime | None = None,
        **opts: Unpack[RequestOptions],
    ) -> int:
        """Send again every event from ``since`` (inclusive) to ``until`` (exclusive; now if None)
        that the endpoint subscribes to and that has no successful attempt to it, in the endpoint's
        order; returns how many. Use it after an outage, once the endpoint is enabled."""
        recovery = await self._client.execute(recover_request(endpoint_id, since=since, until=until, **opts))
        return recovery.recovered
