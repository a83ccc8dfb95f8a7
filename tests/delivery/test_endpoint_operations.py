"""Endpoint operations of DESIGN §7.7: enable, recover after an outage, send a test event."""

from __future__ import annotations

import datetime as dt

import pytest

from yangguang_sdk import Client, ParameterError
from yangguang_sdk.errors import APIStatusError
from yangguang_sdk.sandbox import Sandbox
from yangguang_sdk.types.event import WebhookEndpointEvent

from .conftest import START, Receiver, bind

URL = "https://merchant.example/webhooks"
OTHER_URL = "https://ops.example/webhooks"


def disable_by_gone(client: Client, receiver: Receiver) -> str:
    """An endpoint the insurer disabled: its first delivery was answered 410."""
    endpoint = client.webhook_endpoints.create(url=URL)
    receiver.answer(410)
    bind(client, "ORD-gone")
    assert client.webhook_endpoints.retrieve(endpoint.id).status == "disabled"
    return endpoint.id


def test_enable_turns_a_disabled_endpoint_back_on_and_emits_an_event(
    client: Client, receiver: Receiver
) -> None:
    watcher = client.webhook_endpoints.create(url=OTHER_URL, events=["webhook_endpoint.enabled"])
    endpoint_id = disable_by_gone(client, receiver)
    enabled = client.webhook_endpoints.enable(endpoint_id)
    assert (enabled.status, enabled.disabled_reason, enabled.disabled_at) == ("enabled", None, None)
    (event,) = client.events.list(type="webhook_endpoint.enabled")
    assert isinstance(event, WebhookEndpointEvent) and event.data.id == endpoint_id
    assert [d.id for d in receiver.of(OTHER_URL)] == [event.id]
    # Enabling an enabled endpoint changes nothing and emits nothing.
    assert client.webhook_endpoints.enable(endpoint_id).status == "enabled"
    assert len(list(client.events.list(type="webhook_endpoint.enabled"))) == 1
    # New events reach it again, starting a fresh chain.
    before = len(receiver.of(URL))
    bind(client, "ORD-after")
    assert len(receiver.of(URL)) == before + 1
    assert client.webhook_endpoints.retrieve(watcher.id).status == "enabled"


def test_recover_sends_again_each_missed_event_the_endpoint_subscribes_to(
    client: Client, receiver: Receiver
) -> None:
    endpoint_id = disable_by_gone(client, receiver)  # policy.bound of ORD-gone: attempted, 410
    first = bind(client, "ORD-2")  # missed: the endpoint is disabled
    client.test_clock.advance(hours=1)
    client.policies.cancel(first.id, reason="order_refunded")  # missed too
    client.webhook_endpoints.enable(endpoint_id)
    delivered_before = [d.id for d in receiver.of(URL)]

    recovered = client.webhook_endpoints.recover(endpoint_id, since=START)
    missed = [
        e.id
        for e in client.events.list(created_gte=START)
        if e.type in ("policy.bound", "policy.cancelled", "webhook_endpoint.disabled")
    ]
    # The 410'd policy.bound had no successful attempt either, nor the endpoint's own disabling
    # (a disabled endpoint is sent nothing): all are among them; webhook_endpoint.enabled was
    # delivered when it happened.
    assert recovered == len(missed) == 4
    resent = [d.id for d in receiver.of(URL)][len(delivered_before) :]
    assert resent == missed  # in the order they happened, in the endpoint's lane
    attempts = list(client.webhook_endpoints.attempts(endpoint_id))
    assert all(a.redelivery for a in attempts if a.id and a.event_id in missed and a.succeeded)

    # Delivered now: a second recovery finds nothing to send.
    assert client.webhook_endpoints.recover(endpoint_id, since=START) == 0


def test_recover_keeps_to_the_window_and_the_subscription(client: Client, receiver: Receiver) -> None:
    endpoint = client.webhook_endpoints.create(url=URL, events=["policy.cancelled"])
    receiver.answer(500, 500, 500)
    policy = bind(client, "ORD-w")  # not subscribed: never sent
    client.test_clock.advance(hours=2)
    client.policies.cancel(policy.id, reason="order_refunded")  # failed (500), retrying later
    cancelled_at = client.events.list(type="policy.cancelled").data[0].timestamp
    assert client.webhook_endpoints.recover(endpoint.id, since=START, until=cancelled_at) == 0
    assert (
        client.webhook_endpoints.recover(
            endpoint.id, since=START, until=cancelled_at + dt.timedelta(seconds=1)
        )
        == 1
    )


def test_recover_refuses_a_disabled_endpoint_and_a_bad_window(client: Client, receiver: Receiver) -> None:
    endpoint_id = disable_by_gone(client, receiver)
    with pytest.raises(APIStatusError) as caught:
        client.webhook_endpoints.recover(endpoint_id, since=START)
    assert caught.value.status_code == 409 and "enable it first" in str(caught.value)
    with pytest.raises(ParameterError) as bad:
        client.webhook_endpoints.recover(endpoint_id, since=dt.datetime(2026, 11, 25))  # naive
    assert bad.value.param == "since"
    with pytest.raises(ParameterError) as backwards:
        client.webhook_endpoints.recover(endpoint_id, since=START, until=START - dt.timedelta(hours=1))
    assert backwards.value.param == "until"


def test_send_test_delivers_a_test_event_to_that_endpoint_only(
    sandbox: Sandbox, client: Client, receiver: Receiver
) -> None:
    endpoint = client.webhook_endpoints.create(url=URL, events=["claim.paid"], signing="hmac-sha256")
    client.webhook_endpoints.create(url=OTHER_URL)  # subscribed to everything: gets no test event
    event = client.webhook_endpoints.send_test(endpoint.id)
    assert event.type == "webhook_endpoint.test"
    (delivery,) = receiver.deliveries
    assert delivery.url == URL and delivery.id == event.id
    assert endpoint.secret is not None
    verified = sandbox.webhook(endpoint.secret).verify(delivery.body, delivery.headers)
    assert isinstance(verified, WebhookEndpointEvent) and verified.data.id == endpoint.id
    # A test event is never part of a recovery.
    assert client.webhook_endpoints.recover(endpoint.id, since=START) == 0


async def test_the_async_client_has_the_endpoint_operations(sandbox: Sandbox, receiver: Receiver) -> None:
    async with sandbox.async_client(max_retries=0) as client:
        endpoint = await client.webhook_endpoints.create(url=URL)
        assert (await client.webhook_endpoints.enable(endpoint.id)).status == "enabled"
        test_event = await client.webhook_endpoints.send_test(endpoint.id)
        assert test_event.type == "webhook_endpoint.test"
        assert await client.webhook_endpoints.recover(endpoint.id, since=START) == 0
        types = [t.type async for t in client.event_types.list()]
        assert "webhook_endpoint.test" in types
