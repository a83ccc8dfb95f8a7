"""Webhook delivery from the sandbox insurer (DESIGN §5, §7.2): endpoints, signed attempts, retries.

``DeliveryWorker`` is the only part of the sandbox that makes HTTP calls of its own. It subscribes
to the engine's events; for each event and each enabled endpoint subscribed to its type it schedules
attempt 1 at the event's time on the tenant's clock, as *deferred work* of the engine in the
endpoint's lane. An attempt POSTs the event exactly as stored (what ``GET /v1/events/{id}``
returns) as raw JSON, signed per Standard Webhooks with the endpoint's keys: ``webhook-id`` is the
event id and ``webhook-timestamp`` the **real (wall-clock) send time**, so a receiver in any process
verifies it with the default tolerance however far the tenant's clock was moved; the body keeps the
event's own time.

- Only a 2xx answer is a success. After a failure the next attempt comes ``RETRY_SCHEDULE`` later
  on the tenant's clock (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h: ten attempts in all),
  or after the receiver's ``Retry-After`` seconds when that is longer (capped at 24 h).
- 410 Gone disables the endpoint at once; a failed tenth attempt disables it too. Disabling drops
  the endpoint's pending retries and records a ``webhook_endpoint.disabled`` event (which other
  endpoints receive; the disabled one does not).
- Every attempt is recorded (``list_attempts``). ``redeliver`` starts a new chain of attempts for
  an event, same id, to each enabled endpoint subscribed to it. Deleting an endpoint stops its
  pending retries.
- ``enable`` turns a disabled endpoint back on (``webhook_endpoint.enabled``); ``recover`` starts a
  chain for every event of a window the endpoint subscribes to with no successful attempt to it;
  ``send_test`` records a ``webhook_endpoint.test`` event and starts a chain to that endpoint only
  (test events are never sent to the other endpoints, nor recovered). All are deferred work in the
  endpoint's lane, like every attempt.
- Ed25519 endpoints (the default) sign with a ``whsk_`` key the sandbox keeps and show the ``whpk_``
  public key as ``secret`` once; HMAC endpoints keep and show a ``whsec_`` secret. After
  ``rotate_secret`` the old key keeps signing beside the new one for ``ROTATION_GRACE`` (24 clock
  hours): ``webhook-signature`` then carries both signatures.

**Deliveries never hold the engine.** Attempts are made outside the engine's lock, concurrently
across endpoints and in order within one endpoint (its lane), each bounded by a *total* deadline of
``timeout`` seconds (10 by default: connecting, sending, the status line, headers and the answer
together; a receiver that dribbles one byte every few seconds is cut off at the deadline). The
outcome is then recorded under the lock at the attempt's due time. Two modes:

- *inline* (the default, an embedded ``Sandbox``): the API call that emitted an event makes its
  first attempts right after releasing the lock, before it returns, so in-process tests stay
  deterministic; ``advance`` lives through attempts and retries in its window in time order.
- *background* (``background=True``, a served sandbox): an executor thread claims due attempts of
  every tenant and makes them on a pool of threads; no API call waits for a receiver. ``advance``
  still waits (up to 30 s) for the attempts due in its window.

Endpoints (with their keys), attempts and pending attempts live in the engine's store, so a
sandbox reopened (or another worker process on the same PostgreSQL) carries on where it stopped.
An injected ``transport`` (which may run the receiver in the calling thread, as
``httpx.WSGITransport`` does) is called in a thread of its own that the worker stops waiting for
at the deadline.
"""

from __future__ import annotations

import contextvars
import dataclasses
import datetime as dt
import functools
import json
import math
import threading
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from .._logs import get_logger
from .._version import __version__
from ..types.event import EVENT_TYPES
from ..types.webhook_endpoint import WebhookEndpointCreateParams, WebhookEndpointRecoverParams
from ..webhooks import Webhook, generate_ed25519_keypair, generate_hmac_secret
from . import clock as clock_module
from .clock import UTC, format_ts, parse_ts
from .engine import Engine, render
from .errors import Conflict, Invalid, NotFound, SandboxError, validated
from .store import Timer
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
"""Seconds an attempt may take in all (connect, send, answer) before it counts as failed."""
USER_AGENT = f"yangguang-sandbox/{__version__}"
ATTEMPT_HOOK = "webhook_attempt"
"""The kind of the engine hook timers that make attempts."""

_ENDPOINTS = "webhook_endpoints"
_ATTEMPTS = "webhook_attempts"
_RESPONSE_EXCERPT = 500
"""Characters of a receiver's answer kept in the attempt record, for debugging."""
_JOIN_MARGIN = 0.5
"""Seconds granted beyond the deadline to an injected transport before the worker stops waiting."""
_POOL_SIZE = 32
"""Attempts in flight at once (each to a different endpoint)."""
_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "yangguang_delivery_deadline", default=None
)
"""The ``time.monotonic()`` by which the current thread's attempt must be over."""

Json = dict[str, Any]
_TEST_EVENT = "webhook_endpoint.test"


@dataclass(frozen=True)
class _Outcome:
    status_code: int | None = None
    error: str | None = None
    retry_after: dt.timedelta | None = None
    response: str | None = None
    duration_ms: int | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True)
class _Job:
    """One attempt as prepared under the lock: where it goes and what it sends."""

    endpoint_id: str
    url: str
    event_id: str
    event_type: str
    keys: tuple[str, ...]
    body: bytes


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

    ``transport``: the httpx transport attempts go through; by default real HTTP (environment
    proxies ignored, redirects never followed). For a receiver in the same process pass e.g.
    ``httpx.WSGITransport(app=handler.wsgi_app)`` or ``SyncASGITransport(asgi_app)`` (a sync
    transport). ``timeout``: the total deadline of one attempt, in seconds. ``background``: make
    attempts on an executor thread instead of in the calling thread after each API call.
    ``allow_private_endpoints``: False refuses endpoints on loopback, private, link-local, ... hosts,
    at registration and at every connection (``urls.py``); an injected transport is used as given.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        background: bool = False,
        allow_private_endpoints: bool = True,
    ) -> None:
        self.engine = engine
        self.timeout = timeout
        self.allow_private_endpoints = allow_private_endpoints
        self._in_process = transport is not None
        self._http = httpx.Client(
            transport=transport
            if transport is not None
            else guarded_transport(allow_private=allow_private_endpoints, wrap=_DeadlineBackend),
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
            headers={"user-agent": USER_AGENT},
        )
        self._pool = ThreadPoolExecutor(_POOL_SIZE, thread_name_prefix="yangguang-webhook")
        self.background = background
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._in_flight = 0
        self._slots = threading.Condition()
        self._executor: threading.Thread | None = None
        engine.add_deferred_hook(ATTEMPT_HOOK, self._run)
        engine.subscribe(self._on_event)
        engine.on_deferred(self._on_due)
        if background:
            self._executor = threading.Thread(
                target=self._execute, name="yangguang-webhook-executor", daemon=True
            )
            self._executor.start()

    def close(self) -> None:
        """Stop the executor (attempts in flight finish or reach their deadline) and the client."""
        self._stop.set()
        self._wake.set()
        if self._executor is not None:
            self._executor.join()
            self._executor = None
        self._pool.shutdown(wait=True)
        self._http.close()

    def run_due(self) -> int:
        """Make every attempt due by the tenants' clocks now, in this thread (waiting for them);
        returns how many were made. Useful after a real-time clock passed a retry's time."""
        return self.engine.run_deferred()

    # -- endpoints -----------------------------------------------------------------------------

    def create_endpoint(self, tenant: str, params: WebhookEndpointCreateParams | Mapping[str, Any]) -> Json:
        """Register a URL; the answer carries ``secret``, shown this once."""
        p = validated(WebhookEndpointCreateParams, params)
        unknown = [e for e in p.events if e not in EVENT_TYPES]
        if unknown:
            raise Invalid(
                "invalid_parameter",
                f"unknown event type {unknown[0]!r}; known types: {', '.join(EVENT_TYPES)}",
                param="events",
            )
        _check_url(p.url, allow_private=self.allow_private_endpoints)
        key, secret = _new_key(p.signing)
        with self.engine.atomic(tenant):
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
                "created_at": format_ts(self.engine.now(tenant)),
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
        with self.engine.atomic(tenant):
            record = self._load(tenant, endpoint_id)
            self.engine.delete_record(_ENDPOINTS, tenant, endpoint_id)
            self.engine.cancel_hooks(tenant, endpoint_id)
        return {**render(record), "deleted": True}

    def rotate_secret(self, tenant: str, endpoint_id: str) -> Json:
        """A new key (its secret shown this once); the current one signs beside it for 24 h."""
        with self.engine.atomic(tenant):
            record = self._load(tenant, endpoint_id)
            now = self.engine.now(tenant)
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
        with self.engine.atomic(tenant):
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
        with self.engine.atomic(tenant):
            event = self.engine.get_event(tenant, event_id)
            for endpoint in self._subscribed(tenant, event["type"]):
                self._schedule(tenant, endpoint["id"], event_id, 1, self.engine.now(tenant), redelivery=True)
        return event

    def enable(self, tenant: str, endpoint_id: str) -> Json:
        """Enable a disabled endpoint again (its failure state cleared: the next event starts a new
        chain of ten attempts) and record ``webhook_endpoint.enabled``; an enabled one is returned
        as it is. Events missed while it was disabled are not resent: ``recover`` does that."""
        with self.engine.atomic(tenant):
            record = self._load(tenant, endpoint_id)
            if record["status"] != "enabled":
                record.update(status="enabled", disabled_reason=None, disabled_at=None)
                self.engine.put_record(_ENDPOINTS, tenant, endpoint_id, record)
                self.engine.record_event(tenant, "webhook_endpoint.enabled", render(record))
        return render(record)

    def recover(
        self, tenant: str, endpoint_id: str, params: WebhookEndpointRecoverParams | Mapping[str, Any]
    ) -> Json:
        """Send again, as redeliveries in the endpoint's lane, every event from ``since`` (inclusive)
        to ``until`` (exclusive; now if None) that the endpoint subscribes to and that has no
        successful attempt to it. Returns how many were scheduled."""
        p = validated(WebhookEndpointRecoverParams, params)
        since, until = p.since.astimezone(UTC), None if p.until is None else p.until.astimezone(UTC)
        if until is not None and until <= since:
            raise Invalid("invalid_parameter", "until must be after since", param="until")
        with self.engine.atomic(tenant):
            endpoint = self._load(tenant, endpoint_id)
            if endpoint["status"] != "enabled":
                raise Conflict(
                    "endpoint_disabled",
                    f"webhook endpoint {endpoint_id} is disabled: enable it first, then recover",
                )
            delivered = {
                attempt["event_id"]
                for attempt in self.engine.scan_records(
                    _ATTEMPTS, tenant, equals={"endpoint_id": endpoint_id}
                )
                if attempt["succeeded"]
            }
            wanted = set(endpoint["events"])
            now = self.engine.now(tenant)
            recovered = 0
            for event in self._events_between(tenant, since, until):
                if event["type"] == _TEST_EVENT or event["id"] in delivered:
                    continue
                if wanted and event["type"] not in wanted:
                    continue
                self._schedule(tenant, endpoint_id, event["id"], 1, now, redelivery=True)
                recovered += 1
        return {
            "object": "webhook_recovery",
            "endpoint_id": endpoint_id,
            "since": format_ts(since),
            "until": None if until is None else format_ts(until),
            "recovered": recovered,
        }

    def send_test(self, tenant: str, endpoint_id: str) -> Json:
        """Record a ``webhook_endpoint.test`` event (its ``data`` the endpoint) and deliver it now
        to this endpoint only, whatever it subscribes to. Returns the event."""
        with self.engine.atomic(tenant):
            endpoint = self._load(tenant, endpoint_id)
            if endpoint["status"] != "enabled":
                raise Conflict(
                    "endpoint_disabled",
                    f"webhook endpoint {endpoint_id} is disabled: enable it first, then send a test",
                )
            event = self.engine.record_event(tenant, _TEST_EVENT, render(endpoint))
            self._schedule(tenant, endpoint_id, event["id"], 1, self.engine.now(tenant), redelivery=False)
        return event

    def _events_between(self, tenant: str, since: dt.datetime, until: dt.datetime | None) -> Iterable[Json]:
        cursor: str | None = None
        while True:
            page = self.engine.list_events(tenant, created_gte=since, limit=100, starting_after=cursor)
            for event in page["data"]:
                if until is not None and parse_ts(event["timestamp"]) >= until:
                    return
                yield event
            if not page["has_more"]:
                return
            cursor = page["data"][-1]["id"]

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
        """Engine subscriber: schedule attempt 1, at the event's time, for each endpoint that wants it
        (a test event goes only where ``send_test`` sends it)."""
        if event["type"] == _TEST_EVENT:
            return
        at = parse_ts(event["timestamp"])
        with self.engine.atomic(tenant):
            for endpoint in self._subscribed(tenant, event["type"]):
                self._schedule(tenant, endpoint["id"], event["id"], 1, at, redelivery=False)

    def _schedule(
        self, tenant: str, endpoint_id: str, event_id: str, attempt: int, at: dt.datetime, *, redelivery: bool
    ) -> None:
        payload = {
            "endpoint_id": endpoint_id,
            "event_id": event_id,
            "attempt": attempt,
            "redelivery": redelivery,
        }
        self.engine.schedule_hook(tenant, ATTEMPT_HOOK, at, payload, ref=endpoint_id, lane=endpoint_id)

    def _on_due(self, tenant: str) -> None:
        """Engine listener: a call scheduled attempts due now. Inline, make them before the call
        returns; in the background, wake the executor."""
        if self.background:
            self._wake.set()
        else:
            self.engine.run_deferred(tenant)

    def _execute(self) -> None:
        """The background executor: claim due attempts of every tenant and make each on the pool."""
        while not self._stop.is_set():
            with self._slots:
                while self._in_flight >= _POOL_SIZE and not self._stop.is_set():
                    self._slots.wait(0.5)
                free = _POOL_SIZE - self._in_flight
            try:
                claimed = self.engine.claim_deferred(limit=free)
            except Exception:  # the store went away (closing) or a transient database error
                logger.exception("webhook executor could not claim attempts")
                claimed = []
            for timer in claimed:
                with self._slots:
                    self._in_flight += 1
                self._pool.submit(self._run_one, timer)
            if not claimed:
                self._wake.wait(0.25)
                self._wake.clear()

    def _run_one(self, timer: Timer) -> None:
        try:
            self._run([timer])
        except Exception:
            logger.exception("webhook attempt failed to run")
        finally:
            with self._slots:
                self._in_flight -= 1
                self._slots.notify()
            self._wake.set()  # the lane's next attempt may be due

    def _run(self, timers: list[Timer]) -> None:
        """Engine runner of claimed attempts: send them concurrently (one per endpoint), outside the
        lock, then record each outcome in order under the lock at its due time."""
        prepared = [self._prepare(timer) for timer in timers]
        if len(prepared) == 1:
            outcomes = [self._deliver(prepared[0])]
        else:
            outcomes = list(self._pool.map(self._deliver, prepared))
        for timer, job, outcome in zip(timers, prepared, outcomes, strict=True):
            self.engine.complete(timer, functools.partial(self._record, job=job, outcome=outcome))

    def _prepare(self, timer: Timer) -> _Job | None:
        """What one attempt sends (None: the endpoint was deleted or disabled, or the event is gone)."""
        tenant, payload = timer.tenant, timer.data["payload"]
        endpoint = self.engine.get_record(_ENDPOINTS, tenant, payload["endpoint_id"])
        if endpoint is None or endpoint["status"] != "enabled":
            return None
        try:
            event = self.engine.get_event(tenant, payload["event_id"])
        except SandboxError:
            return None
        at = clock_module.from_micros(timer.due)
        keys = tuple(
            entry["key"]
            for entry in endpoint["_keys"]
            if entry["expires_at"] is None or parse_ts(entry["expires_at"]) > at
        )
        body = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return _Job(endpoint["id"], endpoint["url"], event["id"], event["type"], keys, body)

    def _deliver(self, job: _Job | None) -> _Outcome | None:
        """Sign at the real send time and POST, within the total deadline."""
        if job is None:
            return None
        started = time.monotonic()
        outcome = self._send(job)
        return dataclasses.replace(outcome, duration_ms=round((time.monotonic() - started) * 1000))

    def _send(self, job: _Job) -> _Outcome:
        sent = dt.datetime.fromtimestamp(int(clock_module.wall()), UTC)
        headers = _signer(job.keys).build_headers(job.event_id, job.body, timestamp=sent)
        headers["content-type"] = "application/json"
        if not self._in_process:
            return self._exchange(job, headers)
        # An injected transport may run the receiver in this very thread (WSGI, mocks), where no
        # socket deadline applies: run it in a thread of its own and stop waiting at the deadline.
        done: list[_Outcome] = []
        thread = threading.Thread(
            target=lambda: done.append(self._exchange(job, headers)),
            name="yangguang-webhook-delivery",
            daemon=True,
        )
        thread.start()
        thread.join(self.timeout + _JOIN_MARGIN)
        return done[0] if done else _Outcome(error=f"timeout: no answer within {self.timeout:g} s")

    def _record(self, tenant: str, payload: Json, *, job: _Job | None, outcome: _Outcome | None) -> None:
        """Under the lock at the attempt's due time: record it, and schedule the next attempt or
        disable the endpoint."""
        if job is None or outcome is None:
            return
        engine = self.engine
        endpoint = engine.get_record(_ENDPOINTS, tenant, job.endpoint_id)
        if endpoint is None or endpoint["status"] != "enabled":
            return  # deleted or disabled while the attempt was in flight: the chain ends
        now = engine.now(tenant)
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
                "event_id": job.event_id,
                "event_type": job.event_type,
                "endpoint_id": job.endpoint_id,
                "url": job.url,
                "attempt": number,
                "redelivery": bool(payload.get("redelivery")),
                "at": format_ts(now),
                "status_code": outcome.status_code,
                "error": outcome.error,
                "succeeded": outcome.succeeded,
                "response": outcome.response,
                "duration_ms": outcome.duration_ms,
                "next_attempt_at": None if next_at is None else format_ts(next_at),
            },
        )
        if next_at is not None:
            self._schedule(
                tenant,
                job.endpoint_id,
                job.event_id,
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

    def _exchange(self, job: _Job, headers: dict[str, str]) -> _Outcome:
        """One POST within the total deadline, its outcome (a status or the reason there was none)."""
        token = _DEADLINE.set(time.monotonic() + self.timeout)
        try:
            with self._http.stream("POST", job.url, content=job.body, headers=headers) as response:
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
            logger.warning("webhook receiver for %s raised %s", job.endpoint_id, type(exc).__name__)
            return _Outcome(error=f"the receiver raised {type(exc).__name__}")
        finally:
            _DEADLINE.reset(token)


def _check_url(url: str, *, allow_private: bool) -> None:
    check_url(url, allow_private=allow_private)


# --- the total deadline of an attempt ------------------------------------------------------------
# httpx's timeouts bound each network operation, not the whole request: a receiver sending one byte
# every few seconds never trips them. The network backend below bounds every connect, read and write
# by what is left of the attempt's deadline (``_DEADLINE``, set per attempt in its thread).


def _left(timeout: float | None, error: type[Exception]) -> float | None:
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the attempt's deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(ssl_context, server_hostname, _left(timeout, httpcore.ConnectTimeout))
        return _DeadlineStream(inner)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(
            host, port, _left(timeout, httpcore.ConnectTimeout), local_address, socket_options
        )
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_unix_socket(
            path, _left(timeout, httpcore.ConnectTimeout), socket_options
        )
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)
