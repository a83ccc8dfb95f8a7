"""Fixtures for end-to-end tests: an in-process sandbox, and one served by uvicorn on loopback."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from yangguang_sdk import Client
from yangguang_sdk.sandbox import Sandbox

START = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.timezone.utc)


def borrower(score: int | None = 720, id_number: str = "11010519491231002X") -> dict[str, object]:
    b: dict[str, object] = {
        "type": "individual",
        "name": "张三",
        "id_number": id_number,
        "phone": "13800138000",
    }
    if score is not None:
        b["credit_score"] = score
    return b


def loan(
    principal: str = "12999.00", months: int = 12, rate: str = "0.12", first_due: str = "2026-12-25"
) -> dict[str, object]:
    from yangguang_sdk import Money

    return {
        "principal": Money.cny(principal),
        "term_months": months,
        "annual_rate": rate,
        "first_due_date": first_due,
    }


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    sb = Sandbox(now=START)
    yield sb
    sb.close()


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[Client]:
    c = sandbox.client()
    yield c
    c.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the sandbox server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the sandbox server did not start listening in time")


@pytest.fixture(scope="session")
def served_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of ``python -m yangguang_sdk.sandbox`` on a free loopback port (SQLite-backed)."""
    port = free_port()
    db: Path = tmp_path_factory.mktemp("served") / "sandbox.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-m", "yangguang_sdk.sandbox", "--port", str(port), "--db", str(db)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()
