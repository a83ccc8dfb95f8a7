"""Fuzzing verification: random and mutated headers and bodies never raise anything but
WebhookVerificationError, and a mutated body never verifies.

5,000 examples by default; ``YANGGUANG_SOAK=1`` runs 50,000.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yangguang_sdk.webhooks import Webhook, WebhookVerificationError, generate_ed25519_keypair

from ._events import FROZEN_NOW, event_bytes

EXAMPLES = 50_000 if os.environ.get("YANGGUANG_SOAK") else 5_000

HMAC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SIGNING_KEY, PUBLIC_KEY = generate_ed25519_keypair()
SIGNER = Webhook([HMAC_SECRET, SIGNING_KEY], now=lambda: FROZEN_NOW)
VERIFIER = Webhook([HMAC_SECRET, PUBLIC_KEY], now=lambda: FROZEN_NOW, max_body_bytes=4096)
BODY = event_bytes()
NAMES = (
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "svix-id",
    "svix-timestamp",
    "svix-signature",
)

junk_text = st.text(max_size=40)
junk_value = st.one_of(junk_text, st.none(), st.integers(), st.binary(max_size=20), st.floats())
b64ish = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=,. v1a", max_size=100
)


class Odd:
    """A header container that is neither a mapping nor pairs."""

    def get(self, name: str) -> Any:
        raise RuntimeError("boom")


def mutate_headers(data: st.DataObject, headers: dict[str, Any]) -> Any:
    for _ in range(data.draw(st.integers(0, 3))):
        op = data.draw(
            st.sampled_from(["drop", "junk", "b64", "case", "timestamp", "append", "long-id", "extra"])
        )
        name = data.draw(st.sampled_from(NAMES))
        if op == "drop":
            headers.pop(name, None)
        elif op == "junk":
            headers[name] = data.draw(junk_value)
        elif op == "b64":
            headers["webhook-signature"] = data.draw(b64ish)
        elif op == "case":
            value = headers.pop(name, None)
            if value is not None:
                headers[data.draw(st.sampled_from([name.upper(), name.title(), name]))] = value
        elif op == "timestamp":
            headers["webhook-timestamp"] = str(data.draw(st.integers(-(10**20), 10**20)))
        elif op == "long-id":
            headers["webhook-id"] = "x" * 257
        elif op == "append":
            headers["webhook-signature"] = f"{headers.get('webhook-signature', '')} {data.draw(b64ish)}"
        else:
            headers[data.draw(junk_text)] = data.draw(junk_text)
    shape = data.draw(st.sampled_from(["dict", "pairs", "bytes-pairs", "odd", "none", "str"]))
    if shape == "pairs":
        return list(headers.items())
    if shape == "bytes-pairs":
        return [(k.encode() if isinstance(k, str) else k, v) for k, v in headers.items()]
    if shape == "odd":
        return Odd()
    if shape == "none":
        return None
    if shape == "str":
        return "webhook-id: evt_1"
    return headers


@pytest.mark.slow
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_only_verification_errors_escape(data: st.DataObject) -> None:
    body: Any = BODY
    msg_id = data.draw(st.sampled_from(["evt_test_1", "msg_1", "é", "x" * 256]))
    timestamp = FROZEN_NOW + data.draw(st.sampled_from([0, 1, -299, 301, -301, 10**9]))
    headers: dict[str, Any] = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": SIGNER.sign(msg_id, timestamp, body),
    }
    body_changed = False
    body_op = data.draw(st.sampled_from(["keep", "keep", "flip", "binary", "text", "object", "big"]))
    if body_op == "flip" and body:
        index = data.draw(st.integers(0, len(body) - 1))
        body = body[:index] + bytes([body[index] ^ data.draw(st.integers(1, 255))]) + body[index + 1 :]
        body_changed = True
    elif body_op == "binary":
        body = data.draw(st.binary(max_size=200))
        body_changed = body != BODY
    elif body_op == "text":
        body = data.draw(st.text(max_size=200))
        body_changed = True
    elif body_op == "object":
        body = data.draw(st.sampled_from([None, 3, [b"x"], {"a": 1}]))
        body_changed = True
    elif body_op == "big":
        body = BODY + b" " * 5000
        body_changed = True
    mutated = mutate_headers(data, headers)
    method = data.draw(st.sampled_from([VERIFIER.verify, VERIFIER.verify_raw, VERIFIER.verify_signature]))
    try:
        result = method(body, mutated)
    except WebhookVerificationError as exc:
        message = str(exc)
        assert message and "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" not in message
        return
    assert not body_changed, "a changed body verified"
    assert result is not None
