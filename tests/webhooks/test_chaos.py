"""Chaos: duplicated, reordered, concurrent deliveries to a function that fails half the time.

Whatever the order and however often an event arrives, once every delivery has been retried until
acknowledged, each event's function has succeeded exactly once.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from yangguang_sdk.webhooks import (
    Inbox,
    MemoryInbox,
    SQLiteInbox,
    Webhook,
    WebhookHandler,
    generate_hmac_secret,
)

from ._events import FROZEN_NOW, event_bytes

EVENT_TYPES = ("claim.opened", "claim.approved", "claim.paid", "recovery.received")


def stream(seed: int, events: int = 60) -> tuple[str, list[tuple[bytes, dict[str, str]]]]:
    """A secret and a shuffled stream of signed deliveries in which each event appears 1-4 times."""
    rng = random.Random(seed)
    secret = generate_hmac_secret()
    signer = Webhook(secret, now=lambda: FROZEN_NOW)
    deliveries = []
    for n in range(events):
        event_id = f"evt_chaos_{n}"
        body = event_bytes(event_id, rng.choice(EVENT_TYPES), version=rng.randint(1, 5))
        deliveries.extend([(body, signer.build_headers(event_id, body))] * rng.randint(1, 4))
    rng.shuffle(deliveries)
    return secret, deliveries


class FlakyLedger:
    """The function under test: fails on about half its attempts, records each success."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.successes: Counter[str] = Counter()
        self.attempts = 0

    def __call__(self, event: Any) -> None:
        with self.lock:
            self.attempts += 1
            fail = self.rng.random() < 0.5
        if fail:
            raise RuntimeError("simulated outage")
        with self.lock:
            self.successes[event.id] += 1


def make_handler(secret: str, inbox: Inbox, seed: int) -> tuple[WebhookHandler, FlakyLedger]:
    handler = WebhookHandler(Webhook(secret, now=lambda: FROZEN_NOW), inbox=inbox)
    ledger = FlakyLedger(seed)
    handler.on("*")(ledger)
    return handler, ledger


def deliver_until_acknowledged(
    handler: WebhookHandler, deliveries: list[tuple[bytes, dict[str, str]]]
) -> int:
    """The insurer: redeliver every non-2xx delivery (at the back of the queue); returns attempts."""
    queue = list(deliveries)
    attempts = 0
    while queue:
        body, headers = queue.pop(0)
        attempts += 1
        assert attempts < 100 * len(deliveries), "deliveries never converge"
        status, _ = handler.handle(body, headers)
        if status != 200:
            assert status in (409, 500)
            queue.append((body, headers))
    return attempts


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_each_event_succeeds_exactly_once_despite_duplicates_and_failures(
    kind: str, seed: int, tmp_path: Path
) -> None:
    secret, deliveries = stream(seed)
    inbox: Inbox = MemoryInbox() if kind == "memory" else SQLiteInbox(tmp_path / "inbox.db")
    handler, ledger = make_handler(secret, inbox, seed)
    deliver_until_acknowledged(handler, deliveries)
    event_ids = {f"evt_chaos_{n}" for n in range(60)}
    assert ledger.successes == Counter(dict.fromkeys(event_ids, 1))
    assert ledger.attempts > len(event_ids)  # failures really happened
    assert all(inbox.is_done(event_id) for event_id in event_ids)


def test_concurrent_threads_sharing_a_sqlite_inbox_process_each_event_once(tmp_path: Path) -> None:
    secret, deliveries = stream(7, events=40)
    ledger = FlakyLedger(7)
    errors: list[BaseException] = []

    def receiver(number: int) -> None:
        try:
            handler = WebhookHandler(
                Webhook(secret, now=lambda: FROZEN_NOW), inbox=SQLiteInbox(tmp_path / "inbox.db")
            )
            handler.on("*")(ledger)
            mine = list(deliveries)
            random.Random(number).shuffle(mine)
            deliver_until_acknowledged(handler, mine)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=receiver, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert ledger.successes == Counter({f"evt_chaos_{n}": 1 for n in range(40)})


async def test_concurrent_async_deliveries_process_each_event_once() -> None:
    secret, deliveries = stream(11, events=40)
    handler = WebhookHandler(Webhook(secret, now=lambda: FROZEN_NOW))
    rng = random.Random(11)
    successes: Counter[str] = Counter()

    @handler.on("*")
    async def flaky(event: Any) -> None:
        await asyncio.sleep(rng.random() / 1000)
        if rng.random() < 0.5:
            raise RuntimeError("simulated outage")
        successes[event.id] += 1

    async def deliver(body: bytes, headers: dict[str, str]) -> None:
        for _ in range(1000):
            status, _ = await handler.handle_async(body, headers)
            if status == 200:
                return
            await asyncio.sleep(0)
        raise AssertionError("never acknowledged")

    await asyncio.gather(*(deliver(body, headers) for body, headers in deliveries))
    assert successes == Counter({f"evt_chaos_{n}": 1 for n in range(40)})
