"""Lists walk every page, passing the cursor as ``starting_after``; sync ``for`` and ``async for``."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

import yangguang_sdk as yg
from yangguang_sdk.types import ClaimEvent, GenericEvent, PolicyEvent

from ._support import API_KEY, BASE_URL, Server, ok, policy_json, status

IDS = [f"pol_{n}" for n in range(1, 8)]


class Pages:
    """An insurer holding seven policies, served ``limit`` at a time (default 3)."""

    def __init__(self, ids: list[str] = IDS) -> None:
        self.ids = ids
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        limit = int(request.url.params.get("limit", 3))
        after = request.url.params.get("starting_after")
        start = self.ids.index(after) + 1 if after else 0
        chunk = self.ids[start : start + limit]
        more = start + limit < len(self.ids)
        body = {
            "data": [policy_json(pid) for pid in chunk],
            "has_more": more,
            "next_cursor": chunk[-1] if more else None,
        }
        return httpx.Response(200, json=body, headers={"request-id": f"req_page{len(self.requests)}"})

    @property
    def cursors(self) -> list[str | None]:
        return [r.url.params.get("starting_after") for r in self.requests]


def sync_client(handler: Any) -> yg.Client:
    return yg.Client(api_key=API_KEY, base_url=BASE_URL, transport=httpx.MockTransport(handler))


def async_client(handler: Any) -> yg.AsyncClient:
    return yg.AsyncClient(api_key=API_KEY, base_url=BASE_URL, transport=httpx.MockTransport(handler))


def test_sync_for_walks_every_page() -> None:
    pages = Pages()
    with sync_client(pages) as client:
        policies = list(client.policies.list(status="active"))
    assert [p.id for p in policies] == IDS
    assert pages.cursors == [None, "pol_3", "pol_6"]
    # the filters go with every page
    assert all(r.url.params["status"] == "active" for r in pages.requests)
    assert all(isinstance(p, yg.types.Policy) for p in policies)


def test_sync_list_returns_the_first_page_lazily() -> None:
    pages = Pages()
    with sync_client(pages) as client:
        page = client.policies.list(limit=2)
        assert len(pages.requests) == 1
        assert [p.id for p in page.data] == ["pol_1", "pol_2"]
        assert page.has_more and page.next_cursor == "pol_2" and len(page) == 2
        assert page.last_response is not None and page.last_response.request_id == "req_page1"
        walked = [[p.id for p in pg.data] for pg in page.iter_pages()]
    assert walked == [["pol_1", "pol_2"], ["pol_3", "pol_4"], ["pol_5", "pol_6"], ["pol_7"]]
    assert pages.cursors == [None, "pol_2", "pol_4", "pol_6"]
    assert all(r.url.params["limit"] == "2" for r in pages.requests)


def test_next_page_is_none_at_the_end() -> None:
    with sync_client(Pages()) as client:
        page = client.policies.list(limit=10)
        assert not page.has_more
        assert page.next_page() is None


def test_has_more_without_a_cursor_stops_instead_of_looping() -> None:
    body = {"data": [policy_json("pol_1")], "has_more": True, "next_cursor": None}
    server = Server(ok(body))
    with sync_client(server) as client:
        assert [p.id for p in client.policies.list()] == ["pol_1"]
    assert server.count == 1


def test_a_failing_later_page_raises_the_typed_error() -> None:
    pages = Pages()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("starting_after"):
            return status(404)
        return pages(request)

    with sync_client(handler) as client:
        seen = []
        with pytest.raises(yg.NotFoundError):
            for p in client.policies.list():
                seen.append(p.id)
    assert seen == ["pol_1", "pol_2", "pol_3"]


async def test_async_for_walks_every_page() -> None:
    pages = Pages()
    async with async_client(pages) as client:
        ids = [p.id async for p in client.policies.list(status="active")]
    assert ids == IDS
    assert pages.cursors == [None, "pol_3", "pol_6"]


async def test_await_list_gives_the_first_page() -> None:
    pages = Pages()
    async with async_client(pages) as client:
        page = await client.policies.list(limit=4)
        assert isinstance(page, yg.AsyncPage)
        assert [p.id for p in page.data] == ["pol_1", "pol_2", "pol_3", "pol_4"]
        assert len(pages.requests) == 1
        nxt = await page.next_page()
        assert nxt is not None and [p.id for p in nxt.data] == ["pol_5", "pol_6", "pol_7"]
        assert await nxt.next_page() is None
        # async for over a page walks it and every following page
        assert [p.id async for p in page] == IDS
    assert pages.cursors == [None, "pol_4", "pol_4"]


async def test_async_iter_pages() -> None:
    async with async_client(Pages()) as client:
        page = await client.policies.list(limit=5)
        sizes = [len(pg.data) async for pg in page.iter_pages()]
    assert sizes == [5, 2]


async def test_async_with_options_paginates_with_the_copy() -> None:
    pages = Pages()
    async with async_client(pages) as client:
        copy = client.with_options(timeout=4)
        assert [p.id async for p in copy.policies.list()] == IDS
    assert all(r.extensions["timeout"]["read"] == 4 for r in pages.requests)


def event(eid: str, type_: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"object": "event", "id": eid, "type": type_, "timestamp": "2026-11-25T02:00:00Z", "data": data}


CLAIM = {
    "object": "claim",
    "id": "clm_1",
    "policy_id": "pol_1",
    "status": "paid",
    "amount": {"amount": 1000000, "currency": "CNY"},
    "opened_at": "2026-11-25T02:00:00Z",
}


def test_events_list_types_each_event_and_tolerates_new_types() -> None:
    data = [
        event("evt_1", "policy.bound", policy_json()),
        event("evt_2", "claim.paid", CLAIM),
        event("evt_3", "policy.renewed", {"id": "pol_1", "brand_new": True}),
    ]
    server = Server(ok({"data": data, "has_more": False, "next_cursor": None}))
    with sync_client(server) as client:
        events = list(client.events.list(type="claim.paid"))
    assert [type(e) for e in events] == [PolicyEvent, ClaimEvent, GenericEvent]
    assert isinstance(events[1], ClaimEvent) and events[1].data.amount == yg.Money.cny("10000.00")
    assert events[2].data == {"id": "pol_1", "brand_new": True}
    assert server.requests[0].url.params["type"] == "claim.paid"


async def test_async_events_retrieve_is_typed() -> None:
    server = Server(ok(event("evt_2", "claim.paid", CLAIM)))
    async with async_client(server) as client:
        got = await client.events.retrieve("evt_2")
    assert isinstance(got, ClaimEvent) and got.last_response is not None


def test_sync_raw_page_gives_the_json_objects_as_sent_and_follows_the_cursor() -> None:
    pages = Pages()
    with sync_client(pages) as client:
        page = client.raw_page("/v1/policies", query={"limit": 3, "status": None}, starting_after="pol_1")
        assert [p["id"] for p in page.data] == ["pol_2", "pol_3", "pol_4"]
        assert page.data[0] == policy_json("pol_2")  # a dict, exactly as the API sent it
        assert page.last_response is not None and page.last_response.request_id == "req_page1"
        nxt = page.next_page()
        assert nxt is not None and [p["id"] for p in nxt.data] == ["pol_5", "pol_6", "pol_7"]
    assert pages.cursors == ["pol_1", "pol_4"]
    assert "status" not in pages.requests[0].url.params  # None filters are left out


async def test_async_raw_page_gives_the_json_objects_as_sent_and_follows_the_cursor() -> None:
    pages = Pages()
    async with async_client(pages) as client:
        page = await client.raw_page("/v1/policies", query={"limit": 3})
        assert [p["id"] for p in page.data] == ["pol_1", "pol_2", "pol_3"]
        assert all(isinstance(p, dict) for p in page.data)
        assert [p["id"] async for p in page] == IDS
    assert pages.cursors == [None, "pol_3", "pol_6"]
