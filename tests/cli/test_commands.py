"""The command line itself: help with an example on every command, --version, errors as one line
with a documented exit code, --debug, and `yangguang sandbox serve`."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest
from typer.testing import CliRunner

from tests.cli.conftest import ROOT, invoke
from tests.servers import free_port, start_server, stop_server
from yangguang_sdk import __version__
from yangguang_sdk.cli import main

COMMANDS = [["sandbox", "serve"], ["listen"], ["trigger"], ["quote-batch"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c))
def test_every_command_has_help_with_an_example(runner: CliRunner, command: list[str]) -> None:
    result = invoke(runner, *command, "--help")
    assert result.exit_code == 0
    assert "Examples:" in result.stdout
    assert f"yangguang {' '.join(command)} " in result.stdout.split("Examples:")[1]


def test_top_level_help_lists_the_commands_and_exit_codes(runner: CliRunner) -> None:
    result = invoke(runner, "--help")
    assert result.exit_code == 0
    for name in ("sandbox", "listen", "trigger", "quote-batch"):
        assert name in result.stdout
    assert "Exit codes" in result.stdout


def _command_paths() -> list[list[str]]:
    """Every command and group of the app, as the words that reach it (the app itself is [])."""
    import typer.main

    from yangguang_sdk.cli import app

    paths: list[list[str]] = []

    def walk(cmd: object, path: list[str]) -> None:
        paths.append(path)
        for name, sub in (getattr(cmd, "commands", None) or {}).items():
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return paths


@pytest.mark.parametrize("command", _command_paths(), ids=lambda c: " ".join(c) or "yangguang")
def test_no_help_shows_a_type_after_a_plain_flag(runner: CliRunner, command: list[str]) -> None:
    result = invoke(runner, *command, "--help")
    assert result.exit_code == 0
    assert "--help" in result.stdout
    assert "<bool>" not in result.stdout, result.stdout


def test_version(runner: CliRunner) -> None:
    result = invoke(runner, "--version")
    assert result.exit_code == 0
    assert result.stdout.startswith(f"yangguang {__version__} ")


def test_missing_api_key_is_one_line_and_exit_code_2(runner: CliRunner) -> None:
    result = invoke(runner, "trigger", "policy.bound")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: no API key: pass --api-key or set YANGGUANG_API_KEY")
    assert result.stdout == ""


def test_unreachable_server_is_one_line_and_exit_code_1(runner: CliRunner) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = invoke(runner, "trigger", "policy.bound", "--api-key", "yg_test_nobody", "--base-url", url)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: Could not reach http://127.0.0.1:")
    assert "Traceback" not in result.stderr


def test_debug_shows_the_traceback(runner: CliRunner) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = invoke(
        runner, "--debug", "trigger", "policy.bound", "--api-key", "yg_test_x1234", "--base-url", url
    )
    assert result.exit_code == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: Could not reach")


def test_trigger_refuses_a_live_key(runner: CliRunner) -> None:
    result = invoke(runner, "trigger", "policy.bound", "--api-key", "yg_live_abcdef123456")
    assert result.exit_code == 2
    assert "refusing" in result.stderr and "yg_live_abcdef" not in result.stderr


def test_the_api_key_never_appears_in_an_error(runner: CliRunner) -> None:
    result = invoke(runner, "trigger", "policy.bound", "--api-key", "not-a-key-SECRETVALUE")
    assert result.exit_code == 2
    assert "malformed" in result.stderr and "SECRETVALUE" not in result.stderr


def test_usage_errors_through_main_are_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["listen", "--no-such-option"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("error: No such option: --no-such-option")
    assert "yangguang listen --help" in err[0]


def test_unknown_event_type_in_listen_is_a_usage_error(runner: CliRunner) -> None:
    result = invoke(
        runner, "listen", "-f", "http://localhost:1/x", "-e", "claim.payed", "--api-key", "yg_test_abcd"
    )
    assert result.exit_code == 2
    assert "unknown event type(s) claim.payed (did you mean claim.paid?)" in result.stderr


def test_main_returns_the_command_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert main(["trigger", "--list"]) == 0
    out = capsys.readouterr().out
    assert "claim.paid" in out and "recovery.received" in out


def test_console_script_module_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "yangguang_sdk.cli", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("yangguang ")


def test_sandbox_serve_prints_base_url_test_key_and_dashboard_and_serves() -> None:
    port = free_port()
    proc = start_server(["-m", "yangguang_sdk.cli", "sandbox", "serve", "--port", str(port)], port)
    try:
        response = httpx.get(
            f"http://127.0.0.1:{port}/v1/test_clock",
            headers={"Authorization": "Bearer yg_test_sandbox_merchant"},
        )
        assert response.status_code == 200
        login = httpx.get(f"http://127.0.0.1:{port}/dashboard/login")
        assert login.status_code == 200 and "Sign in with a test key" in login.text
    finally:
        out, _ = stop_server(proc)
    text = out.decode()
    assert f"YANGGUANG_BASE_URL=http://127.0.0.1:{port}" in text
    assert "yg_test_sandbox_merchant" in text
    assert f"dashboard: http://127.0.0.1:{port}/dashboard" in text


def test_sandbox_serve_on_a_busy_port_is_one_line(runner: CliRunner, served: str) -> None:
    port = served.rsplit(":", 1)[1]
    result = invoke(runner, "sandbox", "serve", "--port", port)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}")
