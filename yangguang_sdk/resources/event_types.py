"""``client.event_types``: the event catalog, every event type with its meaning and data schema."""

from __future__ import annotations

from typing_extensions import Unpack

from .._request import APIRequest
from ..types.event_type import EventType
from ._resource import AsyncAPIResource, RequestOptions, SyncAPIResource, async_list, options, sync_list

__all__ = ["EventTypes", "AsyncEventTypes"]


def list_(**opts: Unpack[RequestOptions]) -> APIRequest[EventType]:
    """Every event type the insurer emits: ``type``, ``description``, and ``data_schema``, the JSON
    Schema of its ``data``."""
    return APIRequest("GET", "/v1/event_types", EventType, **options(opts))


class EventTypes(SyncAPIResource):
    list = sync_list(list_)


class AsyncEventTypes(AsyncAPIResource):
    list = async_list(list_)
