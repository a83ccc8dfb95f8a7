"""Chaos: a year of loan events for many policies delivered to a receiver that fails about half of
all attempts, and to one that is down for longer than the whole retry schedule.

The receiver is the SDK's own ``WebhookHandler`` (its ``wsgi_app`` behind ``httpx.WSGITransport``)
with an inbox, behind a fault-injecting transport. Whatever the faults, each event's function
succeeds exactly once, and none is lost: retried deliveries, duplicates after a lost answer and
redeliveries are all absorbed by the inbox; after an endpoint is disabled, reconciliation through
``client.events.list(created_gte=...)`` recovers every event it missed.

``YANGGUANG_SOAK=1`` (``make soak``) runs 2000 policies instead of 200.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from yangguang_sdk import Client
from yangguang_sdk.sandbox import Sandbox
from yangguang_sdk.webhooks import Inbox, MemoryInbox, SQLiteInbox, Webhook, WebhookHandler

from ._scenario import all_event_ids, live_a_year
from .conftest import START

POLICIES = 2000 if os.environ.get("YANGGUANG_SOAK") == "1" else 200
URL = "https://merchant.example/webhooks"


class Chaos(httpx.BaseTransport):
    """In front of the receiver, about half of all attempts fail: a 500 from a receiver that
    crashed, a timeout, a refused connection, or the answer lost after the receiver processed the
    delivery. No event is failed more than ``max_faults`` times (the schedule has ten attempts), so
    the endpoint survives; ``down`` refuses every connection."""

    def __init__(self, seed: int, max_faults: int = 6) -> None:
        self.rng = random.Random(seed)
        self.max_faults = max_faults
        self.inner: httpx.BaseTransport | None = None
        self.down = False
        self.faults: Counter[str] = Counter()
        self.attempts = 0
        self.failed = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert self.inner is not None
        self.attempts += 1
        if self.down:
            self.failed += 1
            raise httpx.ConnectError("Connection refused", request=request)
        event_id = request.headers["webhook-id"]
        if self.faults[event_id] < self.max_faults and self.rng.random() < 0.5:
            self.faults[event_id] += 1
            self.failed += 1
            kind = self.rng.randrange(4)
            if kind == 0:
                return httpx.Response(500, content=b"upstream crashed", request=request)
            if kind == 1:
                raise httpx.ReadTimeout("timed out", request=request)
            if kind == 2:
                raise httpx.ConnectError("Connection refused", request=request)
            self.inner.handle_request(request).read()
            raise httpx.ReadTimeout("the answer was lost", request=request)
        response = self.inner.handle_request(request)
        if not 200 <= response.status_code < 300:
            self.failed += 1
        return response


class Ledger:
    """The merchant's function for every event type: counts each success; fails the first run of
    about one event in ten (its database hiccuped), which the insurer's retry then repeats."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.processed: Counter[str] = Counter()
        self.failed_once: set[str] = set()

    def __call__(self, event: Any) -> None:
        if event.id not in self.failed_once and self.rng.random() < 0.1:
            self.failed_once.add(event.id)
            raise RuntimeError("database hiccup")
        self.processed[event.id] += 1


def receiver(
    sb: Sandbox, chaos: Chaos, secret: str, inbox: Inbox, seed: int
) -> tuple[WebhookHandler, Ledger]:
    handler = WebhookHandler(sb.webhook(secret), inbox=inbox)
    ledger = Ledger(seed)
    handler.on("*")(ledger)
    chaos.inner = httpx.WSGITransport(app=handler.wsgi_app)
    return handler, ledger


@pytest.mark.slow
def test_every_event_is_processed_exactly_once_through_a_year_of_flaky_deliveries() -> None:
    chaos = Chaos(seed=1)
    with Sandbox(now=START, webhook_transport=chaos) as sb:
        client = sb.client()
        endpoint = client.webhook_endpoints.create(url=URL)
        assert endpoint.secret is not None
        handler, ledger = receiver(sb, chaos, endpoint.secret, MemoryInbox(), seed=2)

        live_a_year(sb, client, POLICIES, seed=3)
        events = all_event_ids(client)
        types = Counter(e.type for e in client.events.list(limit=100))
        for sample in random.Random(4).sample(events, 20):
            client.events.redeliver(sample)

        assert client.webhook_endpoints.retrieve(endpoint.id).status == "enabled"
        assert {"installment.overdue", "installment.cured", "claim.paid", "recovery.received"} <= set(types)
        assert len(events) > POLICIES * 5
        assert ledger.processed == Counter(dict.fromkeys(events, 1))  # exactly once, none lost
        assert ledger.failed_once  # the function's own failures were retried too
        assert 0.4 < chaos.failed / chaos.attempts < 0.65, (chaos.failed, chaos.attempts)


@pytest.mark.slow
def test_a_receiver_down_longer_than_the_schedule_recovers_every_event_by_reconciliation(
    tmp_path: Path,
) -> None:
    chaos = Chaos(seed=5)
    with Sandbox(now=START, webhook_transport=chaos) as sb:
        client = sb.client()
        endpoint = client.webhook_endpoints.create(url=URL, signing="hmac-sha256")
        secret = endpoint.secret
        assert secret is not None and endpoint.created_at is not None
        handler, ledger = receiver(sb, chaos, secret, SQLiteInbox(tmp_path / "inbox.sqlite"), seed=6)

        outage_start: list[dt.datetime] = []

        def outage(month: int) -> None:
            if month == 4:  # down from the fourth due date to the end of the year
                chaos.down = True
                outage_start.append(sb.now)

        live_a_year(sb, client, max(POLICIES // 4, 20), seed=7, on_month=outage)

        disabled = client.webhook_endpoints.retrieve(endpoint.id)
        assert (disabled.status, disabled.disabled_reason) == ("disabled", "retries_exhausted")
        (notice,) = client.events.list(type="webhook_endpoint.disabled")
        assert notice.data.id == endpoint.id  # type: ignore[union-attr]
        attempts = list(client.webhook_endpoints.attempts(endpoint.id, limit=100))
        last = attempts[-1]
        assert (last.attempt, last.at, last.next_attempt_at) == (10, notice.timestamp, None)
        chain = [a for a in attempts if a.event_id == last.event_id]
        assert [a.attempt for a in chain] == list(range(1, 11)) and not any(a.succeeded for a in chain)
        assert last.at - chain[0].at == dt.timedelta(hours=75, minutes=35, seconds=5)
        assert outage_start and chain[-1].at > outage_start[0]
        assert "webhook_endpoint.disabled" not in {a.event_type for a in attempts}

        events = all_event_ids(client, since=endpoint.created_at)
        missed = [e for e in events if e not in ledger.processed]
        assert missed and len(ledger.processed) + len(missed) == len(events)

        chaos.down = False  # the receiver is back: reconcile twice, as a nightly job would
        for _ in range(2):
            statuses = reconcile(sb, client, handler, secret, endpoint.created_at)
            assert set(statuses) == {200}
        assert ledger.processed == Counter(dict.fromkeys(events, 1))


def reconcile(
    sb: Sandbox, client: Client, handler: WebhookHandler, secret: str, since: dt.datetime
) -> list[int]:
    """What a merchant's reconciliation job does after an outage: list every event since then and
    run each through the same handler and inbox (signed here with the endpoint's HMAC secret so the
    one code path verifies, de-duplicates and dispatches). Events already done are acknowledged
    without running again; a function failing is run again on the next pass."""
    signer = Webhook(secret)
    statuses = []
    for event in client.events.list(created_gte=since, limit=100):
        body = json.dumps(event.to_dict()).encode()
        for _ in range(3):  # the function may fail once: the job tries again
            status, _ = handler.handle(body, signer.build_headers(event.id, body))  # signed now
            if status == 200:
                break
        statuses.append(status)
    return statuses
