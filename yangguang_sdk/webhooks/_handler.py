"""``WebhookHandler``: verify a delivery, run its event's function once, answer the insurer.

The answer is 2xx only after the function succeeded; anything else makes the insurer deliver again
later. An inbox (memory, SQLite, PostgreSQL) remembers which events are done, so a redelivered or
duplicated event does not run its function twice. Ready-made ASGI and WSGI apps need no framework.
"""

from __future__ import annotations

import asyncio
import difflib
import http
import inspect
import json
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import TYPE_CHECKING, Any, TypeVar

from .._logs import RedactingFilter, get_logger
from ..errors import ParameterError, WebhookVerificationError
from ._inbox import DEFAULT_LEASE_SECONDS, Inbox, MemoryInbox
from ._signing import Headers, Webhook

if TYPE_CHECKING:
    from ..types.event import Event

__all__ = ["WebhookHandler", "CATCH_ALL", "LOGGER_NAME"]

LOGGER_NAME = "yangguang_sdk.webhooks"
CATCH_ALL = "*"
"""``handler.on("*")`` receives every event type that has no function of its own."""

F = TypeVar("F", bound=Callable[..., Any])
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class _Job:
    """A verified, claimed event, its claim's token and key, and the function to run on it."""

    __slots__ = ("event", "function", "key", "token", "lost", "finished", "lock")

    def __init__(self, event: Event, function: Callable[[Event], Any], key: str, token: str) -> None:
        self.event = event
        self.function = function
        self.key = key  # the webhook-id the inbox de-duplicates on
        self.token = token
        self.lost = False  # a renewal found the claim taken over
        self.finished = False  # the function returned: no renewal from now on
        self.lock = threading.Lock()  # held by a renewal, and to set ``finished``

    def finish(self) -> None:
        """Stop renewing; waits for a renewal in progress, so none runs after this returns."""
        with self.lock:
            self.finished = True


class _Renewer:
    """One thread renewing the leases of the sync functions running in a handler, each every
    lease/3; it exits as soon as no function runs, and is started again by the next one."""

    def __init__(self, renew: Callable[[_Job], bool], interval: float) -> None:
        self._renew = renew
        self._interval = interval
        self._due: dict[_Job, float] = {}
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    def add(self, job: _Job) -> None:
        if os.getpid() != self._pid:
            # A forked worker (gunicorn --preload): the parent's thread does not exist here.
            self._due, self._wake, self._thread, self._pid = {}, threading.Condition(), None, os.getpid()
        with self._wake:
            self._due[job] = time.monotonic() + self._interval
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="yangguang-lease-renewer", daemon=True)
                self._thread.start()

    def remove(self, job: _Job) -> None:
        job.finish()
        with self._wake:
            self._due.pop(job, None)
            if not self._due:
                self._wake.notify()  # the thread exits now rather than at its next due time

    def _run(self) -> None:
        while True:
            with self._wake:
                if not self._due:
                    self._thread = None
                    return
                now = time.monotonic()
                due = [job for job, at in self._due.items() if at <= now]
                if not due:
                    self._wake.wait(min(self._due.values()) - now)
                    continue
                for job in due:
                    self._due[job] = now + self._interval
            for job in due:
                with job.lock:
                    renewed = job.finished or self._renew(job)
                if not renewed:
                    with self._wake:
                        self._due.pop(job, None)


def _json(status: int, payload: dict[str, Any]) -> tuple[int, bytes]:
    return status, json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _error(status: int, kind: str, message: str) -> tuple[int, bytes]:
    return _json(status, {"error": {"type": kind, "message": message}})


class WebhookHandler:
    """Receives the insurer's webhooks: verifies, de-duplicates, dispatches by event type.

        handler = WebhookHandler(Webhook(secret), inbox=SQLiteInbox("inbox.db"))

        @handler.on("claim.paid")
        def paid(event): ...

        status, body = handler.handle(raw_body, headers)   # or mount handler.asgi_app / wsgi_app

    Answers: 200 when the function succeeded, the event was already done, or no function is
    registered for its type (it is marked done); 400 when verification failed; 409 while another
    worker holds the event; 500 when the function raised (the event stays undone and the insurer
    retries); 503 when the inbox is unavailable.
    """

    def __init__(
        self, webhook: Webhook, *, inbox: Inbox | None = None, logger: logging.Logger | None = None
    ) -> None:
        if not isinstance(webhook, Webhook):
            raise ParameterError("must be a yangguang_sdk.webhooks.Webhook", param="webhook")
        self.webhook = webhook
        self.inbox: Inbox = inbox if inbox is not None else MemoryInbox()
        self.logger = logger if logger is not None else get_logger(LOGGER_NAME)
        if not any(isinstance(f, RedactingFilter) for f in self.logger.filters):
            self.logger.addFilter(RedactingFilter())
        self._functions: dict[str, Callable[[Event], Any]] = {}
        self._renewer = _Renewer(self._renew, _lease_of(self.inbox) / 3)

    def __repr__(self) -> str:
        return f"WebhookHandler(types={sorted(self._functions)}, inbox={self.inbox!r})"

    # -- registration ----------------------------------------------------------------------------

    def on(self, *event_types: str, strict: bool = True) -> Callable[[F], F]:
        """Register the decorated function for these event types (``"*"``: every other type).

        A type this SDK does not know is refused as a likely typo unless ``strict=False``. Each
        type has one function: a second one would run again on each retry of the first.
        """
        if not event_types:
            raise ParameterError("name at least one event type, e.g. on('claim.paid')", param="event_types")
        for event_type in event_types:
            _check_event_type(event_type, strict)

        def register(function: F) -> F:
            if not callable(function):
                raise ParameterError("must be callable", param="function")
            for event_type in event_types:
                if event_type in self._functions:
                    raise ParameterError(
                        f"a function is already registered for {event_type!r}", param="event_types"
                    )
            for event_type in event_types:
                self._functions[event_type] = function
            return function

        return register

    def function_for(self, event_type: str) -> Callable[[Event], Any] | None:
        """The function an event of this type goes to, or None."""
        return self._functions.get(event_type) or self._functions.get(CATCH_ALL)

    # -- handling --------------------------------------------------------------------------------

    def handle(self, raw_body: bytes | str, headers: Headers) -> tuple[int, bytes]:
        """Process one delivery; returns (HTTP status, JSON body) to answer with. Async functions
        are run with ``asyncio.run``; inside an event loop use ``handle_async``."""
        job = self._prepare(raw_body, headers)
        if not isinstance(job, _Job):
            return job
        self._renewer.add(job)
        try:
            result = job.function(job.event)
            if inspect.isawaitable(result):
                _run_to_completion(result)
        except Exception as exc:
            self._renewer.remove(job)  # before the release: no renewal may follow it
            return self._failed(job, exc)
        except BaseException:
            self._renewer.remove(job)
            self._release(job)
            raise
        self._renewer.remove(job)
        return self._succeeded(job)

    async def handle_async(self, raw_body: bytes | str, headers: Headers) -> tuple[int, bytes]:
        """``handle`` for async servers: async functions are awaited; sync functions and a
        database inbox run in a worker thread so the event loop never blocks."""
        blocking = not isinstance(self.inbox, MemoryInbox)
        if blocking:
            job = await asyncio.to_thread(self._prepare, raw_body, headers)
        else:
            job = self._prepare(raw_body, headers)
        if not isinstance(job, _Job):
            return job
        renewer = asyncio.create_task(self._renew_async(job, blocking))
        try:
            if inspect.iscoroutinefunction(job.function):
                await job.function(job.event)
            else:
                result = await asyncio.to_thread(job.function, job.event)
                if inspect.isawaitable(result):
                    await result
        except Exception as exc:
            await _stop(renewer, job)
            if blocking:
                return await asyncio.to_thread(self._failed, job, exc)
            return self._failed(job, exc)
        except BaseException:
            await _stop(renewer, job)
            self._release(job)
            raise
        await _stop(renewer, job)
        if blocking:
            return await asyncio.to_thread(self._succeeded, job)
        return self._succeeded(job)

    def _prepare(self, raw_body: bytes | str, headers: Headers) -> _Job | tuple[int, bytes]:
        try:
            event_id, event = self.webhook.verify_message(raw_body, headers)
            function = self.function_for(event.type)
            if function is not None:
                # verify reads the envelope only; a body your function could not read is refused
                # here, with a 400, rather than failing inside your function.
                _load_event(event)
        except WebhookVerificationError as exc:
            self.logger.warning("rejected a webhook delivery: %s", exc)
            return _error(400, "webhook_verification_failed", str(exc))
        # De-duplicated on webhook-id, the Standard Webhooks message id (the insurer sets it to the
        # event's id; a sender whose body ids differ is still keyed on the message id).
        event_type = event.type
        try:
            token = self.inbox.claim(event_id)
            claimed = token is not None
            done = not claimed and self.inbox.is_done(event_id)
            if token is not None and function is None:
                self.inbox.complete(event_id, token)
        except Exception as exc:
            self.logger.error(
                "webhook inbox unavailable for event %s (%s)", event_id, event_type, exc_info=exc
            )
            return _error(
                503, "inbox_unavailable", "the receiver's inbox is unavailable; deliver again later"
            )
        if not claimed:
            if done:
                self.logger.info("event %s (%s) already processed; acknowledged again", event_id, event_type)
                return _json(200, {"status": "duplicate", "event_id": event_id, "type": event_type})
            self.logger.info("event %s (%s) is being processed by another worker", event_id, event_type)
            return _error(
                409, "event_in_progress", "another worker is processing this event; deliver again later"
            )
        if function is None:
            self.logger.info("no function registered for %s; event %s marked done", event_type, event_id)
            return _json(
                200,
                {
                    "status": "ignored",
                    "event_id": event_id,
                    "type": event_type,
                    "detail": f"no function is registered for {event_type}; the event is marked done",
                },
            )
        assert token is not None
        return _Job(event, function, event_id, token)

    async def _renew_async(self, job: _Job, blocking: bool) -> None:
        """The async handler's renewal: a task per running function, cancelled when it returns."""
        interval = _lease_of(self.inbox) / 3
        while True:
            await asyncio.sleep(interval)
            renewed = await asyncio.to_thread(self._renew_held, job) if blocking else self._renew_held(job)
            if not renewed:
                return

    def _renew_held(self, job: _Job) -> bool:
        with job.lock:
            return job.finished or self._renew(job)

    def _renew(self, job: _Job) -> bool:
        try:
            renewed = self.inbox.renew(job.key, job.token)
        except Exception as exc:
            self.logger.warning(
                "could not renew the lease on event %s (%s); trying again",
                job.key,
                job.event.type,
                exc_info=exc,
            )
            return True
        if not renewed:
            job.lost = True
            self._lease_lost(job, "while its function ran")
        return renewed

    def _lease_lost(self, job: _Job, when: str) -> None:
        self.logger.warning(
            "the lease on event %s (%s) was lost %s: another worker may have taken the event over "
            "(is the inbox's lease_seconds too short, or was this worker stalled?)",
            job.key,
            job.event.type,
            when,
        )

    def _succeeded(self, job: _Job) -> tuple[int, bytes]:
        event_id, event_type = job.key, job.event.type
        try:
            completed = self.inbox.complete(event_id, job.token)
        except Exception as exc:
            self.logger.error(
                "event %s (%s) was processed but could not be marked done; it may run again",
                event_id,
                event_type,
                exc_info=exc,
            )
            return _error(503, "inbox_unavailable", "processed but not recorded; deliver again later")
        if not completed and not job.lost:
            self._lease_lost(job, "before it could be marked done")
        self.logger.info("event %s (%s) processed", event_id, event_type)
        return _json(200, {"status": "processed", "event_id": event_id, "type": event_type})

    def _failed(self, job: _Job, exc: Exception) -> tuple[int, bytes]:
        event_id, event_type = job.key, job.event.type
        self._release(job)
        self.logger.error(
            "the function for %s failed on event %s; released for redelivery",
            event_type,
            event_id,
            exc_info=exc,
        )
        return _error(
            500,
            "handler_failed",
            f"the function for {event_type} raised {type(exc).__name__}; the event will be delivered again",
        )

    def _release(self, job: _Job) -> None:
        try:
            released = self.inbox.release(job.key, job.token)
        except Exception as exc:
            self.logger.error("could not release event %s; its lease will expire", job.key, exc_info=exc)
            return
        if not released and not job.lost:
            self._lease_lost(job, "before it could be released")

    # -- ready-made apps -------------------------------------------------------------------------

    @property
    def asgi_app(self) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
        """A plain ASGI 3 app: POST a delivery to it (any path); 405 for other methods.

        A function, not a bound method, so servers that guess the interface (``uvicorn
        receiver:app`` with ``app = handler.asgi_app``) see an ASGI 3 app: uvicorn takes a bound
        coroutine method for an ASGI 2 factory and fails every request."""
        serve = self._serve_asgi

        async def asgi_app(scope: Scope, receive: Receive, send: Send) -> None:
            await serve(scope, receive, send)

        return asgi_app

    async def _serve_asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope.get("type")
        if kind == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if kind != "http":
            if kind == "websocket":
                await send({"type": "websocket.close", "code": 1008})
            return
        if scope.get("method") != "POST":
            await _asgi_respond(send, *_error(405, "method_not_allowed", "webhooks are delivered with POST"))
            return
        headers: list[tuple[bytes, bytes]] = list(scope.get("headers") or ())
        limit = self.webhook.max_body_bytes
        for name, value in headers:
            if name.lower() == b"content-length" and value.isdigit() and int(value) > limit:
                await _asgi_respond(send, *_too_large(limit))
                return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > limit:
                await _asgi_respond(send, *_too_large(limit))
                return
            if not message.get("more_body", False):
                break
        status, payload = await self.handle_async(bytes(body), headers)
        await _asgi_respond(send, status, payload)

    def wsgi_app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """A plain WSGI app: POST a delivery to it (any path); 405 for other methods."""
        if environ.get("REQUEST_METHOD") != "POST":
            status, payload = _error(405, "method_not_allowed", "webhooks are delivered with POST")
        else:
            limit = self.webhook.max_body_bytes
            length_text = str(environ.get("CONTENT_LENGTH") or "").strip()
            stream = environ.get("wsgi.input")
            if length_text.isdigit() and int(length_text) > limit:
                status, payload = _too_large(limit)
            else:
                if length_text.isdigit():
                    body = stream.read(int(length_text)) if stream is not None else b""
                elif environ.get("wsgi.input_terminated") and stream is not None:
                    body = stream.read(limit + 1)
                else:
                    body = b""
                headers = [
                    (key[5:].replace("_", "-").lower(), value)
                    for key, value in environ.items()
                    if key.startswith("HTTP_") and isinstance(value, str)
                ]
                status, payload = self.handle(body, headers)
        response_headers = [("content-type", "application/json"), ("content-length", str(len(payload)))]
        if status == 405:
            response_headers.append(("allow", "POST"))
        start_response(f"{status} {http.HTTPStatus(status).phrase}", response_headers)
        return [payload]


def _lease_of(inbox: Inbox) -> float:
    lease = getattr(inbox, "lease_seconds", DEFAULT_LEASE_SECONDS)
    return float(lease) if isinstance(lease, (int, float)) and lease > 0 else DEFAULT_LEASE_SECONDS


def _too_large(limit: int) -> tuple[int, bytes]:
    return _error(413, "body_too_large", f"the body is over the receiver's {limit}-byte limit")


async def _asgi_respond(send: Send, status: int, payload: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    if status == 405:
        headers.append((b"allow", b"POST"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def _stop(task: asyncio.Task[None], job: _Job) -> None:
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    job.finish()


async def _await(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


def _run_to_completion(awaitable: Awaitable[Any]) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(_await(awaitable))
        return
    close = getattr(awaitable, "close", None)
    if callable(close):
        close()
    raise RuntimeError(
        "an async function cannot run from handle() inside a running event loop; use await handler.handle_async(...)"
    )


def _check_event_type(event_type: object, strict: bool) -> None:
    if not isinstance(event_type, str) or not event_type:
        raise ParameterError("event types are non-empty strings such as 'claim.paid'", param="event_types")
    if event_type == CATCH_ALL or not strict:
        return
    from ..types.event import EVENT_TYPES

    if event_type not in EVENT_TYPES:
        close = difflib.get_close_matches(event_type, EVENT_TYPES, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ParameterError(
            f"unknown event type {event_type!r}; {hint}known types: {', '.join(EVENT_TYPES)}. "
            "Pass strict=False for a type newer than this SDK.",
            param="event_types",
        )


def _load_event(event: Event) -> None:
    """``types.event.load_event``: the event's fields beyond its envelope, validated now."""
    from ..types.event import load_event

    load_event(event)
