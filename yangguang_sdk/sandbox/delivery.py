"""Webhook delivery from the sandbox insurer (DESIGN §5): endpoints, signed attempts, retries.

``DeliveryWorker`` is the only part of the sandbox that makes HTTP calls of its own. It subscribes
to the engine's events; for each event and each enabled endpoint subscribed to its type it schedules
attempt 1 for *now* as a hook timer on the sandbox clock, so the call that emitted the event also
makes its first delivery before it returns. An attempt POSTs the event exactly as stored (what
``GET /v1/events/{id}`` returns) as raw JSON, signed per Standard Webhooks with the endpoint's keys
(``webhook-id`` is the event id, ``webhook-timestamp`` the sandbox clock at send time).

- Only a 2xx answer is a success. After a failure the next attempt comes ``RETRY_SCHEDULE`` later
  on the sandbox clock (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h: ten attempts in all),
  or after the receiver's ``Retry-After`` seconds when that is longer (capped at 24 h).
- 410 Gone disables the endpoint at once; a failed tenth attempt disables it too. Disabling drops
  the endpoint's pending retries and records a ``webhook_endpoint.disabled`` event (which other
  endpoints receive; the disabled one does not).
- Every attempt is recorded (``list_attempts``). ``redeliver`` starts a new chain of attempts for
  an event, same id, to each enabled endpoint subscribed to it. Deleting an endpoint stops its
  pending retries.
- Ed25519 endpoints (the default) sign with a ``whsk_`` key the sandbox keeps and show the ``whpk_``
  public key as ``secret`` once; HMAC endpoints keep and show a ``whsec_`` secret. After
  ``rotate_secret`` the old key keeps signing beside the new one for ``ROTATION_GRACE`` (24 clock
  hours): ``webhook-signature`` then carries both signatures.

Endpoints (with their keys), attempts and pending retries live in the engine's store, so a SQLite
sandbox reopened with a new worker carries on where it stopped.

Deliveries run inside the engine's lock: hooks are transitions of the clock, which is what lets one
``advance`` live through a whole retry schedule in order. A receiver that calls back into the same
sandbox while handling a delivery therefore waits for that lock until the delivery's timeout
(``DEFAULT_TIMEOUT``) ends it as a failed attempt; then its call goes through. Receivers should
acknowledge quickly and do their work, API calls included, afterwards. The timeout holds for every
transport: over the network httpx enforces it; an injected transport (which may run the receiver in
the calling thread, as ``httpx.WSGITransport`` does) is called in a thread of its own that the
worker stops waiting for.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from .._logs import get_logger
from .._version import __version__
from ..types.event import EVENT_TYPES
from ..types.webhook_endpoint import WebhookEndpointCreateParams
from ..webhooks import Webhook, generate_ed25519_keypair, generate_hmac_secret
from .clock import format_ts, parse_ts
from .engine import Engine, render
from .errors import Invalid, NotFound, SandboxError, validated
from .urls import check_url, guarded_transport

__all__ = [
    "ATTEMPT_HOOK",
    "DEFAULT_TIMEOUT",
    "DeliveryWorker",
    "MAX_RETRY_AFTER",
    "RETRY_SCHEDULE",
    "ROTATION_GRACE",
    "USER_AGENT",
]

logger = get_logger("yangguang_sdk.sandbox.delivery")

RETRY_SCHEDULE: tuple[dt.timedelta, ...] = (
    dt.timedelta(seconds=5),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
    dt.timedelta(hours=5),
    dt.timedelta(hours=10),
    dt.timedelta(hours=14),
    dt.timedelta(hours=20),
    dt.timedelta(hours=24),
)
"""Wait after failed attempt n before attempt n + 1, on the sandbox clock; attempt 1 is immediate."""
MAX_RETRY_AFTER = dt.timedelta(hours=24)
"""A receiver's ``Retry-After`` longer than this is honoured as this long."""
ROTATION_GRACE = dt.timedelta(hours=24)
"""How long a rotated-out key keeps signing beside the new one."""
DEFAULT_TIMEOUT = 10.0
"""Seconds an attempt may take (connect, send, answer) before it counts as failed."""
USER_AGENT = f"yangguang-sandbox/{__version__}"
ATTEMPT_HOOK = "webhook_attempt"
"""The kind of the engine hook timers that make attempts."""

_ENDPOINTS = "webhook_endpoints"
_ATTEMPTS = "webhook_attempts"
_RESPONSE_EXCERPT = 500
"""Characters of a receiver's answer kept in the attempt record, for debugging."""
_JOIN_MARGIN = 1.0
"""Seconds granted beyond the timeout to a transport that enforces the timeout itself."""

Json = dict[str, Any]


@dataclass(frozen=True)
class _Outcome:
    status_code: int | None = None
    error: str | None = None
    retry_after: dt.timedelta | None = None
    response: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _new_key(signing: str) -> tuple[str, str]:
    """(the key the sandbox signs with, the secret shown to the merchant)."""
    if signing == "hmac-sha256":
        secret = generate_hmac_secret()
        return secret, secret
    signing_key, public_key = generate_ed25519_keypair()
    return signing_key, public_key


def _retry_after(value: str | None) -> dt.timedelta | None:
    """``Retry-After`` in seconds (an HTTP date is ignored: it is on the receiver's clock, not the
    sandbox's)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return dt.timedelta(seconds=min(seconds, MAX_RETRY_AFTER.total_seconds()))


@functools.lru_cache(maxsize=256)
def _signer(keys: tuple[str, ...]) -> Webhook:
    return Webhook(list(keys))


class DeliveryWorker:
    """Delivers a sandbox engine's events to its tenants' webhook endpoints (module docstring).

    ``transport``: the httpx transport attempts go through; by default a plain ``httpx.Client``
    (real HTTP, environment proxies ignored). For a receiver in the same process pass e.g.
    ``httpx.WSGITransport(app=handler.wsgi_app)`` or ``SyncASGITransport(asgi_app)``: the engine
    calls hooks synchronously, so the transport must be a sync one. ``timeout``: seconds per attempt.
    ``allow_private_endpoints``: False refuses endpoints on loopback, private, link-local, ... hosts,
    at registration and at every connection (``urls.py``); an injected transport is used as given.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        allow_private_endpoints: bool = True,
    ) -> None:
        self.engine = engine
        self.timeout = timeout
        self.allow_private_endpoints = allow_private_endpoints
        self._in_process = transport is not None
        self._http = httpx.Client(
            transport=transport
            if transport is not None
            else guarded_transport(allow_private=allow_private_endpoints),
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
            headers={"user-agent": USER_AGENT},
        )
        engine.add_scheduled_hook(ATTEMPT_HOOK, self._attempt)
        engine.subscribe(self._on_event)

    def close(self) -> None:
        self._http.close()

    # -- endpoints -----------------------------------------------------------------------------

    def create_endpoint(self, tenant: str, params: WebhookEndpointCreateParams | Mapping[str, Any]) -> Json:
        """Register a URL; the answer carries ``secret``, shown this once."""
        p = validated(WebhookEndpointCreateParams, params)
        unknown = [e for e in p.events if e not in EVENT_TYPES]
        if unknown:
            raise Invalid(
                "invalid_request",
                f"unknown event type {unknown[0]!r}; known types: {', '.join(EVENT_TYPES)}",
                param="events",
            )
        _check_url(p.url, allow_private=self.allow_private_endpoints)
        key, secret = _new_key(p.signing)
        with self.engine.atomic():
            endpoint_id = self.engine.new_id(tenant, "whe")
            record: Json = {
                "object": "webhook_endpoint",
                "id": endpoint_id,
                "url": p.url,
                "events": list(dict.fromkeys(p.events)),
                "signing": p.signing,
                "status": "enabled",
                "disabled_reason": None,
                "disabled_at": None,
                "created_at": format_ts(self.engine.now()),
                "_keys": [{"key": key, "expires_at": None}],
            }
            self.engine.put_record(_ENDPOINTS, tenant, endpoint_id, record)
        return {**render(record), "secret": secret}

    def get_endpoint(self, tenant: str, endpoint_id: str) -> Json:
        return render(self._load(tenant, endpoint_id))

    def list_endpoints(self, tenant: str, *, limit: int = 20, starting_after: str | None = None) -> Json:
        return self.engine.list_records(_ENDPOINTS, tenant, limit=limit, starting_after=starting_after)

    def delete_endpoint(self, tenant: str, endpoint_id: str) -> Json:
        """Remove an endpoint; its pending retries are dropped. Its attempts stay recorded."""
        with self.engine.atomic():
            record = self._load(tenant, endpoint_id)
            self.engine.delete_record(_ENDPOINTS, tenant, endpoint_id)
            self.engine.cancel_hooks(tenant, endpoint_id)
        return {**render(record), "deleted": True}

    def rotate_secret(self, tenant: str, endpoint_id: str) -> Json:
        """A new key (its secret shown this once); the current one signs beside it for 24 h."""
        with self.engine.atomic():
            record = self._load(tenant, endpoint_id)
            now = self.engine.now()
            kept = []
            for entry in record["_keys"]:
                if entry["expires_at"] is None:
                    entry["expires_at"] = format_ts(now + ROTATION_GRACE)
                if parse_ts(entry["expires_at"]) > now:
                    kept.append(entry)
            key, secret = _new_key(record["signing"])
            record["_keys"] = [{"key": key, "expires_at": None}, *kept]
            self.engine.put_record(_ENDPOINTS, tenant, endpoint_id, record)
        return {**render(record), "secret": secret}

    def list_attempts(
        self,
        tenant: str,
        endpoint_id: str,
        *,
        event_id: str | None = None,
        limit: int = 20,
        starting_after: str | None = None,
    ) -> Json:
        """The endpoint's delivery attempts, oldest first (optionally those of one event)."""
        with self.engine.atomic():
            self._load(tenant, endpoint_id)
            equals = {"endpoint_id": endpoint_id}
            if event_id is not None:
                equals["event_id"] = event_id
            return self.engine.list_records(
                _ATTEMPTS, tenant, equals=equals, limit=limit, starting_after=starting_after
            )

    def redeliver(self, tenant: str, event_id: str) -> Json:
        """Send an event again, same id, to each enabled endpoint subscribed to its type (a new chain
        of attempts, numbered from 1). Returns the event."""
        with self.engine.atomic():
            event = self.engine.get_event(tenant, event_id)
            for endpoint in self._subscribed(tenant, event["type"]):
                self._schedule(tenant, endpoint["id"], event_id, 1, self.engine.now(), redelivery=True)
        return event

    def _load(self, tenant: str, endpoint_id: str) -> Json:
        record = self.engine.get_record(_ENDPOINTS, tenant, endpoint_id)
        if record is None:
            raise NotFound(f"No such webhook endpoint: {endpoint_id!r}")
        return record

    def _subscribed(self, tenant: str, event_type: str) -> list[Json]:
        endpoints = self.engine.scan_records(_ENDPOINTS, tenant, equals={"status": "enabled"})
        return [e for e in endpoints if not e["events"] or event_type in e["events"]]

    # -- delivery ------------------------------------------------------------------------------

    def _on_event(self, tenant: str, event: Json) -> None:
        """Engine subscriber: schedule attempt 1, now, for each endpoint that wants the event."""
        with self.engine.atomic():
            for endpoint in self._subscribed(tenant, event["type"]):
                self._schedule(tenant, endpoint["id"], event["id"], 1, self.engine.now(), redelivery=False)

    def _schedule(
        self, tenant: str, endpoint_id: str, event_id: str, attempt: int, at: dt.datetime, *, redelivery: bool
    ) -> None:
        payload = {
            "endpoint_id": endpoint_id,
            "event_id": event_id,
            "attempt": attempt,
            "redelivery": redelivery,
        }
        self.engine.schedule_hook(tenant, ATTEMPT_HOOK, at, payload, ref=endpoint_id)

    def _attempt(self, tenant: str, payload: Json) -> None:
        """Engine hook: make one attempt, record it, and schedule the next or disable the endpoint."""
        engine = self.engine
        endpoint = engine.get_record(_ENDPOINTS, tenant, payload["endpoint_id"])
        if endpoint is None or endpoint["status"] != "enabled":
            return  # deleted or disabled since: the chain ends
        try:
            event = engine.get_event(tenant, payload["event_id"])
        except SandboxError:
            return
        now = engine.now()
        body = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        outcome = self._send(endpoint, event["id"], body, now)
        number = int(payload["attempt"])
        next_at: dt.datetime | None = None
        disable: str | None = None
        if not outcome.succeeded:
            if outcome.status_code == 410:
                disable = "gone"
            elif number > len(RETRY_SCHEDULE):
                disable = "retries_exhausted"
            else:
                delay = RETRY_SCHEDULE[number - 1]
                if outcome.retry_after is not None:
                    delay = max(delay, outcome.retry_after)
                next_at = now + delay
        attempt_id = engine.new_id(tenant, "wha", sequence="webhook_attempts")
        engine.put_record(
            _ATTEMPTS,
            tenant,
            attempt_id,
            {
                "object": "delivery_attempt",
                "id": attempt_id,
                "event_id": event["id"],
                "event_type": event["type"],
                "endpoint_id": endpoint["id"],
                "url": endpoint["url"],
                "attempt": number,
                "redelivery": bool(payload.get("redelivery")),
                "at": format_ts(now),
                "status_code": outcome.status_code,
                "error": outcome.error,
                "succeeded": outcome.succeeded,
                "response": outcome.response,
                "next_attempt_at": None if next_at is None else format_ts(next_at),
            },
        )
        if next_at is not None:
            self._schedule(
                tenant,
                endpoint["id"],
                event["id"],
                number + 1,
                next_at,
                redelivery=bool(payload.get("redelivery")),
            )
        if disable is not None:
            self._disable(tenant, endpoint, disable, now)

    def _disable(self, tenant: str, endpoint: Json, reason: str, now: dt.datetime) -> None:
        endpoint.update(status="disabled", disabled_reason=reason, disabled_at=format_ts(now))
        self.engine.put_record(_ENDPOINTS, tenant, endpoint["id"], endpoint)
        self.engine.cancel_hooks(tenant, endpoint["id"])
        logger.warning("webhook endpoint %s disabled (%s)", endpoint["id"], reason)
        self.engine.record_event(tenant, "webhook_endpoint.disabled", render(endpoint))

    def _send(self, endpoint: Json, event_id: str, body: bytes, now: dt.datetime) -> _Outcome:
        keys = tuple(
            entry["key"]
            for entry in endpoint["_keys"]
            if entry["expires_at"] is None or parse_ts(entry["expires_at"]) > now
        )
        headers = _signer(keys).build_headers(event_id, body, timestamp=now)
        headers["content-type"] = "application/json"
        if not self._in_process:
            return self._exchange(endpoint, body, headers)
        # An injected transport may run the receiver in this very thread (WSGI, mocks), where no
        # socket timeout applies: run it in a thread of its own and stop waiting after the timeout.
        done: list[_Outcome] = []
        thread = threading.Thread(
            target=lambda: done.append(self._exchange(endpoint, body, headers)),
            name="yangguang-webhook-delivery",
            daemon=True,
        )
        thread.start()
        thread.join(self.timeout + _JOIN_MARGIN)
        return done[0] if done else _Outcome(error=f"timeout: no answer within {self.timeout:g} s")

    def _exchange(self, endpoint: Json, body: bytes, headers: dict[str, str]) -> _Outcome:
        """One POST, its outcome (a status or the reason there was none)."""
        try:
            with self._http.stream("POST", endpoint["url"], content=body, headers=headers) as response:
                excerpt = bytearray()
                for chunk in response.iter_bytes():
                    excerpt += chunk
                    if len(excerpt) >= _RESPONSE_EXCERPT:
                        break
                return _Outcome(
                    status_code=response.status_code,
                    retry_after=_retry_after(response.headers.get("retry-after")),
                    response=excerpt[:_RESPONSE_EXCERPT].decode("utf-8", "replace") or None,
                )
        except httpx.TimeoutException:
            return _Outcome(error=f"timeout: no answer within {self.timeout:g} s")
        except httpx.ConnectError as exc:
            return _Outcome(error=f"connection failed: {exc}" if str(exc) else "connection failed")
        except httpx.HTTPError as exc:
            return _Outcome(error=f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        except Exception as exc:  # an in-process receiver that raised
            logger.warning("webhook receiver for %s raised %s", endpoint["id"], type(exc).__name__)
            return _Outcome(error=f"the receiver raised {type(exc).__name__}")


def _check_url(url: str, *, allow_private: bool) -> None:
    check_url(url, allow_private=allow_private)
