"""Receive the insurer's webhooks in a FastAPI app.

    YANGGUANG_WEBHOOK_SECRET=whpk_... uvicorn --factory examples.receiver_fastapi:create_app

The endpoint reads the raw body with ``await request.body()``: the signature covers those exact
bytes, so never declare the body as a pydantic model or re-serialise ``await request.json()``.
Set ``YANGGUANG_WEBHOOK_INBOX`` to a SQLite file so processed events survive restarts.
"""

from __future__ import annotations

import logging
import os

from fastapi import FastAPI, Request, Response

from yangguang_sdk.types.event import ClaimEvent, Event, PolicyEvent
from yangguang_sdk.webhooks import Inbox, MemoryInbox, SQLiteInbox, Webhook, WebhookHandler

log = logging.getLogger("receiver")


def create_handler(secret: str | list[str], inbox: Inbox) -> WebhookHandler:
    handler = WebhookHandler(Webhook(secret), inbox=inbox)

    @handler.on("claim.paid")
    async def claim_paid(event: Event) -> None:
        assert isinstance(event, ClaimEvent)
        # The insurer paid the lender for a defaulted loan (代偿): settle it in your ledger here.
        log.info("claim %s paid: %s", event.data.id, event.data.amount)

    @handler.on("policy.cancelled")
    def policy_cancelled(event: Event) -> None:  # sync functions run in a worker thread
        assert isinstance(event, PolicyEvent)
        log.info("policy %s cancelled, refund %s", event.data.id, event.data.refund)

    return handler


def create_app(secret: str | list[str] | None = None, inbox: Inbox | None = None) -> FastAPI:
    secret = secret or os.environ.get("YANGGUANG_WEBHOOK_SECRET")
    if not secret:
        raise SystemExit("set YANGGUANG_WEBHOOK_SECRET to the endpoint's secret (whpk_... or whsec_...)")
    if inbox is None:
        path = os.environ.get("YANGGUANG_WEBHOOK_INBOX")
        inbox = SQLiteInbox(path) if path else MemoryInbox()
    handler = create_handler(secret, inbox)
    app = FastAPI()

    @app.post("/webhooks/yangguang")
    async def receive(request: Request) -> Response:
        raw_body = await request.body()  # the exact bytes that were signed
        status, body = await handler.handle_async(raw_body, request.headers)
        return Response(content=body, status_code=status, media_type="application/json")

    # Without FastAPI at all: app.mount("/hooks", handler.asgi_app) serves the same thing.
    return app
