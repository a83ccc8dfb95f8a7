"""Fuzzing verification: random and mutated headers and bodies never raise anything but
WebhookVerificationError, and a mutated body never verifies.

5,000 examples by default; ``YANGGUANG_SOAK=1`` runs 50,000.
"""

from __future__ import annotations

import os
from collections.abc import Callable
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
# Signing costs more than verifying (Ed25519): sign each (id, timestamp) once.
SIGNATURES = {
    (msg_id, FROZEN_NOW + offset): SIGNER.sign(msg_id, FROZEN_NOW + offset, BODY)
    for msg_id in ("evt_test_1", "msg_1", "é", "x" * 256)
    for offset in (0, 1, -299, 301, -301, 10**9)
}
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
names = st.sampled_from(NAMES)

# Strategies are built once: each example is a handful of draws, so 5,000 of them stay fast.
header_mutation = st.one_of(
    st.tuples(st.just("drop"), names),
    st.tuples(st.just("junk"), names, junk_value),
    st.tuples(st.just("signature"), b64ish),
    st.tuples(st.just("append"), b64ish),
    st.tuples(st.just("case"), names, st.sampled_from([str.upper, str.title, str.lower])),
    st.tuples(st.just("timestamp"), st.integers(-(10**20), 10**20)),
    st.tuples(st.just("long-id")),
    st.tuples(st.just("extra"), junk_text, junk_text),
)
body_change = st.one_of(
    st.just(("keep",)),
    st.tuples(st.just("flip"), st.integers(0, len(BODY) - 1), st.integers(1, 255)),
    st.tuples(st.just("binary"), st.binary(max_size=200)),
    st.tuples(st.just("text"), st.text(max_size=200)),
    st.tuples(st.just("object"), st.sampled_from([None, 3, [b"x"], {"a": 1}])),
    st.tuples(st.just("big")),
)
shapes = st.sampled_from(["dict", "dict", "pairs", "bytes-pairs", "odd", "none", "str"])
methods = st.sampled_from([VERIFIER.verify, VERIFIER.verify_raw, VERIFIER.verify_signature])


class Odd:
    """A header container whose get() explodes."""

    def get(self, name: str) -> Any:
        raise RuntimeError("boom")


def change_body(change: tuple[Any, ...]) -> tuple[Any, bool]:
    """The body after the change, and whether it differs from the signed one."""
    kind = change[0]
    if kind == "flip":
        index, mask = change[1], change[2]
        return BODY[:index] + bytes([BODY[index] ^ mask]) + BODY[index + 1 :], True
    if kind == "binary":
        return change[1], change[1] != BODY
    if kind in ("text", "object"):
        return change[1], True
    if kind == "big":
        return BODY + b" " * 5000, True
    return BODY, False


def mutate_headers(headers: dict[Any, Any], mutations: list[tuple[Any, ...]], shape: str) -> Any:
    for mutation in mutations:
        kind = mutation[0]
        if kind == "drop":
            headers.pop(mutation[1], None)
        elif kind == "junk":
            headers[mutation[1]] = mutation[2]
        elif kind == "signature":
            headers["webhook-signature"] = mutation[1]
        elif kind == "append":
            headers["webhook-signature"] = f"{headers.get('webhook-signature', '')} {mutation[1]}"
        elif kind == "case":
            value = headers.pop(mutation[1], None)
            if value is not None:
                headers[mutation[2](mutation[1])] = value
        elif kind == "timestamp":
            headers["webhook-timestamp"] = str(mutation[1])
        elif kind == "long-id":
            headers["webhook-id"] = "x" * 257
        else:
            headers[mutation[1]] = mutation[2]
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
@given(
    msg_id=st.sampled_from(["evt_test_1", "msg_1", "é", "x" * 256]),
    offset=st.sampled_from([0, 1, -299, 301, -301, 10**9]),
    change=body_change,
    mutations=st.lists(header_mutation, max_size=3),
    shape=shapes,
    method=methods,
)
def test_only_verification_errors_escape(
    msg_id: str,
    offset: int,
    change: tuple[Any, ...],
    mutations: list[tuple[Any, ...]],
    shape: str,
    method: Callable[[Any, Any], object],
) -> None:
    timestamp = FROZEN_NOW + offset
    headers: dict[Any, Any] = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": SIGNATURES[msg_id, timestamp],
    }
    body, body_changed = change_body(change)
    try:
        result = method(body, mutate_headers(headers, mutations, shape))
    except WebhookVerificationError as exc:
        message = str(exc)
        assert message and "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" not in message
        return
    assert not body_changed, "a changed body verified"
    assert result is not None


def test_fuzz_reaches_success_too() -> None:
    """The fuzzed space includes untouched deliveries, which verify (else the fuzz proves little)."""
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(FROZEN_NOW)}
    headers["webhook-signature"] = SIGNATURES["msg_1", FROZEN_NOW]
    assert VERIFIER.verify(BODY, mutate_headers(headers, [], "pairs")).id == "evt_test_1"
