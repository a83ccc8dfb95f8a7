"""``Webhook.verify`` reads an event's envelope at once and the rest when first used (issue 16's
speed target). These tests take the sandbox's real deliveries of a year of loans, every event type
it sends, and check that a deferred event behaves exactly as one parsed at once, whichever use
comes first, and that a body that does not validate is still refused, at first use and by the
handler before the merchant's function runs."""

from __future__ import annotations

import copy
import json
import pickle
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, TypeAdapter

from yangguang_sdk.errors import WebhookVerificationError
from yangguang_sdk.sandbox import Sandbox
from yangguang_sdk.types import EVENT_TYPES, Event, GenericEvent, parse_event
from yangguang_sdk.types.event import load_event, parse_event_deferred
from yangguang_sdk.webhooks import MemoryInbox, Webhook, WebhookHandler, build_headers

from ._scenario import live_a_year
from .conftest import START, Delivery, Receiver

URL = "https://merchant.example/webhooks"


@pytest.fixture(scope="module")
def year() -> tuple[list[Delivery], Webhook]:
    """A year of a small loan book, delivered: policies bound, overdue, cured, defaulted, claims
    opened to paid, recoveries, cancels, settles, a test event and the months' statements."""
    receiver = Receiver()
    with Sandbox(now=START, webhook_transport=receiver) as sb:
        client = sb.client()
        endpoint = client.webhook_endpoints.create(url=URL)
        assert endpoint.secret is not None
        client.webhook_endpoints.send_test(endpoint.id)
        live_a_year(sb, client, 40, seed=5)
        webhook = Webhook(endpoint.secret)  # the sandbox signs with the real send time
    return receiver.deliveries, webhook


def eager(delivery: Delivery) -> Event:
    event = parse_event(delivery.body)
    if not event.id:
        event.id = delivery.id
    return event


def test_the_year_covers_the_event_types(year: tuple[list[Delivery], Webhook]) -> None:
    types = {json.loads(d.body)["type"] for d in year[0]}
    # all but the types this year does not make: referred quotes, endorsements, rejected claims,
    # endpoints disabled after failing for days and enabled again
    not_made = {
        "quote.decided",
        "policy.endorsed",
        "claim.rejected",
        "webhook_endpoint.disabled",
        "webhook_endpoint.enabled",
    }
    assert types == set(EVENT_TYPES) - not_made


def test_verify_defers_the_fields_beyond_the_envelope_of_the_insurers_bodies(
    year: tuple[list[Delivery], Webhook],
) -> None:
    deliveries, webhook = year
    for delivery in deliveries:
        event = webhook.verify(delivery.body, delivery.headers)
        assert set(vars(event)) == {"object", "id", "type", "timestamp"}, event.type
        assert load_event(event) is True
        assert "data" in vars(event)
        assert load_event(event) is False


USES: dict[str, Callable[[Any], Any]] = {
    "==": lambda e: e,
    "data": lambda e: e.data,
    "repr": repr,
    "str": str,
    "model_dump": lambda e: e.model_dump(),
    "model_dump json mode": lambda e: e.model_dump(mode="json", exclude_none=True),
    "model_dump_json": lambda e: e.model_dump_json(),
    "to_dict": lambda e: e.to_dict(),
    "iter": lambda e: dict(e),
    "copy": copy.copy,
    "deepcopy": copy.deepcopy,
    "pickle": lambda e: pickle.loads(pickle.dumps(e)),
    "model_copy update": lambda e: e.model_copy(update={"id": "evt_other"}),
    "model_fields_set": lambda e: e.model_fields_set,
    "model_extra": lambda e: e.model_extra,
    "object_version": lambda e: e.object_version,
    "nested dump": lambda e: TypeAdapter(list[Event]).dump_json([e]),
    "in a model": lambda e: Wrapper(event=e).model_dump_json(),
    "every field": lambda e: {name: getattr(e, name) for name in type(e).model_fields},
}


class Wrapper(BaseModel):
    event: Event


@pytest.mark.parametrize("use", list(USES))
def test_a_deferred_event_is_the_event_parsed_at_once_whatever_is_used_first(
    year: tuple[list[Delivery], Webhook], use: str
) -> None:
    deliveries, webhook = year
    apply = USES[use]
    for delivery in deliveries:
        expected = eager(delivery)
        deferred = webhook.verify(delivery.body, delivery.headers)
        assert apply(deferred) == apply(expected), (use, delivery.id)
        assert deferred == expected
        assert repr(deferred) == repr(expected)


def test_setting_a_field_first_keeps_the_value_set(year: tuple[list[Delivery], Webhook]) -> None:
    deliveries, webhook = year
    delivery = next(d for d in deliveries if b'"installment.overdue"' in d.body)
    event: Any = webhook.verify(delivery.body, delivery.headers)
    assert event.type == "installment.overdue"
    event.installment = 99
    assert event.installment == 99
    assert event.data == eager(delivery).data
    del event.installment
    with pytest.raises(AttributeError):
        _ = event.installment


def test_many_threads_reading_one_deferred_event_all_see_it(year: tuple[list[Delivery], Webhook]) -> None:
    deliveries, webhook = year
    bound = [d for d in deliveries if b'"policy.bound"' in d.body][:20]
    for delivery in bound:
        seen, errors = read_from_threads(webhook.verify(delivery.body, delivery.headers), 8)
        assert errors == []
        assert seen == [eager(delivery).data] * 8


def read_from_threads(event: Any, count: int) -> tuple[list[Any], list[BaseException]]:
    """``event.data`` read by ``count`` threads at once."""
    seen: list[Any] = []
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def read() -> None:
        start.wait()
        try:
            seen.append(event.data)
        except BaseException as exc:  # pragma: no cover - the failure this test looks for
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return seen, errors


def test_other_key_orders_and_escapes_parse_the_whole_envelope(year: tuple[list[Delivery], Webhook]) -> None:
    """A body not laid out as the insurer's (keys sorted, indented, an escaped id) is read by
    parsing it whole; the event is the same."""
    deliveries, webhook = year
    for delivery in deliveries[:60]:
        data = json.loads(delivery.body)
        for body in (
            json.dumps(data, sort_keys=True).encode(),
            json.dumps(data, indent=2, ensure_ascii=True).encode(),
            json.dumps({**data, "id": data["id"] + "/é"}, ensure_ascii=False).encode(),
        ):
            expected = parse_event(body)
            deferred = parse_event_deferred(body)
            assert deferred == expected
            assert deferred.model_dump_json() == expected.model_dump_json()


def test_an_unknown_type_is_a_generic_event_at_once() -> None:
    body = b'{"object":"event","id":"evt_1","type":"policy.renewed","timestamp":"2027-01-15T08:00:00Z","data":{"v":1}}'
    event = parse_event_deferred(body)
    assert isinstance(event, GenericEvent)
    assert "data" in vars(event) and event.data == {"v": 1}


def test_a_missing_id_takes_the_message_id(year: tuple[list[Delivery], Webhook]) -> None:
    deliveries, webhook = year
    delivery = deliveries[-1]
    data = json.loads(delivery.body)
    del data["id"]
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    headers = build_headers(secret, "msg_given", body)
    event = Webhook(secret).verify(body, headers)
    assert event.id == "msg_given"
    assert "id" in event.model_fields_set
    assert event.model_dump()["id"] == "msg_given"


def test_the_handler_refuses_a_body_that_does_not_validate_before_the_function_runs() -> None:
    secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    handler = WebhookHandler(Webhook(secret), inbox=MemoryInbox())
    calls: list[str] = []
    handler.on("claim.paid")(lambda event: calls.append(event.data.id))
    bad = (
        b'{"object":"event","id":"evt_1","type":"claim.paid","timestamp":"2027-01-15T08:00:00Z",'
        b'"data":{"id":1}}'
    )
    with httpx.Client(transport=httpx.WSGITransport(app=handler.wsgi_app), base_url="http://r") as http:
        answer = http.post("/", content=bad, headers=build_headers(secret, "evt_1", bad))
        assert answer.status_code == 400
        assert answer.json()["error"]["type"] == "webhook_verification_failed"
        assert "data.id" in answer.json()["error"]["message"]
        assert calls == []
        # the id was not taken: the same message, fixed, is processed
        good = bad.replace(
            b'"data":{"id":1}',
            b'"data":{"object":"claim","id":"clm_1","policy_id":"pol_1","status":"paid",'
            b'"amount":{"amount":100,"currency":"CNY"},"opened_at":"2027-01-11T00:00:00Z"}',
        )
        answer = http.post("/", content=good, headers=build_headers(secret, "evt_1", good))
        assert answer.status_code == 200, answer.text
        assert calls == ["clm_1"]


def test_a_body_that_is_not_json_after_the_envelope_is_refused_at_first_use() -> None:
    secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"object":"event","id":"evt_1","type":"claim.paid","timestamp":"2027-01-15T08:00:00Z","data":'
    event: Any = Webhook(secret).verify(body, build_headers(secret, "evt_1", body))
    assert (event.id, event.type) == ("evt_1", "claim.paid")
    with pytest.raises(WebhookVerificationError, match="not valid JSON"):
        _ = event.data
    with pytest.raises(WebhookVerificationError, match="not valid JSON"):
        event.model_dump()
