"""A receiver process for the multi-process exactly-once tests (run as a script, not collected).

    python _worker.py INBOX DELIVERIES RUNS_DIR WORKER_NUMBER START_AT [LEASE FUNCTION_SECONDS FAIL_RATE]

INBOX is ``sqlite:<path>`` or ``postgres:<table>:<dsn>``; DELIVERIES a JSON file of {"body", "headers"};
each successful run of the event function creates one file in RUNS_DIR named after the event. The
function fails on about a third of its attempts; failed or in-progress deliveries are delivered
again until every event is acknowledged.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from yangguang_sdk.webhooks import MemoryInbox, SQLiteInbox, Webhook, WebhookHandler
from yangguang_sdk.webhooks._inbox import Inbox

FROZEN_NOW = 1_800_000_000


def make_inbox(spec: str, lease: float) -> Inbox:
    kind, _, target = spec.partition(":")
    if kind == "sqlite":
        return SQLiteInbox(target, lease_seconds=lease)
    if kind == "postgres":
        from yangguang_sdk.webhooks import PostgresInbox

        table, _, dsn = target.partition(":")
        return PostgresInbox(dsn, lease_seconds=lease, table=table)
    return MemoryInbox(lease)


def main(
    inbox_spec: str,
    deliveries_path: str,
    runs_dir: str,
    number: str,
    start_at: str,
    lease: str = "30",
    function_seconds: str = "0",
    fail_rate: str = "0.33",
) -> int:
    spec = json.loads(Path(deliveries_path).read_text())
    deliveries: list[dict[str, Any]] = spec["deliveries"]
    rng = random.Random(int(number))
    inbox = make_inbox(inbox_spec, float(lease))
    slow, failing = float(function_seconds), float(fail_rate)
    handler = WebhookHandler(Webhook(spec["secret"], now=lambda: FROZEN_NOW), inbox=inbox)
    runs = Path(runs_dir)

    @handler.on("*")
    def record(event: Any) -> None:
        time.sleep(slow or rng.uniform(0, 0.004))  # widen the window in which workers overlap
        if rng.random() < failing:
            raise RuntimeError("simulated failure")
        (runs / f"{event.id}.{os.getpid()}.{uuid.uuid4().hex}").touch()

    pending = deliveries[:]
    rng.shuffle(pending)
    time.sleep(max(0.0, float(start_at) - time.time()))
    deadline = time.monotonic() + 60
    while pending:
        if time.monotonic() > deadline:
            print(f"worker {number}: {len(pending)} deliveries never acknowledged", file=sys.stderr)
            return 1
        retry = []
        for delivery in pending:
            status, body = handler.handle(delivery["body"].encode(), delivery["headers"])
            if status != 200:
                if status not in (409, 500):
                    print(f"worker {number}: unexpected {status} {body!r}", file=sys.stderr)
                    return 1
                retry.append(delivery)
        pending = retry
        if pending:
            time.sleep(0.05 if slow else 0.005)
    close = getattr(inbox, "close", None)
    if callable(close):
        close()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
