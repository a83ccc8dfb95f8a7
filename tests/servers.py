"""Real servers on loopback for tests and benchmarks: free ports and a served sandbox."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Until something listens on ``port``; fails early if ``proc`` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the server did not start listening in time")


def start_server(
    args: list[str], port: int, *, stderr: int | object = subprocess.PIPE
) -> subprocess.Popen[bytes]:
    """``python <args>`` in the project root, waited for until it listens on ``port``."""
    proc = subprocess.Popen(
        [sys.executable, *args],
        stdout=subprocess.PIPE,
        stderr=stderr,  # type: ignore[arg-type]
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        cwd=ROOT,
    )
    try:
        wait_for_port(port, proc)
    except BaseException:
        stop_server(proc)
        raise
    return proc


def stop_server(proc: subprocess.Popen[bytes]) -> tuple[bytes, bytes]:
    """Terminate (then kill) ``proc``; its stdout and stderr."""
    proc.terminate()
    try:
        out, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    return out or b"", err or b""


@contextlib.contextmanager
def served_sandbox(*options: str) -> Iterator[str]:
    """The base URL of ``python -m yangguang_sdk.sandbox <options>`` on a free loopback port."""
    port = free_port()
    proc = start_server(["-m", "yangguang_sdk.sandbox", "--port", str(port), *options], port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_server(proc)
