"""WebhookHandler: 2xx only after the function succeeded, each event's function once, clear answers."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from yangguang_sdk.errors import ParameterError
from yangguang_sdk.types.event import ClaimEvent, Event, GenericEvent
from yangguang_sdk.webhooks import (
    MemoryInbox,
    SQLiteInbox,
    Webhook,
    WebhookHandler,
    generate_ed25519_keypair,
    generate_hmac_secret,
)

from ._events import FROZEN_NOW, event_bytes

SECRET = generate_hmac_secret()
SIGNER = Webhook(SECRET, now=lambda: FROZEN_NOW)


def delivery(event_id: str = "evt_h_1", event_type: str = "claim.paid") -> tuple[bytes, dict[str, str]]:
    body = event_bytes(event_id, event_type)
    return body, SIGNER.build_headers(event_id, body)


def answer(result: tuple[int, bytes]) -> tuple[int, dict[str, Any]]:
    status, body = result
    return status, json.loads(body)


@pytest.fixture
def handler() -> WebhookHandler:
    return WebhookHandler(Webhook(SECRET, now=lambda: FROZEN_NOW))


def test_registered_function_receives_the_typed_event_and_200_follows(handler: WebhookHandler) -> None:
    seen: list[Event] = []
    handler.on("claim.paid")(seen.append)
    status, body = answer(handler.handle(*delivery()))
    assert status == 200 and body == {"status": "processed", "event_id": "evt_h_1", "type": "claim.paid"}
    assert len(seen) == 1 and isinstance(seen[0], ClaimEvent)
    assert handler.inbox.is_done("evt_h_1")


def test_event_already_done_answers_200_without_running_again(handler: WebhookHandler) -> None:
    calls: list[str] = []
    handler.on("claim.paid")(lambda event: calls.append(event.id))
    handler.handle(*delivery())
    status, body = answer(handler.handle(*delivery()))
    assert status == 200 and body["status"] == "duplicate"
    assert calls == ["evt_h_1"]


def test_failing_function_answers_500_and_the_event_stays_undone(
    handler: WebhookHandler, caplog: pytest.LogCaptureFixture
) -> None:
    attempts: list[int] = []

    @handler.on("claim.paid")
    def flaky(event: Event) -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("database is down")

    with caplog.at_level(logging.ERROR, logger="yangguang_sdk.webhooks"):
        status, body = answer(handler.handle(*delivery()))
    assert status == 500 and body["error"]["type"] == "handler_failed"
    assert "database is down" not in body["error"]["message"]  # internals stay in the log
    assert not handler.inbox.is_done("evt_h_1")
    assert any(record.exc_info for record in caplog.records)
    status, _ = answer(handler.handle(*delivery()))  # the insurer's retry
    assert status == 200 and len(attempts) == 2 and handler.inbox.is_done("evt_h_1")


def test_verification_failure_answers_400_and_logs_neither_body_nor_secret(
    handler: WebhookHandler, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[Event] = []
    handler.on("claim.paid")(calls.append)
    body, headers = delivery()
    tampered = body.replace(b"1039920", b"9999999")
    with caplog.at_level(logging.DEBUG, logger="yangguang_sdk.webhooks"):
        status, answer_body = answer(handler.handle(tampered, headers))
    assert status == 400 and answer_body["error"]["type"] == "webhook_verification_failed"
    assert "re-serialised" in answer_body["error"]["message"]
    assert not calls
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert caplog.records and caplog.records[0].name == "yangguang_sdk.webhooks"
    assert "9999999" not in logged and "clm_" not in logged and SECRET[6:] not in logged


def test_event_type_without_a_function_is_acknowledged_and_marked_done(handler: WebhookHandler) -> None:
    status, body = answer(handler.handle(*delivery(event_type="claim.opened")))
    assert status == 200 and body["status"] == "ignored" and "no function" in body["detail"]
    assert handler.inbox.is_done("evt_h_1")


def test_catch_all_gets_types_without_their_own_function(handler: WebhookHandler) -> None:
    specific: list[str] = []
    other: list[str] = []
    handler.on("claim.paid")(lambda event: specific.append(event.type))
    handler.on("*")(lambda event: other.append(event.type))
    handler.handle(*delivery("evt_1", "claim.paid"))
    handler.handle(*delivery("evt_2", "claim.opened"))
    body = b'{"type": "claim.reopened", "timestamp": "2027-01-15T08:00:00Z", "data": {}}'
    handler.handle(body, SIGNER.build_headers("evt_3", body))
    assert specific == ["claim.paid"] and other == ["claim.opened", "claim.reopened"]


def test_one_function_may_take_several_types(handler: WebhookHandler) -> None:
    seen: list[str] = []
    handler.on("claim.opened", "claim.approved")(lambda event: seen.append(event.type))
    handler.handle(*delivery("evt_1", "claim.opened"))
    handler.handle(*delivery("evt_2", "claim.approved"))
    assert seen == ["claim.opened", "claim.approved"]


def test_unknown_event_type_is_refused_with_a_suggestion(handler: WebhookHandler) -> None:
    with pytest.raises(ParameterError, match="did you mean 'claim.paid'"):
        handler.on("claim.payed")
    handler.on("claim.reopened", strict=False)(lambda event: None)
    with pytest.raises(ParameterError):
        handler.on()
    with pytest.raises(ParameterError):
        handler.on("")


def test_second_function_for_a_type_is_refused(handler: WebhookHandler) -> None:
    handler.on("claim.paid")(lambda event: None)
    with pytest.raises(ParameterError, match="already registered"):
        handler.on("claim.paid")(lambda event: None)


def test_event_held_by_another_worker_answers_409(handler: WebhookHandler) -> None:
    calls: list[Event] = []
    handler.on("claim.paid")(calls.append)
    assert handler.inbox.claim("evt_h_1")  # another worker is on it
    status, body = answer(handler.handle(*delivery()))
    assert status == 409 and body["error"]["type"] == "event_in_progress" and not calls


def test_unavailable_inbox_answers_503() -> None:
    class BrokenInbox(MemoryInbox):
        def claim(self, event_id: str) -> str | None:
            raise OSError("disk full")

    handler = WebhookHandler(Webhook(SECRET, now=lambda: FROZEN_NOW), inbox=BrokenInbox())
    handler.on("claim.paid")(lambda event: None)
    assert handler.handle(*delivery())[0] == 503


def test_inbox_that_cannot_record_success_answers_503() -> None:
    class ForgetfulInbox(MemoryInbox):
        def complete(self, event_id: str, token: str) -> bool:
            raise OSError("read-only")

    handler = WebhookHandler(Webhook(SECRET, now=lambda: FROZEN_NOW), inbox=ForgetfulInbox())
    handler.on("claim.paid")(lambda event: None)
    assert handler.handle(*delivery())[0] == 503


def test_base_exception_releases_the_event_and_propagates(handler: WebhookHandler) -> None:
    @handler.on("claim.paid")
    def interrupted(event: Event) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        handler.handle(*delivery())
    assert handler.inbox.claim("evt_h_1")


def test_handler_needs_a_webhook() -> None:
    with pytest.raises(ParameterError):
        WebhookHandler(SECRET)  # type: ignore[arg-type]


def test_repr_shows_types_and_not_the_secret(handler: WebhookHandler) -> None:
    handler.on("claim.paid")(lambda event: None)
    assert "claim.paid" in repr(handler) and SECRET[6:] not in repr(handler)


def test_ed25519_endpoint_is_handled_the_same_way() -> None:
    signing_key, public_key = generate_ed25519_keypair()
    handler = WebhookHandler(Webhook(public_key, now=lambda: FROZEN_NOW))
    seen: list[str] = []
    handler.on("claim.paid")(lambda event: seen.append(event.id))
    body = event_bytes("evt_ed")
    headers = Webhook(signing_key).build_headers("evt_ed", body, timestamp=FROZEN_NOW)
    assert handler.handle(body, headers)[0] == 200 and seen == ["evt_ed"]


# -- async ----------------------------------------------------------------------------------------


async def test_handle_async_awaits_async_functions(handler: WebhookHandler) -> None:
    seen: list[str] = []

    @handler.on("claim.paid")
    async def paid(event: Event) -> None:
        await asyncio.sleep(0)
        seen.append(event.id)

    assert (await handler.handle_async(*delivery()))[0] == 200 and seen == ["evt_h_1"]
    assert (await handler.handle_async(*delivery()))[0] == 200 and seen == ["evt_h_1"]


async def test_handle_async_runs_sync_functions_and_a_database_inbox_off_the_loop(tmp_path: Path) -> None:
    handler = WebhookHandler(
        Webhook(SECRET, now=lambda: FROZEN_NOW), inbox=SQLiteInbox(tmp_path / "inbox.db")
    )
    loop_thread: list[bool] = []

    @handler.on("claim.paid")
    def paid(event: Event) -> None:
        try:
            asyncio.get_running_loop()
            loop_thread.append(True)
        except RuntimeError:
            loop_thread.append(False)

    assert (await handler.handle_async(*delivery()))[0] == 200
    assert loop_thread == [False]


async def test_handle_async_failure_answers_500(tmp_path: Path) -> None:
    handler = WebhookHandler(
        Webhook(SECRET, now=lambda: FROZEN_NOW), inbox=SQLiteInbox(tmp_path / "inbox.db")
    )

    @handler.on("claim.paid")
    async def paid(event: Event) -> None:
        raise ValueError("nope")

    assert (await handler.handle_async(*delivery()))[0] == 500
    assert handler.inbox.claim("evt_h_1")  # released


def test_sync_handle_runs_an_async_function_outside_a_loop(handler: WebhookHandler) -> None:
    seen: list[str] = []

    @handler.on("claim.paid")
    async def paid(event: Event) -> None:
        seen.append(event.id)

    assert handler.handle(*delivery())[0] == 200 and seen == ["evt_h_1"]


async def test_sync_handle_inside_a_loop_refuses_an_async_function_cleanly(handler: WebhookHandler) -> None:
    @handler.on("claim.paid")
    async def paid(event: Event) -> None:
        raise AssertionError("must not run")

    assert handler.handle(*delivery())[0] == 500
    assert not handler.inbox.is_done("evt_h_1")


# -- ASGI and WSGI apps ---------------------------------------------------------------------------


def recorded_handler() -> tuple[WebhookHandler, list[Event]]:
    handler = WebhookHandler(Webhook(SECRET, now=lambda: FROZEN_NOW, max_body_bytes=4096))
    seen: list[Event] = []
    handler.on("claim.paid")(seen.append)
    return handler, seen


async def test_asgi_app_processes_a_delivery() -> None:
    handler, seen = recorded_handler()
    body, headers = delivery()
    transport = httpx.ASGITransport(app=handler.asgi_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://receiver") as client:
        response = await client.post("/webhooks", content=body, headers=headers)
        assert response.status_code == 200 and response.json()["status"] == "processed"
        assert len(seen) == 1
        response = await client.get("/webhooks")
        assert response.status_code == 405 and response.headers["allow"] == "POST"
        response = await client.post("/webhooks", content=b"x" * 5000, headers=headers)
        assert response.status_code == 413
        response = await client.post("/webhooks", content=body + b" ", headers=headers)
        assert response.status_code == 400


async def test_asgi_app_reads_a_streamed_body_and_caps_it() -> None:
    handler, seen = recorded_handler()
    body, headers = delivery()

    async def run(chunks: list[bytes]) -> list[dict[str, Any]]:
        sent: list[dict[str, Any]] = []
        queue = [
            {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
            for i, c in enumerate(chunks)
        ]

        async def receive() -> dict[str, Any]:
            return queue.pop(0)

        async def send(message: Any) -> None:
            sent.append(dict(message))

        scope = {
            "type": "http",
            "method": "POST",
            "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
        }
        await handler.asgi_app(scope, receive, send)
        return sent

    sent = await run([body[:10], body[10:100], body[100:]])
    assert sent[0]["status"] == 200 and len(seen) == 1
    sent = await run([b"x" * 3000, b"x" * 3000])
    assert sent[0]["status"] == 413


async def test_asgi_app_answers_lifespan_messages() -> None:
    handler, _ = recorded_handler()
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[str] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: Any) -> None:
        sent.append(message["type"])

    await handler.asgi_app({"type": "lifespan"}, receive, send)
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def test_wsgi_app_processes_a_delivery() -> None:
    handler, seen = recorded_handler()
    body, headers = delivery()
    with httpx.Client(
        transport=httpx.WSGITransport(app=handler.wsgi_app), base_url="http://receiver"
    ) as client:
        response = client.post("/webhooks", content=body, headers=headers)
        assert response.status_code == 200 and response.json()["status"] == "processed"
        assert client.post("/webhooks", content=body, headers=headers).json()["status"] == "duplicate"
        assert client.get("/webhooks").status_code == 405
        assert client.post("/webhooks", content=b"x" * 5000, headers=headers).status_code == 413
        assert client.post("/webhooks", content=b"{}", headers=headers).status_code == 400
    assert len(seen) == 1


def test_wsgi_app_works_under_werkzeug() -> None:
    from werkzeug.test import Client

    handler, seen = recorded_handler()
    body, headers = delivery()
    response = Client(handler.wsgi_app).post("/hooks", data=body, headers=headers)
    assert response.status_code == 200 and len(seen) == 1


def test_generic_event_reaches_the_catch_all(handler: WebhookHandler) -> None:
    seen: list[Any] = []
    handler.on("*")(seen.append)
    body = b'{"type": "policy.renewed", "timestamp": "2027-01-15T08:00:00Z", "data": {"id": "pol_1"}}'
    handler.handle(body, SIGNER.build_headers("evt_g", body))
    assert isinstance(seen[0], GenericEvent) and seen[0].id == "evt_g"


def noop(event: Event) -> None:
    return None


def test_on_returns_the_function_unchanged(handler: WebhookHandler) -> None:
    decorated: Callable[[Event], None] = handler.on("claim.paid")(noop)
    assert decorated is noop
    assert handler.function_for("claim.paid") is noop and handler.function_for("claim.opened") is None


# -- claims, leases and the message id (issue #16) -------------------------------------------------


def test_the_handler_keys_on_webhook_id_not_the_bodys_id(handler: WebhookHandler) -> None:
    seen: list[str] = []
    handler.on("claim.paid")(lambda event: seen.append(event.id))
    body = event_bytes("evt_body_id")
    first = SIGNER.build_headers("msg_1", body)
    second = SIGNER.build_headers("msg_2", body)  # same body, another message: processed again
    assert answer(handler.handle(body, first)) == (
        200,
        {"status": "processed", "event_id": "msg_1", "type": "claim.paid"},
    )
    assert answer(handler.handle(body, first))[1]["status"] == "duplicate"
    assert answer(handler.handle(body, second))[1]["status"] == "processed"
    assert seen == ["evt_body_id", "evt_body_id"]
    assert handler.inbox.is_done("msg_1") and not handler.inbox.is_done("evt_body_id")


class SteppingClock:
    """A MemoryInbox clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_function_whose_lease_was_taken_over_logs_it_and_cannot_complete_the_new_claim(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = SteppingClock()
    inbox = MemoryInbox(3, clock=clock)
    handler = WebhookHandler(Webhook(SECRET, now=lambda: FROZEN_NOW), inbox=inbox)
    taken: list[str | None] = []

    @handler.on("claim.paid")
    def slow(event: Event) -> None:
        clock.now += 10  # the lease (3 s) expired while this ran, and no renewal came in time...
        taken.append(inbox.claim("evt_h_1"))  # ...so another worker claimed the event

    with caplog.at_level(logging.WARNING, logger="yangguang_sdk.webhooks"):
        status, _ = handler.handle(*delivery())
    assert status == 200
    assert taken[0] is not None
    assert not inbox.is_done("evt_h_1")  # the other worker's claim stands
    assert inbox.complete("evt_h_1", taken[0])
    assert "lease on event evt_h_1 (claim.paid) was lost" in caplog.text
    assert SECRET.removeprefix("whsec_") not in caplog.text


def test_a_failing_function_whose_lease_was_taken_over_does_not_release_the_new_claim(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = SteppingClock()
    inbox = MemoryInbox(3, clock=clock)
    handler = WebhookHandler(Webhook(SECRET, now=lambda: FROZEN_NOW), inbox=inbox)
    taken: list[str | None] = []

    @handler.on("claim.paid")
    def slow(event: Event) -> None:
        clock.now += 10
        taken.append(inbox.claim("evt_h_1"))
        raise RuntimeError("failed")

    with caplog.at_level(logging.WARNING, logger="yangguang_sdk.webhooks"):
        assert handler.handle(*delivery())[0] == 500
    assert taken[0] is not None
    assert inbox.claim("evt_h_1") is None  # still held by the other worker
    assert "was lost before it could be released" in caplog.text


def test_the_lease_is_renewed_while_a_slow_function_runs(tmp_path: Path) -> None:
    inbox = SQLiteInbox(tmp_path / "inbox.db", lease_seconds=3)
    handler = WebhookHandler(Webhook(SECRET, now=lambda: FROZEN_NOW), inbox=inbox)
    others: list[str | None] = []

    @handler.on("claim.paid")
    def slow(event: Event) -> None:
        time.sleep(4.5)  # longer than the lease: only renewals keep the claim
        others.append(SQLiteInbox(tmp_path / "inbox.db").claim("evt_h_1"))
        time.sleep(2)

    assert handler.handle(*delivery())[0] == 200
    assert others == [None] and inbox.is_done("evt_h_1")
    deadline = time.monotonic() + 3
    while any(t.name == "yangguang-lease-renewer" for t in threading.enumerate()):
        assert time.monotonic() < deadline, "the renewer thread did not stop"
        time.sleep(0.01)


async def test_handle_async_renews_the_lease_too(tmp_path: Path) -> None:
    inbox = SQLiteInbox(tmp_path / "inbox.db", lease_seconds=3)
    handler = WebhookHandler(Webhook(SECRET, now=lambda: FROZEN_NOW), inbox=inbox)
    others: list[str | None] = []

    @handler.on("claim.paid")
    async def slow(event: Event) -> None:
        await asyncio.sleep(4.5)
        others.append(SQLiteInbox(tmp_path / "inbox.db").claim("evt_h_1"))

    assert (await handler.handle_async(*delivery()))[0] == 200
    assert others == [None] and inbox.is_done("evt_h_1")


def test_uvicorn_takes_the_asgi_app_for_asgi_3() -> None:
    """``app = handler.asgi_app`` served with ``uvicorn receiver:app`` (interface guessed): a bound
    coroutine method was taken for an ASGI 2 factory, so every delivery failed with a 500."""
    import uvicorn

    handler = WebhookHandler(Webhook(SECRET))
    config = uvicorn.Config(app=handler.asgi_app)
    config.load()
    assert config.interface == "asgi3"
