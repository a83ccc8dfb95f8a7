"""``client.events``: every event ever emitted, for reconciliation of missed webhooks."""

from __future__ import annotations

import datetime as dt

from typing_extensions import Unpack

from .._request import APIRequest
from ..types.event import Event
from ._resource import (
    AsyncAPIResource,
    RequestOptions,
    SyncAPIResource,
    async_list,
    async_method,
    aware,
    options,
    page_limit,
    path_id,
    sync_list,
    sync_method,
)

__all__ = ["Events", "AsyncEvents"]


def retrieve(event_id: str, **opts: Unpack[RequestOptions]) -> APIRequest[Event]:
    """An event by id, typed by its ``type``."""
    return APIRequest("GET", f"/v1/events/{path_id(event_id, 'event_id', 'evt_')}", Event, **options(opts))


def list_(
    *,
    type: str | None = None,
    created_gte: dt.datetime | None = None,
    starting_after: str | None = None,
    limit: int | None = None,
    **opts: Unpack[RequestOptions],
) -> APIRequest[Event]:
    """Events in the order they happened, optionally of one type, since a time, or after the event
    ``starting_after`` (the last one you processed: reconciliation resumes exactly there)."""
    if starting_after is not None:
        path_id(starting_after, "starting_after", "evt_")
    query = {
        "type": type,
        "created_gte": aware(created_gte, "created_gte"),
        "starting_after": starting_after,
        "limit": page_limit(limit),
    }
    return APIRequest("GET", "/v1/events", Event, query=query, **options(opts))


def redeliver(event_id: str, **opts: Unpack[RequestOptions]) -> APIRequest[Event]:
    """Send an event again, with the same id, to every enabled endpoint subscribed to it."""
    eid = path_id(event_id, "event_id", "evt_")
    return APIRequest("POST", f"/v1/events/{eid}/redeliver", Event, body={}, **options(opts))


class Events(SyncAPIResource):
    retrieve = sync_method(retrieve)
    list = sync_list(list_)
    redeliver = sync_method(redeliver)


class AsyncEvents(AsyncAPIResource):
    retrieve = async_method(retrieve)
    list = async_list(list_)
    redeliver = async_method(redeliver)
