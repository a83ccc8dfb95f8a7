"""`yangguang listen`: events forwarded as verified Standard Webhooks, a restart neither repeats nor
loses one, a failed forward is retried, and the state file never holds the API key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.cli.conftest import Receiver, invoke
from tests.servers import free_port
from yangguang_sdk import Client
from yangguang_sdk.cli import listen as _cli_listen


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "listen.json"


def listen(runner: CliRunner, served: str, api_key: str, state: Path, receiver: Receiver, *extra: str) -> Any:
    return invoke(
        runner,
        "listen",
        "--forward-to",
        receiver.url,
        "--api-key",
        api_key,
        "--base-url",
        served,
        "--state",
        str(state),
        "--once",
        *extra,
    )


def secret_of(runner: CliRunner, served: str, api_key: str, state: Path) -> str:
    result = invoke(
        runner, "listen", "--print-secret", "--api-key", api_key, "--base-url", served, "--state", str(state)
    )
    assert result.exit_code == 0, result.stderr
    secret: str = result.stdout.strip()
    assert secret.startswith("whsec_")
    return secret


def all_event_ids(served: str, api_key: str) -> list[str]:
    with Client(api_key=api_key, base_url=served) as client:
        return [e.id for e in client.events.list(limit=100)]


def trigger(runner: CliRunner, served: str, api_key: str, event: str) -> None:
    result = invoke(runner, "trigger", event, "--api-key", api_key, "--base-url", served)
    assert result.exit_code == 0, result.stderr


def test_once_forwards_every_event_signed_with_the_printed_secret(
    runner: CliRunner, served: str, api_key: str, state: Path, receiver: Receiver
) -> None:
    trigger(runner, served, api_key, "policy.cancelled")
    receiver.secret = secret_of(runner, served, api_key, state)
    result = listen(runner, served, api_key, state, receiver)
    assert result.exit_code == 0, result.stderr
    assert receiver.secret in result.stderr  # printed at start
    expected = all_event_ids(served, api_key)
    assert receiver.ids == expected and len(expected) == 2
    assert [d["event"].type for d in receiver.received] == ["policy.bound", "policy.cancelled"]
    assert receiver.rejected == []
    lines = result.stdout.strip().splitlines()  # one line per delivery: time, type, id, status
    assert len(lines) == 2
    assert (
        "policy.cancelled" in lines[1] and expected[1] in lines[1] and lines[1].endswith("-> 204 No Content")
    )


def test_a_restart_resumes_after_the_last_event_without_repeats(
    runner: CliRunner, served: str, api_key: str, state: Path, receiver: Receiver
) -> None:
    receiver.secret = secret_of(runner, served, api_key, state)
    trigger(runner, served, api_key, "policy.bound")
    assert listen(runner, served, api_key, state, receiver).exit_code == 0
    first = list(receiver.ids)
    assert len(first) == 1

    trigger(runner, served, api_key, "repayment.created")
    again = listen(runner, served, api_key, state, receiver)
    assert again.exit_code == 0
    assert f"Resuming after {first[0]}" in again.stderr
    assert receiver.ids == all_event_ids(served, api_key)  # each event once, in order
    assert len(receiver.ids) == len(set(receiver.ids)) == 3

    nothing_new = listen(runner, served, api_key, state, receiver)
    assert nothing_new.exit_code == 0 and nothing_new.stdout == ""
    assert len(receiver.ids) == 3


def test_the_secret_is_kept_across_restarts_and_the_state_holds_no_api_key(
    runner: CliRunner, served: str, api_key: str, state: Path, receiver: Receiver
) -> None:
    secret = secret_of(runner, served, api_key, state)
    assert secret_of(runner, served, api_key, state) == secret
    other_key = api_key + "_other"
    assert secret_of(runner, served, other_key, state) != secret  # per base URL + key
    text = state.read_text()
    assert api_key not in text
    data = json.loads(text)
    profiles = list(data["profiles"].values())
    assert {p["key_sha256"] for p in profiles} == {
        _cli_listen.key_hash(api_key),
        _cli_listen.key_hash(other_key),
    }
    assert all(p["base_url"] == served for p in profiles)
    assert state.stat().st_mode & 0o077 == 0  # the file holds secrets: owner only


def test_events_filter_forwards_only_those_types_and_moves_past_the_others(
    runner: CliRunner, served: str, api_key: str, state: Path, receiver: Receiver
) -> None:
    receiver.secret = secret_of(runner, served, api_key, state)
    trigger(runner, served, api_key, "policy.cancelled")
    result = listen(runner, served, api_key, state, receiver, "--events", "policy.cancelled")
    assert result.exit_code == 0
    assert [d["event"].type for d in receiver.received] == ["policy.cancelled"]
    assert "1 not in --events" in result.stderr
    assert listen(runner, served, api_key, state, receiver).stdout == ""  # the skipped one stays skipped


def test_a_failed_forward_is_retried_then_delivered(
    runner: CliRunner,
    served: str,
    api_key: str,
    state: Path,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_cli_listen, "RETRY_DELAYS", (0.01, 0.01, 0.01))
    receiver.secret = secret_of(runner, served, api_key, state)
    trigger(runner, served, api_key, "policy.bound")
    receiver.fail_next = 2
    result = listen(runner, served, api_key, state, receiver)
    assert result.exit_code == 0
    assert receiver.attempts == 3 and len(receiver.received) == 1
    assert result.stdout.strip().endswith("-> 204 No Content (attempt 3)")


def test_a_forward_that_keeps_failing_is_reported_and_passed_over_exit_3(
    runner: CliRunner,
    served: str,
    api_key: str,
    state: Path,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_cli_listen, "RETRY_DELAYS", (0.01, 0.01, 0.01))
    receiver.secret = secret_of(runner, served, api_key, state)
    trigger(runner, served, api_key, "policy.cancelled")
    receiver.fail_next = 4  # every attempt at the first event
    result = listen(runner, served, api_key, state, receiver)
    assert result.exit_code == 3
    lines = result.stdout.strip().splitlines()
    assert lines[0].endswith("-> 500 Internal Server Error, gave up after 4 attempts")
    assert [d["event"].type for d in receiver.received] == ["policy.cancelled"]
    assert result.stderr.strip().splitlines()[-1].startswith("error: 1 event(s) could not be forwarded")


def test_skip_past_starts_after_the_newest_event(
    runner: CliRunner, served: str, api_key: str, state: Path, receiver: Receiver
) -> None:
    receiver.secret = secret_of(runner, served, api_key, state)
    trigger(runner, served, api_key, "policy.bound")
    result = listen(runner, served, api_key, state, receiver, "--skip-past")
    assert result.exit_code == 0 and receiver.received == []
    assert "Skipped 1 past events" in result.stderr
    trigger(runner, served, api_key, "policy.bound")
    assert listen(runner, served, api_key, state, receiver).exit_code == 0
    assert receiver.ids == all_event_ids(served, api_key)[1:]


def test_reset_forwards_everything_again(
    runner: CliRunner, served: str, api_key: str, state: Path, receiver: Receiver
) -> None:
    receiver.secret = secret_of(runner, served, api_key, state)
    trigger(runner, served, api_key, "policy.bound")
    listen(runner, served, api_key, state, receiver)
    assert listen(runner, served, api_key, state, receiver, "--reset").exit_code == 0
    assert receiver.ids == all_event_ids(served, api_key) * 2


def test_once_against_an_unreachable_server_is_one_line_exit_1(
    runner: CliRunner, api_key: str, state: Path, receiver: Receiver
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = listen(runner, url, api_key, state, receiver)
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1].startswith("error: Could not reach")


def test_forward_to_is_required(runner: CliRunner, api_key: str, state: Path) -> None:
    result = invoke(runner, "listen", "--api-key", api_key, "--state", str(state))
    assert result.exit_code == 2
    assert result.stderr == "error: give --forward-to URL (your app's webhook endpoint)\n"


def test_a_position_the_server_does_not_know_restarts_from_the_oldest_event(
    runner: CliRunner, served: str, api_key: str, state: Path, receiver: Receiver
) -> None:
    receiver.secret = secret_of(runner, served, api_key, state)
    trigger(runner, served, api_key, "policy.bound")
    data = json.loads(state.read_text())
    for profile in data["profiles"].values():
        profile["last_event_id"] = "evt_fromanothersandbox"  # e.g. an in-memory sandbox restarted
    state.write_text(json.dumps(data))
    result = listen(runner, served, api_key, state, receiver)
    assert result.exit_code == 0
    assert "is unknown to" in result.stderr
    assert receiver.ids == all_event_ids(served, api_key)
