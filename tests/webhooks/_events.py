"""Signed-event material shared by the webhook tests."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from yangguang_sdk.webhooks import Webhook

WORKER = Path(__file__).with_name("_worker.py")
REPO_ROOT = Path(__file__).resolve().parents[2]

FROZEN_NOW = 1_800_000_000
"""The Unix time every test Webhook believes it is (2027-01-15)."""


def claim_event(
    event_id: str = "evt_test_1", event_type: str = "claim.paid", version: int = 3
) -> dict[str, Any]:
    """The JSON of a claim event as the insurer sends it."""
    return {
        "id": event_id,
        "object": "event",
        "type": event_type,
        "timestamp": "2027-01-15T08:00:00Z",
        "data": {
            "object": "claim",
            "id": "clm_" + event_id.removeprefix("evt_"),
            "policy_id": "pol_test",
            "status": "paid",
            "amount": {"amount": 1039920, "currency": "CNY"},
            "opened_at": "2027-01-11T00:00:00Z",
            "paid_at": "2027-01-15T00:00:00Z",
            "version": version,
        },
    }


def event_bytes(event_id: str = "evt_test_1", event_type: str = "claim.paid", version: int = 3) -> bytes:
    return json.dumps(claim_event(event_id, event_type, version), ensure_ascii=False).encode()


def run_worker_processes(
    inbox_spec: str,
    workdir: Path,
    *,
    events: int = 30,
    workers: int = 4,
    lease: float = 30,
    function_seconds: float = 0,
    fail_rate: float = 0.33,
) -> Counter[str]:
    """Start ``workers`` receiver processes on one inbox, each delivering the same ``events`` (plus
    duplicates) with a function that fails ``fail_rate`` of the time (and takes ``function_seconds``,
    if given); returns successful runs per event."""
    secret = "whsec_" + base64.b64encode(b"multi-process-test-key!!").decode()
    webhook = Webhook(secret, now=lambda: FROZEN_NOW)
    deliveries = []
    for number in range(events):
        event_id = f"evt_mp_{number}"
        body = event_bytes(event_id)
        headers = webhook.build_headers(event_id, body)
        deliveries.extend([{"body": body.decode(), "headers": headers}] * (1 + number % 2))
    spec_path = workdir / "deliveries.json"
    spec_path.write_text(json.dumps({"secret": secret, "deliveries": deliveries}))
    runs = workdir / "runs"
    runs.mkdir()
    start_at = time.time() + 1.5  # every process imports first, then all start together
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                str(WORKER),
                inbox_spec,
                str(spec_path),
                str(runs),
                str(n),
                str(start_at),
                str(lease),
                str(function_seconds),
                str(fail_rate),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(workers)
    ]
    failures = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        if process.returncode != 0:
            failures.append(f"exit {process.returncode}: {out}{err}")
    assert not failures, "\n".join(failures)
    counts: Counter[str] = Counter(path.name.split(".")[0] for path in runs.iterdir())
    assert set(counts) == {f"evt_mp_{n}" for n in range(events)}, "some events never ran"
    return counts
