"""In-process receivers: a WSGI or ASGI app behind ``webhook_transport=``, and the bound on a
receiver that blocks (it called back into the busy sandbox)."""

from __future__ import annotations

import threading
from typing import Any

import httpx

from yangguang_sdk import Client
from yangguang_sdk.sandbox import Sandbox
from yangguang_sdk.sandbox.transport import SyncASGITransport
from yangguang_sdk.webhooks import MemoryInbox, WebhookHandler

from .conftest import START, bind

URL = "https://merchant.example/webhooks"


class LateHandler:
    """The merchant's app, whose secret is known only once the endpoint exists."""

    handler: WebhookHandler | None = None

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        assert self.handler is not None
        return self.handler.wsgi_app(environ, start_response)

    async def asgi(self, scope: Any, receive: Any, send: Any) -> None:
        assert self.handler is not None
        await self.handler.asgi_app(scope, receive, send)


def test_a_wsgi_webhook_handler_receives_in_process() -> None:
    app = LateHandler()
    with Sandbox(now=START, webhook_transport=httpx.WSGITransport(app=app.wsgi)) as sb:
        client = sb.client()
        endpoint = client.webhook_endpoints.create(url=URL)
        assert endpoint.secret is not None
        app.handler = WebhookHandler(sb.webhook(endpoint.secret), inbox=MemoryInbox())
        bound: list[str] = []
        app.handler.on("policy.bound")(lambda event: bound.append(event.data.id))

        policy = bind(client)

        assert bound == [policy.id]
        (attempt,) = client.webhook_endpoints.attempts(endpoint.id)
        assert attempt.succeeded and attempt.status_code == 200 and '"processed"' in (attempt.response or "")


def test_an_asgi_webhook_handler_receives_through_the_sync_asgi_transport() -> None:
    app = LateHandler()
    transport = SyncASGITransport(app.asgi)
    with Sandbox(now=START, webhook_transport=transport) as sb:
        client = sb.client()
        endpoint = client.webhook_endpoints.create(url=URL, signing="hmac-sha256")
        assert endpoint.secret is not None
        app.handler = WebhookHandler(sb.webhook(endpoint.secret))
        seen: list[str] = []
        app.handler.on("policy.bound", "policy.cancelled")(lambda event: seen.append(event.type))
        policy = bind(client)
        client.policies.cancel(policy.id, reason="order_refunded")
        assert seen == ["policy.bound", "policy.cancelled"]
    transport.close()


def test_a_failing_handler_function_makes_the_sandbox_retry_until_it_succeeds() -> None:
    app = LateHandler()
    with Sandbox(now=START, webhook_transport=httpx.WSGITransport(app=app.wsgi)) as sb:
        client = sb.client()
        endpoint = client.webhook_endpoints.create(url=URL)
        assert endpoint.secret is not None
        app.handler = WebhookHandler(sb.webhook(endpoint.secret))
        calls: list[int] = []

        @app.handler.on("policy.bound")
        def bound(event: object) -> None:
            calls.append(1)
            if len(calls) < 3:
                raise RuntimeError("database down")

        bind(client)
        client.test_clock.advance(hours=1)
        assert [a.status_code for a in client.webhook_endpoints.attempts(endpoint.id)] == [500, 500, 200]
        assert len(calls) == 3


def test_a_receiver_calling_back_into_the_sandbox_is_answered_during_the_delivery() -> None:
    """Deliveries run outside the engine's lock: a receiver's own API call goes through at once."""
    answers: list[str] = []
    holder: dict[str, Client] = {}

    def caller(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        answers.append(str(holder["client"].test_clock.retrieve().now))
        start_response("200 OK", [])
        return [b"ok"]

    with Sandbox(now=START, webhook_transport=httpx.WSGITransport(app=caller), webhook_timeout=5) as sb:
        client = holder["client"] = sb.client()
        endpoint = client.webhook_endpoints.create(url=URL)
        bind(client)
        (attempt,) = client.webhook_endpoints.attempts(endpoint.id)
        assert attempt.succeeded and answers == [str(START)]


def test_a_receiver_slower_than_the_deadline_is_a_failed_attempt() -> None:
    release = threading.Event()

    def stuck(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        release.wait(30)
        start_response("200 OK", [])
        return [b"ok"]

    with Sandbox(now=START, webhook_transport=httpx.WSGITransport(app=stuck), webhook_timeout=0.2) as sb:
        client = sb.client()
        endpoint = client.webhook_endpoints.create(url=URL)
        bind(client)
        (attempt,) = client.webhook_endpoints.attempts(endpoint.id)
        assert not attempt.succeeded and (attempt.error or "").startswith("timeout")
        release.set()


def test_a_receiver_may_read_the_sandbox_clock_during_a_delivery() -> None:
    seen: list[str] = []
    holder: dict[str, Sandbox] = {}

    def clock_reader(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(holder["sb"].now.isoformat())
        start_response("204 No Content", [])
        return []

    with Sandbox(now=START, webhook_transport=httpx.WSGITransport(app=clock_reader), webhook_timeout=5) as sb:
        holder["sb"] = sb
        client = sb.client()
        endpoint = client.webhook_endpoints.create(url=URL)
        bind(client)
        assert seen == [START.isoformat()]
        (attempt,) = client.webhook_endpoints.attempts(endpoint.id)
        assert attempt.succeeded and attempt.status_code == 204
