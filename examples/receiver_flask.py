"""Receive the insurer's webhooks in a Flask app.

    YANGGUANG_WEBHOOK_SECRET=whpk_... flask --app examples/receiver_flask:create_app run

The view reads the raw body with ``request.get_data()``: the signature covers those exact bytes, so
never verify ``json.dumps(request.get_json())``. Set ``YANGGUANG_WEBHOOK_INBOX`` to a SQLite file
so processed events survive restarts and are shared by the server's worker processes.
"""

from __future__ import annotations

import logging
import os

from flask import Flask, Response, request

from yangguang_sdk.types.event import ClaimEvent, Event
from yangguang_sdk.webhooks import Inbox, MemoryInbox, SQLiteInbox, Webhook, WebhookHandler

log = logging.getLogger("receiver")


def create_handler(secret: str | list[str], inbox: Inbox) -> WebhookHandler:
    handler = WebhookHandler(Webhook(secret), inbox=inbox)

    @handler.on("claim.paid")
    def claim_paid(event: Event) -> None:
        assert isinstance(event, ClaimEvent)
        # The insurer paid the lender for a defaulted loan (代偿): settle it in your ledger here.
        log.info("claim %s paid: %s", event.data.id, event.data.amount)

    @handler.on("*")
    def everything_else(event: Event) -> None:
        log.info("event %s (%s)", event.id, event.type)

    return handler


def create_app(secret: str | list[str] | None = None, inbox: Inbox | None = None) -> Flask:
    secret = secret or os.environ.get("YANGGUANG_WEBHOOK_SECRET")
    if not secret:
        raise SystemExit("set YANGGUANG_WEBHOOK_SECRET to the endpoint's secret (whpk_... or whsec_...)")
    if inbox is None:
        path = os.environ.get("YANGGUANG_WEBHOOK_INBOX")
        inbox = SQLiteInbox(path) if path else MemoryInbox()
    handler = create_handler(secret, inbox)
    app = Flask(__name__)

    @app.post("/webhooks/yangguang")
    def receive() -> Response:
        raw_body = request.get_data()  # the exact bytes that were signed
        status, body = handler.handle(raw_body, request.headers)
        return Response(body, status=status, mimetype="application/json")

    # Without a framework at all, handler.wsgi_app is a WSGI app of its own.
    return app
