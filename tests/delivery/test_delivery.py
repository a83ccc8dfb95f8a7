"""Webhook delivery from the in-process sandbox: signing, retries on the sandbox clock, disabling,
redelivery, rotation and the attempt log (DESIGN §5)."""

from __future__ import annotations

import datetime as dt
import json
import time

import httpx
import pytest

from yangguang_sdk import Client, NotFoundError
from yangguang_sdk.errors import APIStatusError
from yangguang_sdk.sandbox import Sandbox
from yangguang_sdk.sandbox.delivery import RETRY_SCHEDULE, ROTATION_GRACE, USER_AGENT
from yangguang_sdk.webhooks import MemoryInbox, Webhook, WebhookHandler, WebhookVerificationError

from .conftest import START, Receiver, bind, cumulative

URL = "https://merchant.example/webhooks"
OTHER_URL = "https://ops.example/webhooks"
SCHEDULE_SECONDS = [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]
offset = cumulative(list(RETRY_SCHEDULE))


def test_the_retry_schedule_is_the_designed_one() -> None:
    assert [int(step.total_seconds()) for step in RETRY_SCHEDULE] == SCHEDULE_SECONDS


# -- what a delivery looks like ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("signing", "prefix", "version"), [("ed25519", "whpk_", "v1a,"), ("hmac-sha256", "whsec_", "v1,")]
)
def test_a_delivery_verifies_with_the_secret_shown_at_creation(
    sandbox: Sandbox, client: Client, receiver: Receiver, signing: str, prefix: str, version: str
) -> None:
    endpoint = client.webhook_endpoints.create(url=URL, signing=signing)  # type: ignore[arg-type]
    assert endpoint.secret is not None and endpoint.secret.startswith(prefix)
    assert endpoint.status == "enabled" and endpoint.signing == signing

    policy = bind(client)

    (delivery,) = receiver.deliveries
    event = sandbox.webhook(endpoint.secret).verify(delivery.body, delivery.headers)
    assert event.type == "policy.bound" and event.data.id == policy.id  # type: ignore[union-attr]
    assert delivery.headers["webhook-signature"].startswith(version)
    assert delivery.headers["content-type"] == "application/json"
    assert delivery.headers["user-agent"] == USER_AGENT
    assert abs(delivery.timestamp - time.time()) < 60  # signed at the real send time
    assert delivery.url == URL


def test_the_body_is_the_event_as_stored_with_its_id(
    sandbox: Sandbox, client: Client, receiver: Receiver
) -> None:
    client.webhook_endpoints.create(url=URL)
    bind(client)
    (delivery,) = receiver.deliveries
    stored = sandbox.engine.get_event(sandbox.api_key, delivery.id)
    assert json.loads(delivery.body) == stored
    assert set(stored) >= {"id", "type", "timestamp", "data"}


def test_a_real_time_verifier_accepts_deliveries_however_far_the_clock_moved(
    client: Client, receiver: Receiver
) -> None:
    """Signatures carry the wall clock; the body keeps the event's own (tenant clock) time."""
    endpoint = client.webhook_endpoints.create(url=URL, signing="hmac-sha256")
    client.test_clock.advance(days=400)
    bind(client, first_due="2028-02-01")
    (delivery,) = receiver.deliveries
    assert endpoint.secret is not None
    event = Webhook(endpoint.secret).verify(delivery.body, delivery.headers)  # default tolerance
    assert event.timestamp == START + dt.timedelta(days=400)
    tampered = {**delivery.headers, "webhook-timestamp": str(delivery.timestamp - 3600)}
    with pytest.raises(WebhookVerificationError, match="timestamp"):
        Webhook(endpoint.secret).verify(delivery.body, tampered)


def test_the_secret_is_shown_only_at_creation(client: Client) -> None:
    created = client.webhook_endpoints.create(url=URL, events=["claim.paid"])
    assert created.secret
    fetched = client.webhook_endpoints.retrieve(created.id)
    assert fetched.secret is None and fetched.events == ["claim.paid"]
    assert [e.secret for e in client.webhook_endpoints.list()] == [None]
    assert "secret" not in repr(created)


def test_an_endpoint_gets_only_the_event_types_it_subscribed_to(client: Client, receiver: Receiver) -> None:
    client.webhook_endpoints.create(url=URL, events=["policy.cancelled"])
    client.webhook_endpoints.create(url=OTHER_URL)
    policy = bind(client)
    client.policies.cancel(policy.id, reason="order_refunded")
    assert [json.loads(d.body)["type"] for d in receiver.of(URL)] == ["policy.cancelled"]
    assert [json.loads(d.body)["type"] for d in receiver.of(OTHER_URL)] == [
        "policy.bound",
        "policy.cancelled",
    ]


def test_endpoints_are_per_tenant(sandbox: Sandbox, client: Client, receiver: Receiver) -> None:
    endpoint = client.webhook_endpoints.create(url=URL)
    other = sandbox.client(api_key="yg_test_another_merchant", max_retries=0)
    with pytest.raises(NotFoundError):
        other.webhook_endpoints.retrieve(endpoint.id)
    assert list(other.webhook_endpoints.list()) == []
    bind(other)
    assert receiver.deliveries == []


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [({"events": ["claim.payed"]}, "events"), ({"url": "http://"}, "url")],
)
def test_a_bad_endpoint_is_refused_naming_the_field(
    client: Client, kwargs: dict[str, object], param: str
) -> None:
    with pytest.raises(APIStatusError) as info:
        client.webhook_endpoints.create(**{"url": URL, **kwargs})  # type: ignore[arg-type]
    assert info.value.status_code == 422 and info.value.param == param


# -- retries on the sandbox clock -------------------------------------------------------------


def test_failed_attempts_are_retried_on_the_schedule_of_the_sandbox_clock(
    sandbox: Sandbox, client: Client, receiver: Receiver
) -> None:
    endpoint = client.webhook_endpoints.create(url=URL)
    receiver.answer(500, 502, 503, 504, 500, 500, 500, 500)  # the 9th attempt succeeds
    bind(client)
    sent_at = START
    client.test_clock.advance(days=4)

    expected = [sent_at + offset(n) for n in range(1, 10)]
    assert len(receiver.deliveries) == 9  # every retry due in the window ran before advance returned
    assert all(abs(d.timestamp - time.time()) < 60 for d in receiver.deliveries)  # wall-clock signatures
    assert len({d.id for d in receiver.deliveries}) == 1
    assert len({d.body for d in receiver.deliveries}) == 1

    attempts = list(client.webhook_endpoints.attempts(endpoint.id))
    assert [a.attempt for a in attempts] == list(range(1, 10))
    assert [a.at for a in attempts] == expected
    assert [a.succeeded for a in attempts] == [False] * 8 + [True]
    assert [a.status_code for a in attempts] == [500, 502, 503, 504, 500, 500, 500, 500, 200]
    assert [a.next_attempt_at for a in attempts] == expected[1:] + [None]
    assert client.webhook_endpoints.retrieve(endpoint.id).status == "enabled"


def test_each_delivery_is_signed_at_its_own_send_time(
    sandbox: Sandbox, client: Client, receiver: Receiver
) -> None:
    endpoint = client.webhook_endpoints.create(url=URL)
    receiver.answer(500, 500)
    bind(client)
    client.test_clock.advance(hours=1)
    assert endpoint.secret is not None
    assert len(receiver.deliveries) == 3
    for delivery in receiver.deliveries:
        Webhook(endpoint.secret).verify(delivery.body, delivery.headers)  # the real time, default tolerance
    stamps = [d.timestamp for d in receiver.deliveries]
    assert stamps == sorted(stamps) and time.time() - 60 < stamps[0] <= stamps[-1] <= time.time()


def test_timeouts_and_refused_connections_are_failures_recorded_with_their_reason(
    client: Client, receiver: Receiver
) -> None:
    endpoint = client.webhook_endpoints.create(url=URL)
    receiver.answer(
        httpx.ConnectError("Connection refused"), httpx.ReadTimeout("slow"), (302, {"location": "/x"})
    )
    bind(client)
    client.test_clock.advance(hours=1)
    attempts = list(client.webhook_endpoints.attempts(endpoint.id))
    assert [a.succeeded for a in attempts] == [False, False, False, True]
    assert attempts[0].status_code is None and "connection" in (attempts[0].error or "")
    assert attempts[1].status_code is None and "timeout" in (attempts[1].error or "")
    assert attempts[2].status_code == 302  # redirects are not followed: only 2xx is success
    assert attempts[3].response == '{"ok":true}'


def test_a_receiver_that_raises_is_a_failed_attempt(
    sandbox: Sandbox, client: Client, receiver: Receiver
) -> None:
    endpoint = client.webhook_endpoints.create(url=URL)
    receiver.answer(RuntimeError("bug in the receiver"))
    bind(client)
    client.test_clock.advance(minutes=1)
    attempts = list(client.webhook_endpoints.attempts(endpoint.id))
    assert [a.succeeded for a in attempts] == [False, True]
    assert attempts[0].error == "the receiver raised RuntimeError"


def test_retry_after_is_honoured_when_longer_than_the_schedule(client: Client, receiver: Receiver) -> None:
    endpoint = client.webhook_endpoints.create(url=URL)
    receiver.answer(
        (503, {"retry-after": "3600"}), (429, {"retry-after": "1"}), (503, {"retry-after": "99999999"})
    )
    bind(client)
    client.test_clock.advance(days=2)
    at = [a.at for a in client.webhook_endpoints.attempts(endpoint.id)]
    assert at[1] - at[0] == dt.timedelta(hours=1)  # Retry-After 3600 beats 5 s
    assert at[2] - at[1] == dt.timedelta(minutes=5)  # the schedule's 5 min beats Retry-After 1
    assert at[3] - at[2] == dt.timedelta(hours=24)  # an absurd Retry-After is capped at 24 h
    assert len(at) == 4


def test_gone_disables_the_endpoint_at_once(client: Client, receiver: Receiver) -> None:
    endpoint = client.webhook_endpoints.create(url=URL)
    watcher = client.webhook_endpoints.create(url=OTHER_URL, events=["webhook_endpoint.disabled"])
    receiver.answer(410)
    policy = bind(client)
    client.test_clock.advance(days=5)
    client.policies.cancel(policy.id, reason="order_refunded")

    assert len(receiver.of(URL)) == 1
    disabled = client.webhook_endpoints.retrieve(endpoint.id)
    assert disabled.status == "disabled" and disabled.disabled_reason == "gone"
    assert disabled.disabled_at == START
    (notice,) = receiver.of(OTHER_URL)
    assert watcher.secret is not None
    event = Webhook(watcher.secret).verify(notice.body, notice.headers)
    assert event.type == "webhook_endpoint.disabled"
    assert event.data.id == endpoint.id and event.data.secret is None  # type: ignore[union-attr]
    assert b"whsk_" not in notice.body


def test_an_exhausted_schedule_disables_the_endpoint_and_emits_an_event(
    sandbox: Sandbox, client: Client, receiver: Receiver
) -> None:
    endpoint = client.webhook_endpoints.create(url=URL, events=["policy.bound", "policy.cancelled"])
    client.webhook_endpoints.create(url=OTHER_URL, events=["webhook_endpoint.disabled"])
    receiver.answer(*[500] * 10)
    policy = bind(client)
    client.test_clock.advance(days=5)

    assert len(receiver.of(URL)) == 10 == len(RETRY_SCHEDULE) + 1
    attempts = list(client.webhook_endpoints.attempts(endpoint.id))
    assert attempts[-1].at == START + offset(10) == START + dt.timedelta(hours=75, minutes=35, seconds=5)
    assert attempts[-1].next_attempt_at is None
    disabled = client.webhook_endpoints.retrieve(endpoint.id)
    assert (disabled.status, disabled.disabled_reason) == ("disabled", "retries_exhausted")
    assert disabled.disabled_at == attempts[-1].at

    (event,) = client.events.list(type="webhook_endpoint.disabled")
    assert event.timestamp == attempts[-1].at
    assert event.data.id == endpoint.id  # type: ignore[union-attr]
    assert [json.loads(d.body)["id"] for d in receiver.of(OTHER_URL)] == [event.id]

    client.policies.cancel(policy.id, reason="order_refunded")  # nothing more goes to a disabled endpoint
    assert len(receiver.of(URL)) == 10


def test_disabling_drops_the_pending_retries_of_other_events(client: Client, receiver: Receiver) -> None:
    endpoint = client.webhook_endpoints.create(url=URL)
    receiver.answer(500, 410)  # policy.bound fails; then the second bind's delivery is answered 410
    bind(client, "A")
    bind(client, "B")
    client.test_clock.advance(days=5)
    assert len(receiver.deliveries) == 2
    assert client.webhook_endpoints.retrieve(endpoint.id).status == "disabled"


# -- redelivery, deletion, rotation ----------------------------------------------------------


def test_redeliver_sends_the_same_event_id_again_and_the_inbox_runs_it_once(
    sandbox: Sandbox, client: Client, receiver: Receiver
) -> None:
    endpoint = client.webhook_endpoints.create(url=URL)
    assert endpoint.secret is not None
    handler = WebhookHandler(sandbox.webhook(endpoint.secret), inbox=MemoryInbox())
    runs: list[str] = []
    handler.on("policy.bound")(lambda event: runs.append(event.id))
    bind(client)
    (first,) = receiver.deliveries

    event = client.events.redeliver(first.id)
    assert event.id == first.id

    second = receiver.deliveries[-1]
    assert second.id == first.id and second.body == first.body
    assert [handler.handle(d.body, d.headers)[0] for d in (first, second)] == [200, 200]
    assert runs == [first.id]
    attempts = list(client.webhook_endpoints.attempts(endpoint.id, event_id=first.id))
    assert [(a.attempt, a.redelivery) for a in attempts] == [(1, False), (1, True)]


def test_redeliver_of_an_unknown_event_is_not_found(client: Client) -> None:
    with pytest.raises(NotFoundError):
        client.events.redeliver("evt_doesnotexist")


def test_deleting_an_endpoint_stops_its_pending_retries(client: Client, receiver: Receiver) -> None:
    endpoint = client.webhook_endpoints.create(url=URL)
    receiver.answer(500)
    bind(client)
    deleted = client.webhook_endpoints.delete(endpoint.id)
    assert deleted.model_extra == {"deleted": True}
    client.test_clock.advance(days=5)
    assert len(receiver.deliveries) == 1
    with pytest.raises(NotFoundError):
        client.webhook_endpoints.retrieve(endpoint.id)
    assert list(client.webhook_endpoints.list()) == []


@pytest.mark.parametrize("signing", ["ed25519", "hmac-sha256"])
def test_after_rotation_both_secrets_verify_for_24_hours_then_only_the_new_one(
    sandbox: Sandbox, client: Client, receiver: Receiver, signing: str
) -> None:
    endpoint = client.webhook_endpoints.create(url=URL, signing=signing)  # type: ignore[arg-type]
    bind(client)
    event_id = receiver.deliveries[0].id
    client.test_clock.advance(hours=1)
    rotated = client.webhook_endpoints.rotate_secret(endpoint.id)
    old, new = endpoint.secret, rotated.secret
    assert old and new and old != new and new[:5] == old[:5]
    assert client.webhook_endpoints.retrieve(endpoint.id).secret is None

    client.test_clock.advance(hours=23, minutes=59)
    client.events.redeliver(event_id)
    during = receiver.deliveries[-1]
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        sandbox.webhook(secret).verify(during.body, during.headers)

    client.test_clock.advance(minutes=1)  # 24 h after the rotation
    client.events.redeliver(event_id)
    after = receiver.deliveries[-1]
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    sandbox.webhook(new).verify(after.body, after.headers)
    with pytest.raises(WebhookVerificationError):
        sandbox.webhook(old).verify(after.body, after.headers)
    assert ROTATION_GRACE == dt.timedelta(hours=24)


def test_attempts_are_listed_page_by_page_and_per_event(client: Client, receiver: Receiver) -> None:
    endpoint = client.webhook_endpoints.create(url=URL)
    receiver.answer(500, 500)
    policy = bind(client)
    client.test_clock.advance(hours=1)
    client.policies.cancel(policy.id, reason="order_refunded")
    page = client.webhook_endpoints.attempts(endpoint.id, limit=2)
    assert len(page.data) == 2 and page.has_more
    every = list(page)
    assert len(every) == 4 and len({a.id for a in every}) == 4
    assert all(a.id.startswith("wha_") and a.endpoint_id == endpoint.id for a in every)
    bound = every[0].event_id
    assert [a.attempt for a in client.webhook_endpoints.attempts(endpoint.id, event_id=bound)] == [1, 2, 3]
    assert every[-1].event_type == "policy.cancelled"


def test_the_events_of_a_run_do_not_depend_on_how_deliveries_went(receiver: Receiver) -> None:
    """Ids stay deterministic: attempts draw from a sequence of their own."""

    def run(answers: list[int]) -> list[str]:
        flaky = Receiver(script=list(answers))
        with Sandbox(now=START, webhook_transport=flaky) as sb:
            c = sb.client()
            c.webhook_endpoints.create(url=URL)
            bind(c)
            c.test_clock.advance(days=1)
            policy = bind(c, "B", first_due="2027-01-26")
            c.policies.cancel(policy.id, reason="order_refunded")
            return [e.id for e in c.events.list()]

    assert run([]) == run([500, 500, 500, 500])


async def test_the_async_client_manages_endpoints_and_pages_through_attempts(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    async with sandbox.async_client() as client:
        endpoint = await client.webhook_endpoints.create(url=URL, signing="hmac-sha256")
        receiver.answer(500)
        sync = sandbox.client()
        bind(sync)
        sync.test_clock.advance(minutes=1)
        attempts = [a async for a in client.webhook_endpoints.attempts(endpoint.id, limit=1)]
        assert [(a.attempt, a.succeeded) for a in attempts] == [(1, False), (2, True)]
        rotated = await client.webhook_endpoints.rotate_secret(endpoint.id)
        assert rotated.secret and rotated.secret != endpoint.secret
        assert (await client.events.redeliver(attempts[0].event_id)).id == attempts[0].event_id
        await client.webhook_endpoints.delete(endpoint.id)
        assert [e async for e in client.webhook_endpoints.list()] == []
