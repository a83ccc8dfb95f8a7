"""The command line stands on public seams: ``sandbox.serve`` for both ways of serving, the product
table for product facts (``tests/test_private_names.py`` checks that no module, the CLI included,
uses another module's private names)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import yangguang_sdk.sandbox
import yangguang_sdk.sandbox.__main__ as sandbox_main
from tests.cli.conftest import invoke
from tests.servers import free_port
from yangguang_sdk.cli import batch
from yangguang_sdk.types.products import PRODUCTS


def test_both_command_lines_serve_through_sandbox_serve(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls: list[dict[str, Any]] = []

    def serve(**options: Any) -> None:
        calls.append({**options, "db": os.fspath(options["db"])})

    monkeypatch.setattr(yangguang_sdk.sandbox, "serve", serve)
    monkeypatch.setattr(sandbox_main, "serve", serve)
    port, db = str(free_port()), str(tmp_path / "sb.sqlite")
    result = invoke(runner, "sandbox", "serve", "--port", port, "--db", db, "--clock", "realtime")
    assert result.exit_code == 0, result.stderr
    assert sandbox_main.main(["--port", port, "--db", db, "--clock", "realtime"]) == 0
    expected = {"host": "127.0.0.1", "port": int(port), "db": db, "clock": "realtime", "workers": 1}
    assert calls == [{**expected, "allow_private_endpoints": False}] * 2
    calls.clear()
    flag = "--allow-private-endpoints"
    result = invoke(runner, "sandbox", "serve", "--port", port, "--db", db, "--clock", "realtime", flag)
    assert result.exit_code == 0, result.stderr
    assert sandbox_main.main(["--port", port, "--db", db, "--clock", "realtime", flag]) == 0
    assert calls == [{**expected, "allow_private_endpoints": True}] * 2


def test_sandbox_serve_refuses_an_unknown_clock() -> None:
    with pytest.raises(ValueError, match="clock"):
        yangguang_sdk.sandbox.serve(clock="fast")  # type: ignore[arg-type]


def test_quote_batch_offers_the_products_of_the_product_table() -> None:
    assert [choice.value for choice in batch.ProductChoice] == list(PRODUCTS)


def test_serving_on_a_busy_port_announces_nothing_and_says_why(served: str) -> None:
    """Both command lines bind before they print their URL: a busy port is one line, exit 1."""
    import subprocess
    import sys

    port = served.rsplit(":", 1)[1]
    done = subprocess.run(
        [sys.executable, "-m", "yangguang_sdk.sandbox", "--port", port],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "yangguang sandbox on" not in done.stdout
    assert done.stderr.strip().splitlines() == [
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use (another sandbox? pick another port)"
    ]


def test_serving_a_database_that_cannot_be_opened_says_which_file(tmp_path: Path) -> None:
    db = tmp_path / "no-such-dir" / "sandbox.sqlite"
    with pytest.raises(OSError, match="cannot open the sandbox database .*no-such-dir"):
        yangguang_sdk.sandbox.serve(port=free_port(), db=db)
