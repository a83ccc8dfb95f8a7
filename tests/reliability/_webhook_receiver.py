"""A webhook receiver process for the PostgreSQL chaos test (run as a script, not collected).

    python _webhook_receiver.py < CONFIG

The first line of stdin is JSON: ``dsn``, ``inbox_table``, ``runs_table``, ``secret``, ``seed``,
``fail_rate``. The process serves ``WebhookHandler(Webhook(secret), inbox=PostgresInbox(dsn))``
over HTTP (wsgiref, a thread per request) on a free loopback port, writes one JSON line
``{"port": ..., "pid": ...}`` to stdout once it listens, and stops when stdin closes.

Its function (``claim.paid`` and ``*``) fails on about ``fail_rate`` of its calls, before doing
anything; otherwise it inserts (event id, event type, pid) into ``runs_table``: one row per
processing, which is what the test counts.

The receiver verifies with the default (wall) clock and tolerance: the sandbox signs every
delivery with its real send time, however far its clock was moved.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import random
import sys
import threading
import time
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from yangguang_sdk.webhooks import PostgresInbox, Webhook, WebhookHandler

if TYPE_CHECKING:
    import psycopg


class Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 128


class QuietRequestHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class Connections:
    """A few autocommit connections for the function's inserts, reused across request threads."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.idle: queue.SimpleQueue[psycopg.Connection[Any]] = queue.SimpleQueue()

    def execute(self, query: str, params: tuple[Any, ...]) -> None:
        try:
            conn = self.idle.get_nowait()
        except queue.Empty:
            import psycopg

            conn = psycopg.connect(self.dsn, autocommit=True)
        conn.execute(query, params)
        self.idle.put(conn)

    def close(self) -> None:
        while True:
            try:
                self.idle.get_nowait().close()
            except queue.Empty:
                return


def main() -> int:
    config = json.loads(sys.stdin.readline())
    # The function's expected failures are logged at ERROR with a traceback: keep stderr for the
    # unexpected (the test shows it when a receiver fails to start).
    logging.getLogger("yangguang_sdk.webhooks").setLevel(logging.CRITICAL)
    rng = random.Random(config["seed"])
    rng_lock = threading.Lock()
    runs = Connections(config["dsn"])
    record_run = f"INSERT INTO {config['runs_table']} (event_id, event_type, pid) VALUES (%s, %s, %s)"
    pid = os.getpid()

    inbox = PostgresInbox(config["dsn"], table=config["inbox_table"])
    handler = WebhookHandler(Webhook(config["secret"]), inbox=inbox)

    @handler.on("claim.paid")
    @handler.on("*")
    def record(event: Any) -> None:
        with rng_lock:
            pause, fails = rng.uniform(0, 0.003), rng.random() < config["fail_rate"]
        time.sleep(pause)  # widen the window in which two processes hold the same event
        if fails:
            raise RuntimeError("simulated failure of the merchant's function")
        runs.execute(record_run, (event.id, event.type, pid))

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        return handler.wsgi_app(environ, start_response)

    server = make_server("127.0.0.1", 0, app, server_class=Server, handler_class=QuietRequestHandler)

    def stop_when_stdin_closes() -> None:
        sys.stdin.read()
        server.shutdown()

    threading.Thread(target=stop_when_stdin_closes, daemon=True).start()
    print(json.dumps({"port": server.server_port, "pid": pid}), flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()
        inbox.close()
        runs.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
