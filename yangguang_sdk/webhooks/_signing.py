"""Standard Webhooks 1.0 signing and verification: ``v1`` (HMAC-SHA256) and ``v1a`` (Ed25519).

``Webhook(secret).verify(raw_body, headers)`` checks a delivery and returns the typed event; every
failure, whatever the input, is one ``WebhookVerificationError`` whose message says what to look at
(the raw body, the secret, the clock) and never carries the secret or the body.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import math
import numbers
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, cast

from ..errors import ParameterError, WebhookVerificationError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

    from ..types.event import Event

__all__ = [
    "DEFAULT_TOLERANCE",
    "DEFAULT_MAX_BODY_BYTES",
    "Headers",
    "Webhook",
    "build_headers",
    "generate_hmac_secret",
    "generate_ed25519_keypair",
]

DEFAULT_TOLERANCE = 300
"""Seconds a delivery's ``webhook-timestamp`` may be in the past or in the future."""
DEFAULT_MAX_BODY_BYTES = 256 * 1024
"""Largest body accepted; the insurer's events are a few kilobytes."""

HMAC_PREFIX = "whsec_"
ED25519_PUBLIC_PREFIX = "whpk_"
ED25519_SECRET_PREFIX = "whsk_"

Headers: TypeAlias = (
    Mapping[str, str]
    | Mapping[str, Sequence[str]]
    | Iterable[tuple[str, str]]
    | Iterable[tuple[bytes, bytes]]
)
"""Request headers: a mapping (dict, Starlette/Django/Werkzeug headers, Django's ``META``; a value may
list a repeated header's lines) or (name, value) pairs, str or bytes (ASGI's raw headers)."""

_EXPECTED_PREFIXES = (
    "expected whsec_<base64> (HMAC-SHA256), whpk_<base64 of 32 bytes> (Ed25519 public key) "
    "or whsk_<base64 of 64 bytes> (Ed25519 signing key)"
)
_MISMATCH_HINT = (
    "was the body re-serialised (parsed and dumped again) instead of the raw bytes? "
    "is this the endpoint's current secret?"
)
# Longest msg id and timestamp we look at: far above real ones, low enough to keep errors cheap.
_MAX_ID_CHARS = 256
_MAX_TIMESTAMP_DIGITS = 12


# -- secrets --------------------------------------------------------------------------------------


class _HmacKey:
    """An HMAC-SHA256 key: the standard library's ``hmac`` object is built once (the key's pads
    hashed once) and ``copy()``'d for each message."""

    __slots__ = ("_base",)

    def __init__(self, key: bytes) -> None:
        self._base = hmac.new(key, digestmod="sha256")

    def b64_signature(self, message: bytes, body: bytes = b"") -> bytes:
        """Base64 of HMAC-SHA256 over ``message`` then ``body`` (no copy of the body made)."""
        mac = self._base.copy()
        mac.update(message)
        if body:
            mac.update(body)
        return binascii.b2a_base64(mac.digest(), newline=False)


_ed25519_module: Any = None


def _ed25519() -> Any:
    """cryptography's ed25519 module, imported on first use to keep ``import`` cheap."""
    global _ed25519_module
    if _ed25519_module is None:
        from cryptography.hazmat.primitives.asymmetric import ed25519

        _ed25519_module = ed25519
    return _ed25519_module


def _b64decode_strict(text: str) -> bytes | None:
    """Standard base64 (padding optional, as standardwebhooks accepts); None if it is not."""
    if not text.isascii():
        return None
    data = text.encode("ascii")
    if data.translate(None, _B64_CHARS):
        return None
    stripped = data.rstrip(b"=")
    if len(data) - len(stripped) > 2 or b"=" in stripped:
        return None
    try:
        return binascii.a2b_base64(stripped + b"=" * (-len(stripped) % 4))
    except binascii.Error:
        return None


_B64_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="


class _Secret:
    """One parsed secret; ``kind`` is the prefix it was given with."""

    __slots__ = ("kind", "hmac_key", "public_key", "private_key")

    def __init__(
        self,
        kind: str,
        *,
        hmac_key: _HmacKey | None = None,
        public_key: Ed25519PublicKey | None = None,
        private_key: Ed25519PrivateKey | None = None,
    ) -> None:
        self.kind = kind
        self.hmac_key = hmac_key
        self.public_key = public_key
        self.private_key = private_key


def _parse_secret(secret: object, position: int | None) -> _Secret:
    where = "secret" if position is None else f"secret #{position + 1}"
    if not isinstance(secret, str):
        raise ParameterError(f"{where} must be a str, not {type(secret).__name__}; {_EXPECTED_PREFIXES}")
    secret = secret.strip()
    if secret.startswith(HMAC_PREFIX):
        key = _b64decode_strict(secret[len(HMAC_PREFIX) :])
        if not key:
            raise ParameterError(f"{where}: the part after whsec_ is not valid non-empty base64")
        return _Secret(HMAC_PREFIX, hmac_key=_HmacKey(key))
    if secret.startswith(ED25519_PUBLIC_PREFIX):
        raw = _b64decode_strict(secret[len(ED25519_PUBLIC_PREFIX) :])
        if raw is None or len(raw) != 32:
            raise ParameterError(
                f"{where}: the part after whpk_ must be base64 of 32 bytes (an Ed25519 public key)"
            )
        return _Secret(ED25519_PUBLIC_PREFIX, public_key=_ed25519().Ed25519PublicKey.from_public_bytes(raw))
    if secret.startswith(ED25519_SECRET_PREFIX):
        raw = _b64decode_strict(secret[len(ED25519_SECRET_PREFIX) :])
        if raw is None or len(raw) != 64:
            raise ParameterError(
                f"{where}: the part after whsk_ must be base64 of 64 bytes (Ed25519 seed + public key)"
            )
        ed = _ed25519()
        private = ed.Ed25519PrivateKey.from_private_bytes(raw[:32])
        public = private.public_key()
        if public.public_bytes_raw() != raw[32:]:
            raise ParameterError(f"{where}: the whsk_ key's public half does not belong to its seed")
        return _Secret(ED25519_SECRET_PREFIX, public_key=public, private_key=private)
    raise ParameterError(f"{where} has no known prefix: {_EXPECTED_PREFIXES}")


# -- headers --------------------------------------------------------------------------------------

_ID_NAMES = ("webhook-id", "svix-id")
_TIMESTAMP_NAMES = ("webhook-timestamp", "svix-timestamp")
_SIGNATURE_NAMES = ("webhook-signature", "svix-signature")
_WANTED = frozenset(_ID_NAMES + _TIMESTAMP_NAMES + _SIGNATURE_NAMES)


def _header_str(name: str, value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, (list, tuple)) and value:
        # A mapping holding every line of a repeated header (e.g. {"webhook-signature": [...]}).
        return " ".join(_header_str(name, item) for item in value)
    raise WebhookVerificationError(f"header {name} must be a string, not {type(value).__name__}")


def _header_name(name: str) -> str:
    """A header name as compared: lower case, and a WSGI/Django ``META`` key (``HTTP_WEBHOOK_ID``)
    as the header it stands for."""
    lname = name.lower()
    if lname.startswith("http_"):
        lname = lname[5:].replace("_", "-")
    return lname


def _scan_headers(headers: Any) -> dict[str, str]:
    """The signing headers from any header container, names compared case-insensitively; every
    line of a repeated signature header is kept."""
    items = headers.items() if callable(getattr(headers, "items", None)) else headers
    multi = _multi_getter(headers)
    found: dict[str, str] = {}
    for pair in items:
        try:
            name, value = pair
        except (TypeError, ValueError):
            raise WebhookVerificationError(
                "headers must be a mapping or an iterable of (name, value) pairs"
            ) from None
        if isinstance(name, bytes):
            name = name.decode("latin-1")
        if not isinstance(name, str):
            continue
        lname = _header_name(name)
        if lname not in _WANTED:
            continue
        if multi is not None and lname.endswith("signature"):
            # items() of a multi-value container may show a repeated header once: ask for all lines.
            lines = multi(name)
            if isinstance(lines, (list, tuple)) and lines:
                value = list(lines)
        text = _header_str(lname, value)
        if lname in found:
            # Several signature lines mean several signatures; for the others the first wins.
            if lname.endswith("signature") and text not in found[lname].split(" "):
                found[lname] += " " + text
            continue
        found[lname] = text
    return found


def _multi_getter(headers: Any) -> Callable[[str], Any] | None:
    """The every-line getter of a multi-value header container: Starlette's and Werkzeug's
    ``getlist``, ``email.message.Message.get_all``, multidict's ``getall``; None for a dict."""
    if type(headers) is dict:
        return None
    for name in ("getlist", "get_all", "getall"):
        getter = getattr(headers, name, None)
        if callable(getter):
            return cast("Callable[[str], Any]", getter)
    return None


def _signing_headers(headers: Any) -> tuple[str, str, str]:
    """(msg id, timestamp, signature) from the webhook-* names, else the svix-* ones."""
    get = getattr(headers, "get", None)
    if callable(get) and not isinstance(headers, (str, bytes)):
        # Fast path: dicts with lowercase names and the case-insensitive header classes of
        # Starlette, Werkzeug and Django answer directly; a repeated signature header is read
        # whole through the container's every-line getter.
        msg_id = get("webhook-id")
        timestamp = get("webhook-timestamp")
        if type(msg_id) is str and type(timestamp) is str:
            multi = _multi_getter(headers)
            if multi is None:
                signature = get("webhook-signature")
                if type(signature) is str:
                    return msg_id, timestamp, signature
            else:
                lines = multi("webhook-signature")
                if isinstance(lines, list) and lines and all(type(line) is str for line in lines):
                    return msg_id, timestamp, " ".join(lines)
    if headers is None or isinstance(headers, (str, bytes)):
        raise WebhookVerificationError("headers must be a mapping or an iterable of (name, value) pairs")
    found = _scan_headers(headers)
    prefix = "webhook-" if "webhook-id" in found or "svix-id" not in found else "svix-"
    missing = [n for n in ("id", "timestamp", "signature") if not found.get(prefix + n)]
    if missing:
        names = ", ".join(prefix + n for n in missing)
        raise WebhookVerificationError(
            f"missing or empty header(s): {names}. A delivery carries webhook-id, webhook-timestamp and "
            "webhook-signature (or svix-id, svix-timestamp, svix-signature); is a proxy or framework "
            "dropping them?"
        )
    return found[prefix + "id"], found[prefix + "timestamp"], found[prefix + "signature"]


_VERSION_TOKEN = re.compile(r"v[0-9]+a?")


def _signature_items(signature: str) -> list[tuple[str, str]]:
    """(version, value) pairs of a ``webhook-signature`` value: items are space-separated
    ``version,base64``; lines a server joined with commas (``v1,A,v1,B``, as WSGI servers and
    Django do with a repeated header) are read too, since base64 never contains a comma."""
    if "," not in signature.partition(",")[2]:
        return [(version, value) for version, _, value in (i.partition(",") for i in signature.split(" "))]
    tokens = signature.replace(",", " ").split()
    items: list[tuple[str, str]] = []
    i = 0
    while i < len(tokens):
        if (
            _VERSION_TOKEN.fullmatch(tokens[i])
            and i + 1 < len(tokens)
            and not _VERSION_TOKEN.fullmatch(tokens[i + 1])
        ):
            items.append((tokens[i], tokens[i + 1]))
            i += 2
        else:
            items.append((tokens[i], ""))
            i += 1
    return items


def _finite_number(value: object) -> bool:
    """True for a finite real number (int, float, Decimal, Fraction; not bool, NaN or infinity)."""
    if type(value) is float:  # time.time(): the usual clock, answered without the ABC check
        return math.isfinite(value)
    if isinstance(value, (bool, complex)) or not isinstance(value, numbers.Number):
        return False
    try:
        return math.isfinite(value)  # type: ignore[arg-type]  # Decimal converts
    except (TypeError, ValueError, OverflowError):
        return False


def _show(text: str, limit: int = 24) -> str:
    """A short, safe rendering of a header value for an error message."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


# -- the Webhook ----------------------------------------------------------------------------------


class _Default:
    """The type of ``_DEFAULT``: "the Webhook's own tolerance"."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<the Webhook's tolerance>"


_DEFAULT = _Default()


class Webhook:
    """Verifies (and, with a whsec_ or whsk_ secret, signs) Standard Webhooks deliveries.

    ``secret_or_secrets`` is one secret or several (during a rotation, pass the old and the new):
    ``whsec_...`` (HMAC-SHA256, ``v1``), ``whpk_...`` (Ed25519 public key, ``v1a``, verify only) or
    ``whsk_...`` (Ed25519 signing key, signs and verifies). A delivery passes when any of its
    signatures matches any of the secrets. ``now`` returns the current Unix time (tests freeze it).
    """

    __slots__ = ("_secrets", "_hmac_keys", "_public_keys", "_signers", "tolerance", "max_body_bytes", "_now")

    def __init__(
        self,
        secret_or_secrets: str | Sequence[str],
        *,
        tolerance: int = DEFAULT_TOLERANCE,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        now: Callable[[], float] | None = None,
    ) -> None:
        if isinstance(secret_or_secrets, str):
            secrets = [_parse_secret(secret_or_secrets, None)]
        elif isinstance(secret_or_secrets, Sequence) and not isinstance(
            secret_or_secrets, (bytes, bytearray)
        ):
            secrets = [_parse_secret(s, i) for i, s in enumerate(secret_or_secrets)]
            if not secrets:
                raise ParameterError(f"no secret given; {_EXPECTED_PREFIXES}", param="secret_or_secrets")
        else:
            raise ParameterError(
                f"must be a str or a list of str, not {type(secret_or_secrets).__name__}",
                param="secret_or_secrets",
            )
        if isinstance(tolerance, bool) or not isinstance(tolerance, int) or tolerance < 0:
            raise ParameterError("must be a whole number of seconds >= 0", param="tolerance")
        if isinstance(max_body_bytes, bool) or not isinstance(max_body_bytes, int) or max_body_bytes < 1:
            raise ParameterError("must be a positive number of bytes", param="max_body_bytes")
        self._secrets = tuple(secrets)
        self._hmac_keys = tuple(s.hmac_key for s in secrets if s.hmac_key is not None)
        self._public_keys = tuple(s.public_key for s in secrets if s.public_key is not None)
        self._signers = tuple(s for s in secrets if s.hmac_key is not None or s.private_key is not None)
        self.tolerance = tolerance
        self.max_body_bytes = max_body_bytes
        self._now: Callable[[], float] = now if now is not None else time.time

    def __repr__(self) -> str:
        kinds = ", ".join(f"{s.kind}..." for s in self._secrets)
        return f"Webhook([{kinds}], tolerance={self.tolerance}, max_body_bytes={self.max_body_bytes})"

    @property
    def can_sign(self) -> bool:
        """True when at least one secret is a whsec_ or whsk_ secret."""
        return bool(self._signers)

    # -- verification ----------------------------------------------------------------------------

    def verify(
        self, raw_body: bytes | str, headers: Headers, *, tolerance: int | None | _Default = _DEFAULT
    ) -> Event:
        """The typed event of a delivery whose signature and timestamp check out.

        ``raw_body`` must be the bytes exactly as received (Flask ``request.get_data()``, Django
        ``request.body``, FastAPI ``await request.body()``). Raises ``WebhookVerificationError``.
        ``tolerance`` overrides the Webhook's for this call; ``tolerance=None`` skips the timestamp
        check, for a body you stored after verifying it (never for a live delivery: it accepts replays).
        """
        return self.verify_message(raw_body, headers, tolerance=tolerance)[1]

    def verify_message(
        self, raw_body: bytes | str, headers: Headers, *, tolerance: int | None | _Default = _DEFAULT
    ) -> tuple[str, Event]:
        """``verify``, also returning the delivery's ``webhook-id`` (the Standard Webhooks message
        id, what ``WebhookHandler`` de-duplicates on): ``(msg_id, event)``."""
        msg_id, body = self._checked_body(raw_body, headers, tolerance)
        try:
            event = _parse_event()(body, default_id=msg_id, error=_bad_event_error)
        except Exception as exc:
            raise _bad_event_error(body, exc) from None
        return msg_id, event

    def verify_raw(
        self, raw_body: bytes | str, headers: Headers, *, tolerance: int | None | _Default = _DEFAULT
    ) -> dict[str, Any]:
        """Like ``verify`` but returns the decoded JSON object, untyped."""
        msg_id, body = self._checked_body(raw_body, headers, tolerance)
        try:
            data = _json_loads()(body)
        except Exception as exc:
            raise WebhookVerificationError(_describe_bad_json(body, exc)) from None
        if not isinstance(data, dict):
            raise WebhookVerificationError(f"body is JSON but not an object (got {type(data).__name__})")
        return data

    def verify_signature(
        self, raw_body: bytes | str, headers: Headers, *, tolerance: int | None | _Default = _DEFAULT
    ) -> str:
        """Check signature, timestamp and size only; returns the message id. The body is not parsed."""
        return self._checked_body(raw_body, headers, tolerance)[0]

    def _checked_body(
        self, raw_body: object, headers: object, tolerance: int | None | _Default = _DEFAULT
    ) -> tuple[str, bytes]:
        if tolerance is _DEFAULT:
            tolerance = self.tolerance
        elif tolerance is not None and (
            isinstance(tolerance, bool) or not isinstance(tolerance, int) or tolerance < 0
        ):
            raise ParameterError("must be a whole number of seconds >= 0, or None", param="tolerance")
        try:
            return self._check(raw_body, headers, tolerance)
        except WebhookVerificationError:
            raise
        except Exception as exc:
            # Whatever odd object reached us, the caller sees one error type.
            raise WebhookVerificationError(
                f"could not read the delivery ({type(exc).__name__}); pass the raw body as bytes and the "
                "request headers as a mapping"
            ) from None

    def _check(self, raw_body: object, headers: object, tolerance: int | None) -> tuple[str, bytes]:
        body = raw_body if type(raw_body) is bytes else _body_bytes(raw_body)
        if len(body) > self.max_body_bytes:
            raise WebhookVerificationError(
                f"body is {len(body)} bytes, over the {self.max_body_bytes}-byte limit (max_body_bytes)"
            )
        msg_id, timestamp, signature = _signing_headers(headers)

        if not (0 < len(timestamp) <= _MAX_TIMESTAMP_DIGITS and timestamp.isascii() and timestamp.isdigit()):
            raise WebhookVerificationError(
                f"webhook-timestamp must be Unix seconds, digits only; got {_show(timestamp)}"
            )
        if tolerance is not None:
            now = self._now()
            if not _finite_number(now):
                # A clock reading NaN or infinity would pass or fail every comparison: fail closed.
                shown = repr(now) if isinstance(now, float) else type(now).__name__
                raise WebhookVerificationError(
                    f"this receiver's clock (now=) returned {shown}, not a finite Unix time: "
                    "cannot check webhook-timestamp, so the delivery is refused"
                )
            skew = now - int(timestamp)
            if not -tolerance <= skew <= tolerance:
                raise WebhookVerificationError(_describe_skew(skew, tolerance))
        if not 0 < len(msg_id) <= _MAX_ID_CHARS:
            raise WebhookVerificationError(f"webhook-id must be 1 to {_MAX_ID_CHARS} characters")

        head = f"{msg_id}.{timestamp}.".encode()
        expected: list[bytes] | None = None
        for version, value in _signature_items(signature):
            if version == "v1":
                if not self._hmac_keys:
                    continue
                if expected is None:
                    expected = [key.b64_signature(head, body) for key in self._hmac_keys]
                if value.isascii():
                    received = value.encode("ascii")
                    for candidate in expected:
                        if hmac.compare_digest(candidate, received):
                            return msg_id, body
                # A valid but non-canonical encoding (missing padding, say) of the right bytes.
                decoded = _b64decode_strict(value)
                if decoded is not None and len(decoded) == 32:
                    for candidate in expected:
                        if hmac.compare_digest(binascii.a2b_base64(candidate), decoded):
                            return msg_id, body
            elif version == "v1a":
                if self._public_keys and self._ed25519_matches(value, head + body):
                    return msg_id, body
        raise WebhookVerificationError(self._describe_mismatch(signature))

    def _ed25519_matches(self, value: str, signed: bytes) -> bool:
        decoded = _b64decode_strict(value)
        if decoded is None or len(decoded) != 64:
            return False
        invalid = _invalid_signature()
        for key in self._public_keys:
            try:
                key.verify(decoded, signed)
            except invalid:
                continue
            return True
        return False

    def _describe_mismatch(self, signature: str) -> str:
        versions: dict[str, int] = {}
        malformed = 0
        for version, value in _signature_items(signature):
            if not version:
                continue
            if not value:
                malformed += 1
                continue
            versions[version] = versions.get(version, 0) + 1
            if version in ("v1", "v1a"):
                raw = _b64decode_strict(value)
                if raw is None or len(raw) != (32 if version == "v1" else 64):
                    malformed += 1
        usable = versions.get("v1", 0) * bool(self._hmac_keys) + versions.get("v1a", 0) * bool(
            self._public_keys
        )
        kinds = f"{len(self._secrets)} secret(s): " + ", ".join(s.kind for s in self._secrets)
        if not versions and malformed:
            return (
                "webhook-signature is malformed: expected space-separated 'v1,<base64>' or "
                f"'v1a,<base64>' items ({malformed} item(s) unreadable)"
            )
        if not usable:
            seen = ", ".join(sorted(versions)) or "none"
            return (
                f"no signature this Webhook can check: the delivery carries version(s) {seen}, and this "
                f"Webhook has {kinds} (whsec_ checks v1, whpk_/whsk_ check v1a). Is this the endpoint's "
                "current secret, of the right kind?"
            )
        detail = f"checked {usable} signature(s) against {kinds}"
        if malformed:
            detail += f"; {malformed} signature item(s) were not valid base64 of the right length"
        return f"no signature matched ({detail}): {_MISMATCH_HINT}"

    # -- signing ---------------------------------------------------------------------------------

    def sign(self, msg_id: str, timestamp: int | dt.datetime, raw_body: bytes | str) -> str:
        """The ``webhook-signature`` value for a message: ``v1,...`` for each whsec_ secret and
        ``v1a,...`` for each whsk_ secret, space-separated. ``timestamp`` is Unix seconds or an aware
        datetime."""
        if not self._signers:
            raise ParameterError(
                "cannot sign with only whpk_ (public) keys; use the whsk_ signing key or a whsec_ secret",
                param="secret",
            )
        if not isinstance(msg_id, str) or not 0 < len(msg_id) <= _MAX_ID_CHARS:
            raise ParameterError(f"must be a str of 1 to {_MAX_ID_CHARS} characters", param="msg_id")
        seconds = _timestamp_seconds(timestamp)
        try:
            body = _body_bytes(raw_body)
        except WebhookVerificationError as exc:
            raise ParameterError(str(exc), param="raw_body") from None
        signed = f"{msg_id}.{seconds}.".encode() + body
        parts = []
        for secret in self._signers:
            if secret.hmac_key is not None:
                parts.append("v1," + secret.hmac_key.b64_signature(signed).decode("ascii"))
            elif secret.private_key is not None:
                parts.append("v1a," + base64.b64encode(secret.private_key.sign(signed)).decode("ascii"))
        return " ".join(parts)

    def build_headers(
        self, msg_id: str, raw_body: bytes | str, *, timestamp: int | dt.datetime | None = None
    ) -> dict[str, str]:
        """``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` for a message, signed now
        (or at ``timestamp``)."""
        seconds = int(self._now()) if timestamp is None else _timestamp_seconds(timestamp)
        return {
            "webhook-id": msg_id,
            "webhook-timestamp": str(seconds),
            "webhook-signature": self.sign(msg_id, seconds, raw_body),
        }


_parse_event_function: _DeferredParse | None = None


class _DeferredParse(Protocol):
    def __call__(
        self,
        body: bytes,
        *,
        default_id: str = "",
        error: Callable[[bytes, Exception], Exception] | None = None,
    ) -> Event: ...


def _parse_event() -> _DeferredParse:
    """``types.event.parse_event_deferred``, imported on first use: pydantic stays out of
    ``import``. The envelope is read now, the event's other fields when first used."""
    global _parse_event_function
    if _parse_event_function is None:
        from ..types.event import parse_event_deferred

        _parse_event_function = parse_event_deferred
    return _parse_event_function


def _bad_event_error(body: bytes, exc: Exception) -> WebhookVerificationError:
    """What a verified body whose fields do not validate raises, now or at their first use."""
    return WebhookVerificationError(_describe_bad_event(body, exc))


_json_loads_function: Callable[[bytes], Any] | None = None


def _json_loads() -> Callable[[bytes], Any]:
    """pydantic-core's JSON parser (``from_json``; about twice as fast as ``json.loads`` on a
    webhook body, and it refuses lone surrogates), imported on first use like the models."""
    global _json_loads_function
    if _json_loads_function is None:
        from pydantic_core import from_json

        _json_loads_function = from_json
    return _json_loads_function


def _invalid_signature() -> type[Exception]:
    from cryptography.exceptions import InvalidSignature

    return InvalidSignature


def _body_bytes(raw_body: object) -> bytes:
    if isinstance(raw_body, bytes):
        return raw_body
    if isinstance(raw_body, str):
        try:
            return raw_body.encode("utf-8")
        except UnicodeEncodeError:
            raise WebhookVerificationError("body str is not encodable as UTF-8 (lone surrogates)") from None
    if isinstance(raw_body, (bytearray, memoryview)):
        return bytes(raw_body)
    raise WebhookVerificationError(
        f"body must be the raw bytes (or str) as received, not {type(raw_body).__name__}"
    )


def _timestamp_seconds(timestamp: object) -> int:
    if isinstance(timestamp, dt.datetime):
        if timestamp.tzinfo is None or timestamp.utcoffset() is None:
            raise ParameterError(
                "must be an aware datetime (e.g. datetime.now(timezone.utc)) or Unix seconds; "
                "a naive datetime is ambiguous",
                param="timestamp",
            )
        seconds = math.floor(timestamp.timestamp())
    elif isinstance(timestamp, int) and not isinstance(timestamp, bool):
        seconds = timestamp
    else:
        raise ParameterError(
            f"must be Unix seconds (int) or an aware datetime, not {type(timestamp).__name__}",
            param="timestamp",
        )
    if seconds < 0:
        raise ParameterError("must not be before 1970", param="timestamp")
    return seconds


_NOT_DRIFT = 86_400
"""A skew above this many seconds (a day) is no clock drift: some clock is not real time."""


def _describe_skew(skew: float, tolerance: int) -> str:
    seconds = round(abs(skew))
    if seconds > _NOT_DRIFT:
        days = seconds / 86_400
        span = f"{seconds} s ({days:.0f} days)" if days >= 2 else f"{seconds} s (over a day)"
        head = f"webhook-timestamp is {span} in the {'past' if skew > 0 else 'future'}, beyond the "
        if skew < 0:
            cause = (
                "the sender signs with a clock that is not real time (one that was advanced?), or this "
                "receiver's clock was set back (a Webhook(..., now=...) frozen in the past?)"
            )
        else:
            cause = (
                "the sender signs with a clock that is not real time, this receiver's clock was "
                "advanced (a Webhook(..., now=...) in a test?), or this is an old delivery replayed"
            )
        return (
            f"{head}{tolerance} s tolerance: far more than clock drift; {cause}. The yangguang sandbox "
            "signs with the real send time, however far its test clock was moved."
        )
    if skew > 0:
        return (
            f"webhook-timestamp is {seconds} s in the past, beyond the {tolerance} s tolerance: a replayed "
            "or long-delayed delivery, or clock skew (is this server's clock right? check NTP)"
        )
    return (
        f"webhook-timestamp is {seconds} s in the future, beyond the {tolerance} s tolerance: clock skew "
        "between the sender and this server (check NTP on this machine)"
    )


def _not_utf8(body: bytes) -> str | None:
    """What is wrong with a body that is not UTF-8 text, None when it is."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"body is not UTF-8 text (bad byte at position {exc.start})"
    return None


def _describe_bad_json(body: bytes, exc: Exception) -> str:
    problem = _not_utf8(body)
    if problem is not None:
        return problem
    if isinstance(exc, ValueError) and str(exc) and len(str(exc)) <= 120:
        return f"body is not valid JSON: {exc}"  # pydantic-core's parser: what, at line and column
    return f"body is not valid JSON ({type(exc).__name__})"


def _describe_bad_event(body: bytes, exc: Exception) -> str:
    problem = _not_utf8(body)
    if problem is not None:
        return problem
    errors = getattr(exc, "errors", None)
    if callable(errors):
        try:
            details = errors(include_url=False, include_input=False, include_context=False)
        except Exception:
            details = []
        if details and details[0].get("type") == "json_invalid":
            return "body is not valid JSON"
        shown = "; ".join(
            f"{'.'.join(str(p) for p in d.get('loc', ())) or '(body)'}: {d.get('msg', '')}"
            for d in details[:3]
        )
        more = f" (+{len(details) - 3} more)" if len(details) > 3 else ""
        return f"the signature is valid but the body is not a yangguang event: {shown}{more}"
    return f"the signature is valid but the body is not a yangguang event ({type(exc).__name__})"


# -- helpers --------------------------------------------------------------------------------------


def generate_hmac_secret() -> str:
    """A new ``whsec_`` secret: base64 of 32 random bytes."""
    return HMAC_PREFIX + base64.b64encode(os.urandom(32)).decode("ascii")


def generate_ed25519_keypair() -> tuple[str, str]:
    """A new Ed25519 key pair ``(whsk_..., whpk_...)``: sign with the first, verify with the second."""
    from cryptography.hazmat.primitives import serialization

    private = _ed25519().Ed25519PrivateKey.generate()
    seed = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    public = private.public_key().public_bytes_raw()
    return (
        ED25519_SECRET_PREFIX + base64.b64encode(seed + public).decode("ascii"),
        ED25519_PUBLIC_PREFIX + base64.b64encode(public).decode("ascii"),
    )


def build_headers(
    secret_or_secrets: str | Sequence[str] | Webhook,
    msg_id: str,
    raw_body: bytes | str,
    *,
    timestamp: int | dt.datetime | None = None,
) -> dict[str, str]:
    """The three Standard Webhooks headers for a message, signed with a whsec_/whsk_ secret."""
    webhook = secret_or_secrets if isinstance(secret_or_secrets, Webhook) else Webhook(secret_or_secrets)
    return webhook.build_headers(msg_id, raw_body, timestamp=timestamp)
