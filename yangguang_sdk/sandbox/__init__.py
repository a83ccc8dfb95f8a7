"""The sandbox insurer: a complete, deterministic insurer you run in-process or serve over HTTP.

    >>> from yangguang_sdk.sandbox import Sandbox
    >>> sb = Sandbox()                 # in memory; Sandbox(db="sb.sqlite") persists
    >>> client = sb.client()           # a yangguang_sdk.Client wired to it, no network

``serve(port=8765)`` serves one over HTTP instead (what ``python -m yangguang_sdk.sandbox`` and
``yangguang sandbox serve`` run).

Each API key is a tenant with its own clock: ``advance`` moves only the caller's clock. Webhook
deliveries go over real HTTP to each endpoint's URL, or through ``webhook_transport`` (a sync httpx
transport, e.g. ``httpx.WSGITransport(app=handler.wsgi_app)``) to a receiver in the same process;
they are signed with the real send time and made outside the engine's lock; see ``delivery.py``.

Needs the ``sandbox`` extra (FastAPI). The SDK core never imports this package.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import httpx

from .delivery import DeliveryWorker
from .engine import Engine

if TYPE_CHECKING:
    from fastapi import FastAPI

    from .._client import AsyncClient, Client
    from ..webhooks import Webhook

__all__ = ["Sandbox", "Engine", "DEFAULT_API_KEY", "serve", "listen"]

DEFAULT_API_KEY = "yg_test_sandbox_merchant"
"""The key ``sb.client()`` uses when none is given; every distinct ``yg_test_`` key is its own tenant."""


class _Borrowed(httpx.BaseTransport):
    """The sandbox's shared sync transport as lent to one client: closing that client must not
    stop the transport every other client of the sandbox is using (``Sandbox.close`` does)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._inner.handle_request(request)

    def close(self) -> None:
        pass


class Sandbox:
    """An insurer in a box: engine + HTTP app + in-process transports.

    ``db``: None for memory, a SQLite file path, or a ``postgresql://`` URL (reopen it and
    everything is there; several sandbox processes may share one PostgreSQL database).
    ``now``: an aware datetime where every tenant's clock starts (default: now, to the second).
    ``realtime``: the clocks follow real time (served use); otherwise they move only by ``advance``.
    ``webhook_transport``: the sync httpx transport webhook deliveries go through (default: real
    HTTP to each endpoint's URL); ``webhook_timeout``: the total deadline of one delivery attempt,
    in seconds. ``background_deliveries``: attempts are made by an executor thread, so no API call
    waits for a receiver (what a served sandbox does); by default an API call makes the attempts of
    the events it emitted before it returns (deterministic in-process tests).
    ``allow_private_endpoints``: webhook endpoints may be on loopback or private addresses (the
    default in-process, where receivers are local); False refuses them (``urls.py``).
    """

    def __init__(
        self,
        db: str | None = None,
        *,
        now: dt.datetime | None = None,
        realtime: bool = False,
        api_key: str = DEFAULT_API_KEY,
        webhook_transport: httpx.BaseTransport | None = None,
        webhook_timeout: float = 10.0,
        background_deliveries: bool = False,
        allow_private_endpoints: bool = True,
    ) -> None:
        from .app import create_app

        if now is not None and (now.tzinfo is None or now.utcoffset() is None):
            raise ValueError(
                "Sandbox(now=...) must be timezone-aware, e.g. datetime(2026, 11, 25, tzinfo=timezone.utc)"
            )
        self.engine = Engine(db=db, now=now, realtime=realtime)
        self._realtime = realtime
        self.delivery = DeliveryWorker(
            self.engine,
            transport=webhook_transport,
            timeout=webhook_timeout,
            background=background_deliveries,
            allow_private_endpoints=allow_private_endpoints,
        )
        self.app: FastAPI = create_app(self.engine, self.delivery)
        self.api_key = api_key
        self._sync_transport: httpx.BaseTransport | None = None
        self._ticker: threading.Thread | None = None
        self._stop_ticking = threading.Event()

    # -- transports and clients ----------------------------------------------------------------
    def transport(self) -> httpx.BaseTransport:
        """The sync httpx transport ``client()`` uses; wrap it to inject faults or record traffic."""
        if self._sync_transport is None:
            from .transport import SyncASGITransport

            self._sync_transport = SyncASGITransport(self.app)
        return self._sync_transport

    def async_transport(self) -> httpx.AsyncBaseTransport:
        """A new async httpx transport to this sandbox's app."""
        from .transport import make_async_transport

        return make_async_transport(self.app)

    def client(
        self, *, api_key: str | None = None, transport: httpx.BaseTransport | None = None, **kwargs: Any
    ) -> Client:
        """A ``yangguang_sdk.Client`` wired to this sandbox with no network connection."""
        from .._client import Client
        from .app import SANDBOX_BASE_URL

        return Client(
            api_key=api_key or self.api_key,
            base_url=SANDBOX_BASE_URL,
            transport=transport or _Borrowed(self.transport()),
            **kwargs,
        )

    def async_client(
        self, *, api_key: str | None = None, transport: httpx.AsyncBaseTransport | None = None, **kwargs: Any
    ) -> AsyncClient:
        """A ``yangguang_sdk.AsyncClient`` wired to this sandbox with no network connection."""
        from .._client import AsyncClient
        from .app import SANDBOX_BASE_URL

        return AsyncClient(
            api_key=api_key or self.api_key,
            base_url=SANDBOX_BASE_URL,
            transport=transport or self.async_transport(),
            **kwargs,
        )

    # -- conveniences --------------------------------------------------------------------------
    @property
    def now(self) -> dt.datetime:
        """The clock of this sandbox's tenant (``api_key``); other keys' clocks may differ."""
        return self.engine.now(self.api_key)

    def advance(self, *, days: int = 0, hours: int = 0, minutes: int = 0) -> dt.datetime:
        """Move the clock of this sandbox's tenant (``api_key``) forward, living through every due
        transition and webhook attempt (same as ``client.test_clock.advance``)."""
        self.engine.advance(self.api_key, dt.timedelta(days=days, hours=hours, minutes=minutes))
        return self.engine.now(self.api_key)

    def webhook(self, secret_or_secrets: str | Sequence[str], **options: Any) -> Webhook:
        """A ``yangguang_sdk.webhooks.Webhook`` for this sandbox's deliveries. They are signed with
        the real send time, so this is ``Webhook(secret_or_secrets, **options)``: kept so tests that
        call it go on working."""
        from ..webhooks import Webhook

        return Webhook(secret_or_secrets, **options)

    def start_ticking(self, interval: float = 0.25) -> None:
        """Run due transitions and webhook retries every ``interval`` seconds in a daemon thread
        (for a real-time clock with no API calls to drive it); ``close()`` stops it."""
        if self._ticker is not None:
            return
        self._stop_ticking.clear()

        def tick() -> None:
            while not self._stop_ticking.wait(interval):
                try:
                    self.engine.run_due()
                    if not self.delivery.background:
                        self.delivery.run_due()
                except Exception:  # pragma: no cover - logged, the next tick tries again
                    from .._logs import get_logger

                    get_logger("yangguang_sdk.sandbox").exception("sandbox clock tick failed")

        self._ticker = threading.Thread(target=tick, name="yangguang-sandbox-clock", daemon=True)
        self._ticker.start()

    def close(self) -> None:
        if self._ticker is not None:
            self._stop_ticking.set()
            self._ticker.join()
            self._ticker = None
        if self._sync_transport is not None:
            self._sync_transport.close()
        self.delivery.close()
        self.engine.close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Sandbox(now={self.now.isoformat()})"


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    db: str | os.PathLike[str] | None = None,
    clock: Literal["manual", "realtime"] = "manual",
    allow_private_endpoints: bool = False,
    workers: int = 1,
) -> None:
    """Serve a sandbox over HTTP (uvicorn) until interrupted, then close it.

    ``db``: None keeps the state in memory, a SQLite file path keeps it across restarts, a
    ``postgresql://`` URL keeps it in PostgreSQL.
    ``clock``: ``"manual"``: each tenant's clock moves only by its ``test_clock.advance``;
    ``"realtime"``: the clocks follow the wall clock, and due transitions run every quarter second
    without API calls. Webhook attempts are made in the background, never holding an API call.
    Prints one line with the base URL and the test key first. Webhooks are delivered over HTTP to
    each endpoint's URL. Needs uvicorn (the ``sandbox`` extra).
    ``allow_private_endpoints``: served on a loopback address, webhook endpoints may be on private
    addresses (the receivers are local); served beyond loopback they may not (a merchant must not
    reach the sandbox's own network through it) unless this is True.
    ``workers``: processes serving the one port, each with its own Sandbox on ``db``, which must
    then be a ``postgresql://`` URL (see ``sandbox.workers``).
    """
    from ..errors import ParameterError
    from .workers import is_shared_db, serve_workers

    if clock not in ("manual", "realtime"):
        raise ParameterError(f"must be 'manual' or 'realtime', not {clock!r}", param="clock")
    db = None if db is None else os.fspath(db)
    if not isinstance(workers, int) or workers < 1 or (workers > 1 and not is_shared_db(db)):
        raise ParameterError("must be 1, or more with a postgresql:// db", param="workers")
    import uvicorn

    listener = listen(host, port)  # before anything is announced: a busy port fails here, cleanly
    announce = f"yangguang sandbox on http://{host}:{port}  (test key: {DEFAULT_API_KEY})"
    private = allow_private_endpoints or _is_loopback(listener)
    if workers > 1:
        try:
            serve_workers(
                listener, db=str(db), clock=clock, workers=workers, announce=announce, allow_private=private
            )
        finally:
            listener.close()
        return
    try:
        sb = Sandbox(
            db=db, realtime=clock == "realtime", allow_private_endpoints=private, background_deliveries=True
        )
    except Exception as exc:
        listener.close()
        if db is not None and type(exc).__module__ == "sqlite3":
            raise OSError(f"cannot open the sandbox database {os.fspath(db)!r}: {exc}") from exc
        raise
    except BaseException:
        listener.close()
        raise
    if clock == "realtime":
        sb.start_ticking()  # transitions and webhook retries fall due without API calls
    print(announce, flush=True)
    try:
        uvicorn.Server(uvicorn.Config(sb.app, log_level="warning")).run(sockets=[listener])
    finally:
        listener.close()
        sb.close()


def _is_loopback(listener: socket.socket) -> bool:
    """Whether ``listener`` listens on a loopback address only."""
    import ipaddress

    return ipaddress.ip_address(str(listener.getsockname()[0]).split("%", 1)[0]).is_loopback


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (as uvicorn would open it), or ``OSError`` whose
    message says which address could not be used and why (a name that does not resolve, a port
    another server holds)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise OSError(exc.errno, f"cannot resolve host {host!r}: {exc.strerror}") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise OSError(
            exc.errno, f"cannot listen on {host}:{port}: {exc.strerror} (another sandbox? pick another port)"
        ) from None
    return sock
