"""Webhook signing and verification: the Standard Webhooks vectors, interop, and every way to fail."""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import hmac
import json
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import standardwebhooks

from yangguang_sdk.errors import ParameterError, YangguangError
from yangguang_sdk.types.event import ClaimEvent, GenericEvent
from yangguang_sdk.webhooks import (
    Webhook,
    WebhookVerificationError,
    build_headers,
    generate_ed25519_keypair,
    generate_hmac_secret,
)
from yangguang_sdk.webhooks._signing import _HmacKey

from ._events import FROZEN_NOW, claim_event, event_bytes

# The Standard Webhooks reference vectors.
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = '{"test": 2432232314}'
VECTOR_V1 = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
VECTOR_WHSK = "whsk_6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ6p9lMicMFs6Kvg=="
VECTOR_WHPK = "whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4="
VECTOR_V1A = "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg=="

MakeWebhook = Callable[..., Webhook]


def vector_headers(signature: str) -> dict[str, str]:
    return {
        "webhook-id": VECTOR_ID,
        "webhook-timestamp": str(VECTOR_TIMESTAMP),
        "webhook-signature": signature,
    }


def at_vector_time(secret: str | list[str], **options: Any) -> Webhook:
    return Webhook(secret, now=lambda: VECTOR_TIMESTAMP, **options)


def signed(
    secret: str, body: bytes, msg_id: str = "evt_test_1", timestamp: int = FROZEN_NOW
) -> dict[str, str]:
    return build_headers(secret, msg_id, body, timestamp=timestamp)


def failure(webhook: Webhook, body: Any, headers: Any) -> str:
    with pytest.raises(WebhookVerificationError) as info:
        webhook.verify(body, headers)
    return str(info.value)


# -- reference vectors ----------------------------------------------------------------------------


def test_hmac_vector_signs_to_the_reference_signature() -> None:
    assert Webhook(VECTOR_SECRET).sign(VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY) == VECTOR_V1


def test_hmac_vector_signs_the_same_from_an_aware_datetime_and_bytes() -> None:
    when = dt.datetime.fromtimestamp(VECTOR_TIMESTAMP, dt.timezone(dt.timedelta(hours=8)))
    assert Webhook(VECTOR_SECRET).sign(VECTOR_ID, when, VECTOR_BODY.encode()) == VECTOR_V1


def test_hmac_vector_verifies() -> None:
    data = at_vector_time(VECTOR_SECRET).verify_raw(VECTOR_BODY, vector_headers(VECTOR_V1))
    assert data == {"test": 2432232314}


def test_ed25519_vector_signs_to_the_reference_signature() -> None:
    assert Webhook(VECTOR_WHSK).sign(VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY) == VECTOR_V1A


def test_ed25519_vector_verifies_with_the_public_key_and_the_signing_key() -> None:
    for secret in (VECTOR_WHPK, VECTOR_WHSK):
        data = at_vector_time(secret).verify_raw(VECTOR_BODY.encode(), vector_headers(VECTOR_V1A))
        assert data == {"test": 2432232314}


def test_ed25519_vector_public_key_is_the_second_half_of_the_signing_key() -> None:
    assert base64.b64decode(VECTOR_WHSK[5:])[32:] == base64.b64decode(VECTOR_WHPK[5:])


def test_tampered_vector_signature_fails() -> None:
    tampered = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA="
    with pytest.raises(WebhookVerificationError, match="no signature matched"):
        at_vector_time(VECTOR_SECRET).verify_raw(VECTOR_BODY, vector_headers(tampered))


def test_short_18_byte_secret_signs_and_verifies() -> None:
    secret = "whsec_" + base64.b64encode(b"0123456789abcdefgh").decode()
    signature = Webhook(secret).sign(VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY)
    reference = standardwebhooks.Webhook(secret).sign(
        VECTOR_ID, dt.datetime.fromtimestamp(VECTOR_TIMESTAMP, dt.timezone.utc), VECTOR_BODY
    )
    assert signature == reference
    assert at_vector_time(secret).verify_raw(VECTOR_BODY, vector_headers(signature)) == {"test": 2432232314}


def test_multiple_signatures_with_unknown_versions_pass_when_one_is_valid() -> None:
    header = " ".join(
        [
            "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
            "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
            VECTOR_V1,
            "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
        ]
    )
    assert at_vector_time(VECTOR_SECRET).verify_raw(VECTOR_BODY, vector_headers(header))["test"] == 2432232314


@pytest.mark.parametrize("size", [1, 18, 32, 64, 65, 200])
def test_precomputed_hmac_matches_the_hmac_module_for_any_key_length(size: int) -> None:
    key = bytes(range(size % 256)) * (size // 256) + bytes(range(size % 256))
    key = (key or b"\x01")[:size].ljust(size, b"k")
    message = b"msg_1.1614265330." + b"x" * 300
    expected = base64.b64encode(hmac.new(key, message, hashlib.sha256).digest())
    assert _HmacKey(key).b64_signature(message) == expected


# -- interop --------------------------------------------------------------------------------------


def test_what_standardwebhooks_signs_we_verify(frozen_webhook: MakeWebhook) -> None:
    secret = generate_hmac_secret()
    body = event_bytes()
    when = dt.datetime.fromtimestamp(FROZEN_NOW, dt.timezone.utc)
    signature = standardwebhooks.Webhook(secret).sign("evt_test_1", when, body.decode())
    headers = {
        "webhook-id": "evt_test_1",
        "webhook-timestamp": str(FROZEN_NOW),
        "webhook-signature": signature,
    }
    event = frozen_webhook(secret).verify(body, headers)
    assert isinstance(event, ClaimEvent)
    assert event.data.amount.amount == 1039920


def test_what_we_sign_standardwebhooks_verifies() -> None:
    secret = generate_hmac_secret()
    body = event_bytes()
    headers = Webhook(secret).build_headers(
        "evt_test_1", body
    )  # signed now: standardwebhooks uses the real clock
    assert standardwebhooks.Webhook(secret).verify(body, headers) == claim_event()


def test_what_svix_signs_with_svix_headers_we_verify(frozen_webhook: MakeWebhook) -> None:
    svix = pytest.importorskip("svix.webhooks")
    secret = generate_hmac_secret()
    body = event_bytes().decode()
    when = dt.datetime.fromtimestamp(FROZEN_NOW, dt.timezone.utc)
    signature = svix.Webhook(secret).sign("evt_test_1", when, body)
    headers = {"Svix-Id": "evt_test_1", "Svix-Timestamp": str(FROZEN_NOW), "Svix-Signature": signature}
    assert frozen_webhook(secret).verify(body, headers).id == "evt_test_1"


# -- secrets and rotation -------------------------------------------------------------------------


def test_any_of_several_secrets_verifies_during_rotation(frozen_webhook: MakeWebhook) -> None:
    old, new = generate_hmac_secret(), generate_hmac_secret()
    signing_key, public_key = generate_ed25519_keypair()
    webhook = frozen_webhook([old, new, public_key])
    body = event_bytes()
    for secret in (old, new, signing_key):
        assert webhook.verify(body, signed(secret, body)).id == "evt_test_1"


def test_sign_with_several_secrets_gives_one_signature_per_signing_secret() -> None:
    hmac_secret = generate_hmac_secret()
    signing_key, public_key = generate_ed25519_keypair()
    signature = Webhook([hmac_secret, public_key, signing_key]).sign("evt_1", FROZEN_NOW, b"{}")
    versions = [item.split(",", 1)[0] for item in signature.split(" ")]
    assert versions == ["v1", "v1a"]


def test_generated_secrets_have_the_documented_shapes() -> None:
    secret = generate_hmac_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    signing_key, public_key = generate_ed25519_keypair()
    assert len(base64.b64decode(signing_key[5:])) == 64
    assert base64.b64decode(signing_key[5:])[32:] == base64.b64decode(public_key[5:])


@pytest.mark.parametrize(
    "secret",
    [
        "",
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "sk_live_abcdef",
        "whsec_",
        "whsec_not base64!",
        "whpk_" + base64.b64encode(b"x" * 31).decode(),
        "whsk_" + base64.b64encode(b"x" * 32).decode(),
        "whsk_" + base64.b64encode(b"\x01" * 64).decode(),  # public half does not match the seed
    ],
)
def test_bad_secret_is_refused_at_construction_without_echoing_it(secret: str) -> None:
    with pytest.raises(ParameterError) as info:
        Webhook(secret)
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert "whsec_" in message or "whpk_" in message or "whsk_" in message
    if len(secret) > 6:
        assert secret[6:] not in message


def test_bad_secret_types_and_options_are_refused() -> None:
    with pytest.raises(ParameterError):
        Webhook([])
    with pytest.raises(ParameterError):
        Webhook([VECTOR_SECRET, 42])  # type: ignore[list-item]
    with pytest.raises(ParameterError):
        Webhook(b"whsec_abc")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="tolerance"):
        Webhook(VECTOR_SECRET, tolerance=-1)
    with pytest.raises(ParameterError, match="max_body_bytes"):
        Webhook(VECTOR_SECRET, max_body_bytes=0)


def test_repr_never_shows_a_secret() -> None:
    signing_key, public_key = generate_ed25519_keypair()
    text = repr(Webhook([VECTOR_SECRET, signing_key, public_key]))
    assert "whsec_..." in text and "whsk_..." in text
    for secret in (VECTOR_SECRET, signing_key, public_key):
        assert secret[6:12] not in text


def test_public_key_cannot_sign() -> None:
    with pytest.raises(ParameterError, match="whsk_"):
        Webhook(VECTOR_WHPK).sign("evt_1", FROZEN_NOW, b"{}")
    assert not Webhook(VECTOR_WHPK).can_sign and Webhook(VECTOR_WHSK).can_sign


def test_sign_refuses_naive_datetimes_and_odd_timestamps() -> None:
    webhook = Webhook(VECTOR_SECRET)
    with pytest.raises(ParameterError, match="naive"):
        webhook.sign("evt_1", dt.datetime(2026, 1, 1), b"{}")
    for bad in (True, 1.5, "1614265330", -1):
        with pytest.raises(ParameterError, match="timestamp"):
            webhook.sign("evt_1", bad, b"{}")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="msg_id"):
        webhook.sign("", FROZEN_NOW, b"{}")


# -- headers --------------------------------------------------------------------------------------


def test_header_names_are_case_insensitive_and_svix_names_work(frozen_webhook: MakeWebhook) -> None:
    secret = generate_hmac_secret()
    body = event_bytes()
    headers = signed(secret, body)
    webhook = frozen_webhook(secret)
    variants: list[Any] = [
        {name.upper(): value for name, value in headers.items()},
        {name.title(): value for name, value in headers.items()},
        {name.replace("webhook", "svix"): value for name, value in headers.items()},
        [(name.encode(), value.encode()) for name, value in headers.items()],  # ASGI raw headers
        [("content-type", "application/json"), *headers.items()],
    ]
    for variant in variants:
        assert webhook.verify(body, variant).id == "evt_test_1"


def test_framework_header_objects_work(frozen_webhook: MakeWebhook) -> None:
    from starlette.datastructures import Headers as StarletteHeaders
    from werkzeug.datastructures import Headers as WerkzeugHeaders

    secret = generate_hmac_secret()
    body = event_bytes()
    headers = {name.title(): value for name, value in signed(secret, body).items()}
    webhook = frozen_webhook(secret)
    assert webhook.verify(body, StarletteHeaders(headers)).id == "evt_test_1"
    assert webhook.verify(body, WerkzeugHeaders(list(headers.items()))).id == "evt_test_1"


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header_is_named(frozen_webhook: MakeWebhook, missing: str) -> None:
    secret = generate_hmac_secret()
    body = event_bytes()
    headers = signed(secret, body)
    del headers[missing]
    assert missing in failure(frozen_webhook(secret), body, headers)


@pytest.mark.parametrize("headers", [None, "webhook-id: x", b"", 42, [("only-one",)], [1, 2]])
def test_unusable_header_containers_fail_verification(frozen_webhook: MakeWebhook, headers: Any) -> None:
    failure(frozen_webhook(VECTOR_SECRET), b"{}", headers)


# -- timestamps -----------------------------------------------------------------------------------


@pytest.mark.parametrize("offset", [-300, 0, 300])
def test_timestamp_within_tolerance_both_ways_passes(frozen_webhook: MakeWebhook, offset: int) -> None:
    secret = generate_hmac_secret()
    body = event_bytes()
    assert frozen_webhook(secret).verify(body, signed(secret, body, timestamp=FROZEN_NOW + offset))


def test_stale_timestamp_fails_and_shows_the_skew(frozen_webhook: MakeWebhook) -> None:
    secret = generate_hmac_secret()
    body = event_bytes()
    message = failure(frozen_webhook(secret), body, signed(secret, body, timestamp=FROZEN_NOW - 301))
    assert "301 s in the past" in message and "clock" in message


def test_future_timestamp_fails_and_shows_the_skew(frozen_webhook: MakeWebhook) -> None:
    secret = generate_hmac_secret()
    body = event_bytes()
    message = failure(frozen_webhook(secret), body, signed(secret, body, timestamp=FROZEN_NOW + 3600))
    assert "3600 s in the future" in message and "clock" in message


@pytest.mark.parametrize(("offset", "when"), [(81 * 86400, "future"), (-81 * 86400, "past")])
def test_a_timestamp_days_away_blames_the_senders_clock_not_ntp(
    frozen_webhook: MakeWebhook, offset: int, when: str
) -> None:
    """A skew of days is no NTP drift: the sender signs with a clock that is not real time (a
    sandbox whose clock was advanced, a replay of a stored delivery)."""
    secret = generate_hmac_secret()
    body = event_bytes()
    message = failure(frozen_webhook(secret), body, signed(secret, body, timestamp=FROZEN_NOW + offset))
    assert f"{81 * 86400} s (81 days) in the {when}" in message
    assert "not real time" in message and "advanced" in message
    assert "NTP" not in message


@pytest.mark.parametrize("offset", [86400, -86400])
def test_a_skew_of_a_day_or_less_still_points_at_the_clocks(frozen_webhook: MakeWebhook, offset: int) -> None:
    secret = generate_hmac_secret()
    body = event_bytes()
    message = failure(frozen_webhook(secret), body, signed(secret, body, timestamp=FROZEN_NOW + offset))
    assert "NTP" in message and "not real time" not in message


def test_tolerance_is_configurable(frozen_webhook: MakeWebhook) -> None:
    secret = generate_hmac_secret()
    body = event_bytes()
    headers = signed(secret, body, timestamp=FROZEN_NOW - 100)
    assert frozen_webhook(secret, tolerance=100).verify(body, headers)
    failure(frozen_webhook(secret, tolerance=99), body, headers)


@pytest.mark.parametrize(
    "timestamp", ["", "abc", "1.8e9", "-1800000000", " 1800000000", "1800000000.0", "١٨٠٠", "9" * 40]
)
def test_timestamp_must_be_digits(frozen_webhook: MakeWebhook, timestamp: str) -> None:
    secret = generate_hmac_secret()
    body = event_bytes()
    headers = signed(secret, body) | {"webhook-timestamp": timestamp}
    failure(frozen_webhook(secret), body, headers)


# -- bodies and signatures ------------------------------------------------------------------------


def test_reserialised_body_fails_with_the_raw_body_hint(frozen_webhook: MakeWebhook) -> None:
    secret = generate_hmac_secret()
    body = event_bytes()
    reserialised = json.dumps(json.loads(body), separators=(",", ":")).encode()
    message = failure(frozen_webhook(secret), reserialised, signed(secret, body))
    assert "re-serialised" in message and "current secret" in message
    assert secret[6:] not in message and "clm_" not in message


def test_wrong_secret_fails_with_the_same_hint(frozen_webhook: MakeWebhook) -> None:
    body = event_bytes()
    message = failure(frozen_webhook(generate_hmac_secret()), body, signed(generate_hmac_secret(), body))
    assert "current secret" in message


def test_signature_of_a_kind_the_webhook_cannot_check_says_so(frozen_webhook: MakeWebhook) -> None:
    signing_key, _ = generate_ed25519_keypair()
    body = event_bytes()
    message = failure(frozen_webhook(generate_hmac_secret()), body, signed(signing_key, body))
    assert "v1a" in message and "whpk_" in message


def test_wrong_ed25519_key_fails(frozen_webhook: MakeWebhook) -> None:
    signing_key, _ = generate_ed25519_keypair()
    _, other_public = generate_ed25519_keypair()
    body = event_bytes()
    assert "no signature matched" in failure(frozen_webhook(other_public), body, signed(signing_key, body))


@pytest.mark.parametrize(
    "signature",
    [
        "",
        "v1",
        "v1,",
        "v1,!!!!",
        "v1,AAAA",
        "v1a,AAAA",
        "garbage",
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE",
    ],
)
def test_malformed_signatures_fail_verification(frozen_webhook: MakeWebhook, signature: str) -> None:
    secret = generate_hmac_secret()
    body = event_bytes()
    failure(frozen_webhook(secret), body, signed(secret, body) | {"webhook-signature": signature})


def test_unpadded_base64_signature_still_verifies(frozen_webhook: MakeWebhook) -> None:
    secret = generate_hmac_secret()
    body = event_bytes()
    headers = signed(secret, body)
    headers["webhook-signature"] = headers["webhook-signature"].rstrip("=")
    assert frozen_webhook(secret).verify(body, headers)


def test_body_over_the_cap_fails(frozen_webhook: MakeWebhook) -> None:
    secret = generate_hmac_secret()
    body = event_bytes()
    message = failure(frozen_webhook(secret, max_body_bytes=len(body) - 1), body, signed(secret, body))
    assert "max_body_bytes" in message


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"\xff\xfe{}", "UTF-8"),
        (b"{not json", "not valid JSON"),
        (b"[1, 2, 3]", "not a yangguang event"),
        (b'{"type": "claim.paid"}', "not a yangguang event"),
        (b'{"type": "claim.paid", "timestamp": "not a time", "data": {"id": 1}}', "timestamp"),
    ],
)
def test_signed_body_that_is_not_an_event_fails(
    frozen_webhook: MakeWebhook, body: bytes, expected: str
) -> None:
    secret = generate_hmac_secret()
    message = failure(frozen_webhook(secret), body, signed(secret, body))
    assert expected in message


@pytest.mark.parametrize(
    "body",
    [
        # the envelope as the insurer sends it, then data that is no claim
        b'{"object":"event","id":"evt_1","type":"claim.paid","timestamp":"2027-01-15T08:00:00Z",'
        b'"data":{"id":1}}',
        # another key order and spacing: the envelope is read by parsing the whole body
        b'{"type": "claim.paid", "timestamp": "2027-01-15T08:00:00Z", "data": {"id": 1}}',
        # a leading envelope, then a body that is not JSON at all
        b'{"object":"event","id":"evt_1","type":"claim.paid","timestamp":"2027-01-15T08:00:00Z",'
        b'"data":{"id":',
    ],
)
def test_a_signed_event_whose_data_does_not_validate_fails_at_first_read(
    frozen_webhook: MakeWebhook, body: bytes
) -> None:
    """verify reads the envelope; the rest is validated when first used, and a body that does not
    validate raises WebhookVerificationError there, naming what is wrong."""
    secret = generate_hmac_secret()
    event = frozen_webhook(secret).verify(body, signed(secret, body))
    assert event.type == "claim.paid"
    for use in (lambda: event.data, lambda: event.model_dump(), lambda: repr(event), lambda: event == event):
        with pytest.raises(WebhookVerificationError) as info:
            use()
        assert "data" in str(info.value) or "not valid JSON" in str(info.value)
        assert "valid" in str(info.value)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"{not json", "body is not valid JSON: key must be a string at line 1 column 2"),
        (b'{"a": 1', "body is not valid JSON: EOF while parsing an object at line 1 column 7"),
        (b'{"a": "\xff"}', "body is not UTF-8 text (bad byte at position 7)"),
        (b'{"a": "\\ud800"}', "body is not valid JSON"),
    ],
)
def test_verify_raw_says_where_the_json_breaks(
    frozen_webhook: MakeWebhook, body: bytes, expected: str
) -> None:
    secret = generate_hmac_secret()
    with pytest.raises(WebhookVerificationError) as info:
        frozen_webhook(secret).verify_raw(body, signed(secret, body))
    assert str(info.value).startswith(expected)


def test_verify_raw_refuses_json_that_is_not_an_object(frozen_webhook: MakeWebhook) -> None:
    secret = generate_hmac_secret()
    webhook = frozen_webhook(secret)
    for body in (b"[1]", b'"text"', b"\xff", b"{"):
        with pytest.raises(WebhookVerificationError):
            webhook.verify_raw(body, signed(secret, body))


@pytest.mark.parametrize("body", [None, 42, {"type": "claim.paid"}, "\ud800"])
def test_body_of_the_wrong_type_fails_verification(frozen_webhook: MakeWebhook, body: Any) -> None:
    failure(frozen_webhook(VECTOR_SECRET), body, vector_headers(VECTOR_V1))


def test_str_bytearray_and_memoryview_bodies_verify(frozen_webhook: MakeWebhook) -> None:
    secret = generate_hmac_secret()
    body = event_bytes()
    headers = signed(secret, body)
    webhook = frozen_webhook(secret)
    for variant in (body.decode(), bytearray(body), memoryview(body)):
        assert webhook.verify(variant, headers).id == "evt_test_1"  # type: ignore[arg-type]


def test_verification_error_is_part_of_the_sdk_error_tree() -> None:
    assert issubclass(WebhookVerificationError, YangguangError)
    assert issubclass(WebhookVerificationError, ValueError)


# -- the typed event ------------------------------------------------------------------------------


def test_verify_returns_the_typed_event(frozen_webhook: MakeWebhook) -> None:
    secret = generate_hmac_secret()
    body = event_bytes(version=7)
    event = frozen_webhook(secret).verify(body, signed(secret, body))
    assert isinstance(event, ClaimEvent)
    assert event.type == "claim.paid" and event.data.status == "paid" and event.object_version == 7


def test_event_id_comes_from_the_header_when_the_body_has_none(frozen_webhook: MakeWebhook) -> None:
    secret = generate_hmac_secret()
    data = claim_event()
    del data["id"]
    body = json.dumps(data).encode()
    event = frozen_webhook(secret).verify(body, signed(secret, body, msg_id="evt_from_header"))
    assert event.id == "evt_from_header"


def test_unknown_event_type_becomes_a_generic_event(frozen_webhook: MakeWebhook) -> None:
    secret = generate_hmac_secret()
    body = b'{"type": "claim.reopened", "timestamp": "2027-01-15T08:00:00Z", "data": {"id": "clm_1"}}'
    event = frozen_webhook(secret).verify(body, signed(secret, body, msg_id="evt_9"))
    assert isinstance(event, GenericEvent) and event.id == "evt_9" and event.data == {"id": "clm_1"}


def test_verify_signature_checks_without_parsing(frozen_webhook: MakeWebhook) -> None:
    secret = generate_hmac_secret()
    body = b"not even json"
    assert frozen_webhook(secret).verify_signature(body, signed(secret, body, msg_id="m1")) == "m1"


# -- import cost ----------------------------------------------------------------------------------


def test_importing_webhooks_loads_neither_pydantic_nor_cryptography() -> None:
    code = (
        "import sys, yangguang_sdk.webhooks as w; w.Webhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');"
        "print(sorted(m for m in ('pydantic', 'cryptography', 'sqlite3', 'psycopg') if m in sys.modules))"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"


# -- several webhook-signature lines, for every header container (issue #16) ----------------------


def _two_signature_lines() -> tuple[bytes, str, str, list[tuple[str, str]]]:
    """A body, its id and timestamp headers, and two signature lines: a stale one, then the good one."""
    body = event_bytes("evt_lines")
    good = Webhook(VECTOR_SECRET).sign("msg_lines", FROZEN_NOW, body)
    stale = Webhook(generate_hmac_secret()).sign("msg_lines", FROZEN_NOW, body)
    lines = [("webhook-signature", stale), ("webhook-signature", good)]
    return body, "msg_lines", str(FROZEN_NOW), lines


def _pairs() -> tuple[bytes, list[tuple[str, str]]]:
    body, msg_id, timestamp, lines = _two_signature_lines()
    return body, [("webhook-id", msg_id), ("webhook-timestamp", timestamp), *lines]


def test_several_signature_lines_in_a_list_of_pairs(frozen_webhook: Callable[..., Webhook]) -> None:
    body, pairs = _pairs()
    assert frozen_webhook(VECTOR_SECRET).verify(body, pairs).id == "evt_lines"
    raw = [(name.encode(), value.encode()) for name, value in pairs]  # ASGI's raw headers
    assert frozen_webhook(VECTOR_SECRET).verify(body, raw).id == "evt_lines"


def test_several_signature_lines_in_a_dict(frozen_webhook: Callable[..., Webhook]) -> None:
    body, pairs = _pairs()
    listed = {
        "webhook-id": pairs[0][1],
        "webhook-timestamp": pairs[1][1],
        "webhook-signature": [v for _, v in pairs[2:]],
    }
    assert frozen_webhook(VECTOR_SECRET).verify(body, listed).id == "evt_lines"
    # A server that joined the repeated header with commas, as WSGI servers do.
    joined = {**listed, "webhook-signature": ",".join(v for _, v in pairs[2:])}
    assert frozen_webhook(VECTOR_SECRET).verify(body, joined).id == "evt_lines"
    spaced = {**listed, "webhook-signature": ", ".join(v for _, v in pairs[2:])}
    assert frozen_webhook(VECTOR_SECRET).verify(body, spaced).id == "evt_lines"


def test_several_signature_lines_in_starlette_headers(frozen_webhook: Callable[..., Webhook]) -> None:
    from starlette.datastructures import Headers as StarletteHeaders

    body, pairs = _pairs()
    headers = StarletteHeaders(raw=[(n.encode("latin-1"), v.encode("latin-1")) for n, v in pairs])
    assert headers.get("webhook-signature") == pairs[2][1]  # what the old code read: the stale line
    assert frozen_webhook(VECTOR_SECRET).verify(body, headers).id == "evt_lines"


def test_several_signature_lines_in_werkzeug_headers(frozen_webhook: Callable[..., Webhook]) -> None:
    from werkzeug.datastructures import EnvironHeaders
    from werkzeug.datastructures import Headers as WerkzeugHeaders

    body, pairs = _pairs()
    assert frozen_webhook(VECTOR_SECRET).verify(body, WerkzeugHeaders(pairs)).id == "evt_lines"
    environ = {
        "HTTP_WEBHOOK_ID": pairs[0][1],
        "HTTP_WEBHOOK_TIMESTAMP": pairs[1][1],
        "HTTP_WEBHOOK_SIGNATURE": ",".join(v for _, v in pairs[2:]),  # as the WSGI server joined them
    }
    assert frozen_webhook(VECTOR_SECRET).verify(body, EnvironHeaders(environ)).id == "evt_lines"


def test_several_signature_lines_in_django_headers_and_meta(frozen_webhook: Callable[..., Webhook]) -> None:
    from django.http.request import HttpHeaders  # type: ignore[import-untyped]

    body, pairs = _pairs()
    meta = {
        "HTTP_WEBHOOK_ID": pairs[0][1],
        "HTTP_WEBHOOK_TIMESTAMP": pairs[1][1],
        "HTTP_WEBHOOK_SIGNATURE": ",".join(v for _, v in pairs[2:]),
        "CONTENT_TYPE": "application/json",
    }
    assert frozen_webhook(VECTOR_SECRET).verify(body, HttpHeaders(meta)).id == "evt_lines"
    assert frozen_webhook(VECTOR_SECRET).verify(body, meta).id == "evt_lines"


def test_a_comma_joined_header_with_only_bad_signatures_is_still_refused(
    frozen_webhook: Callable[..., Webhook],
) -> None:
    body, pairs = _pairs()
    joined = {
        "webhook-id": pairs[0][1],
        "webhook-timestamp": pairs[1][1],
        "webhook-signature": f"{pairs[2][1]},{pairs[2][1]}",
    }
    with pytest.raises(WebhookVerificationError, match="no signature matched"):
        frozen_webhook(VECTOR_SECRET).verify(body, joined)


# -- the clock and the tolerance (issue #16) -----------------------------------------------------


@pytest.mark.parametrize("reading", [float("nan"), float("inf"), float("-inf"), Decimal("NaN"), None])
def test_a_non_finite_clock_fails_closed(reading: object) -> None:
    body = event_bytes("evt_clock")
    headers = Webhook(VECTOR_SECRET).build_headers("evt_clock", body, timestamp=FROZEN_NOW)
    with pytest.raises(WebhookVerificationError, match="not a finite Unix time"):
        Webhook(VECTOR_SECRET, now=lambda: reading).verify(body, headers)  # type: ignore[arg-type,return-value]
    # ...and an old replay stays refused (the NaN clock used to accept it).
    replay = Webhook(VECTOR_SECRET).build_headers("evt_clock", body, timestamp=1_000_000_000)
    with pytest.raises(WebhookVerificationError):
        Webhook(VECTOR_SECRET, now=lambda: reading).verify(body, replay)  # type: ignore[arg-type,return-value]


def test_a_finite_clock_of_any_number_type_is_read() -> None:
    body = event_bytes("evt_clock")
    headers = Webhook(VECTOR_SECRET).build_headers("evt_clock", body, timestamp=FROZEN_NOW)
    for reading in (Decimal(FROZEN_NOW), FROZEN_NOW, float(FROZEN_NOW)):
        clock = functools.partial(lambda value: value, reading)
        assert Webhook(VECTOR_SECRET, now=clock).verify(body, headers).id == "evt_clock"


def test_tolerance_none_skips_the_timestamp_check_only_when_asked() -> None:
    body = event_bytes("evt_stored")
    headers = Webhook(VECTOR_SECRET).build_headers("evt_stored", body, timestamp=1_000_000_000)
    live = Webhook(VECTOR_SECRET, now=lambda: FROZEN_NOW)
    with pytest.raises(WebhookVerificationError, match="in the past"):
        live.verify(body, headers)
    assert live.verify(body, headers, tolerance=None).id == "evt_stored"
    assert live.verify_raw(body, headers, tolerance=None)["id"] == "evt_stored"
    assert live.verify_signature(body, headers, tolerance=None) == "evt_stored"
    with pytest.raises(WebhookVerificationError, match="in the past"):
        live.verify(body, headers, tolerance=3600)
    # The signature is still checked.
    tampered = body.replace(b"evt_stored", b"evt_stolen")
    with pytest.raises(WebhookVerificationError, match="no signature matched"):
        live.verify(tampered, headers, tolerance=None)
    with pytest.raises(ParameterError, match="tolerance"):
        live.verify(body, headers, tolerance=-1)


def test_verify_message_returns_the_webhook_id_and_the_event(frozen_webhook: Callable[..., Webhook]) -> None:
    body = event_bytes("evt_body")
    headers = Webhook(VECTOR_SECRET).build_headers("msg_other", body, timestamp=FROZEN_NOW)
    msg_id, event = frozen_webhook(VECTOR_SECRET).verify_message(body, headers)
    assert (msg_id, event.id) == ("msg_other", "evt_body")


def test_the_hmac_key_matches_the_standard_library() -> None:
    key = b"k" * 100  # longer than a SHA-256 block: hashed first, as RFC 2104 says
    message = b"msg.1614265330." + b"x" * 5000
    expected = base64.b64encode(hmac.new(key, message, hashlib.sha256).digest())
    assert _HmacKey(key).b64_signature(message) == expected
    assert _HmacKey(b"short").b64_signature(message) == base64.b64encode(
        hmac.new(b"short", message, hashlib.sha256).digest()
    )
