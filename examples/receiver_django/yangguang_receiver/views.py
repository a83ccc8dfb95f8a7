"""The webhook view: raw body in, the handler's status and JSON out.

``request.body`` is the raw bytes the insurer signed. Never verify ``request.POST``, a DRF
``request.data`` or ``json.dumps(json.loads(request.body))``: re-serialised JSON does not verify.
"""

from __future__ import annotations

import functools
import logging

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from yangguang_sdk.types.event import ClaimEvent, Event
from yangguang_sdk.webhooks import Inbox, MemoryInbox, SQLiteInbox, Webhook, WebhookHandler

log = logging.getLogger(__name__)


@functools.cache
def handler() -> WebhookHandler:
    if not settings.YANGGUANG_WEBHOOK_SECRETS:
        raise ImproperlyConfigured("set YANGGUANG_WEBHOOK_SECRET to the endpoint's secret")
    inbox: Inbox = (
        SQLiteInbox(settings.YANGGUANG_WEBHOOK_INBOX) if settings.YANGGUANG_WEBHOOK_INBOX else MemoryInbox()
    )
    handler = WebhookHandler(Webhook(settings.YANGGUANG_WEBHOOK_SECRETS), inbox=inbox)

    @handler.on("claim.paid")
    def claim_paid(event: Event) -> None:
        assert isinstance(event, ClaimEvent)
        # The insurer paid the lender for a defaulted loan (代偿): settle it in your ledger here.
        log.info("claim %s paid: %s", event.data.id, event.data.amount)

    return handler


@csrf_exempt  # the signature authenticates the insurer; there is no browser session to protect
@require_POST
def receive(request: HttpRequest) -> HttpResponse:
    status, body = handler().handle(request.body, request.headers)
    return HttpResponse(body, status=status, content_type="application/json")
