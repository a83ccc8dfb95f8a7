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
    assert calls == [{"host": "127.0.0.1", "port": int(port), "db": db, "clock": "realtime"}] * 2


def test_sandbox_serve_refuses_an_unknown_clock() -> None:
    with pytest.raises(ValueError, match="clock"):
        yangguang_sdk.sandbox.serve(clock="fast")  # type: ignore[arg-type]


def test_quote_batch_offers_the_products_of_the_product_table() -> None:
    assert [choice.value for choice in batch.ProductChoice] == list(PRODUCTS)
