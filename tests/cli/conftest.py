"""Fixtures for the ``yangguang`` command's tests: a served sandbox per test module, a CliRunner,
and a local webhook receiver that verifies every delivery it gets."""

from __future__ import annotations

import http.server
import json
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.servers import free_port, start_server, stop_server
from yangguang_sdk.cli import app
from yangguang_sdk.webhooks import Webhook, WebhookVerificationError

ROOT = Path(__file__).resolve().parents[2]
ENV_VARS = ("YANGGUANG_API_KEY", "YANGGUANG_BASE_URL", "YANGGUANG_LISTEN_STATE", "YANGGUANG_DEBUG")


@pytest.fixture(autouse=True)
def _no_ambient_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never read the developer's key, URL or ~/.config."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of ``python -m yangguang_sdk.sandbox`` on a free loopback port, for one module."""
    port = free_port()
    db = tmp_path_factory.mktemp("served") / "sandbox.sqlite"
    proc = start_server(["-m", "yangguang_sdk.sandbox", "--port", str(port), "--db", str(db)], port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_server(proc)


@pytest.fixture
def api_key() -> str:
    """A fresh tenant of the served sandbox for each test: its own objects and events only."""
    return f"yg_test_cli_{secrets.token_hex(6)}"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def invoke(runner: CliRunner, *args: str) -> Any:
    """Run ``yangguang ARGS`` in-process (exceptions propagate, so a bug shows as itself)."""
    return runner.invoke(app, list(args), catch_exceptions=False)


@dataclass
class Receiver:
    """A local webhook endpoint (stdlib http.server in a thread) that verifies each delivery."""

    url: str = ""
    secret: str | None = None
    fail_next: int = 0
    fail_status: int = 500
    received: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 0
    rejected: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def ids(self) -> list[str]:
        return [d["headers"]["webhook-id"] for d in self.received]

    def handle(self, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            self.attempts += 1
            if self.fail_next > 0:
                self.fail_next -= 1
                return self.fail_status
            assert self.secret is not None, "set receiver.secret before forwarding"
            try:
                event = Webhook(self.secret).verify(body, headers)
            except WebhookVerificationError as exc:
                self.rejected.append(str(exc))
                return 400
            self.received.append({"headers": headers, "event": event, "json": json.loads(body)})
            return 204


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            status = state.handle({k.lower(): v for k, v in self.headers.items()}, body)
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/webhooks"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
