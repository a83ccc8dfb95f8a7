"""`yangguang endpoints list|create|enable|recover|test` against a served sandbox (DESIGN §7.10)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from typer.testing import CliRunner

from tests.cli.conftest import Receiver, invoke
from yangguang_sdk import Client
from yangguang_sdk.cli import app


def wait_for(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_create_list_test_enable_and_recover(
    runner: CliRunner, served: str, api_key: str, receiver: Receiver
) -> None:
    auth = ["--api-key", api_key, "--base-url", served]
    assert invoke(runner, "endpoints", "list", *auth).stdout.strip() == "no webhook endpoints"

    created = invoke(runner, "endpoints", "create", receiver.url, "--signing", "hmac-sha256", *auth)
    assert created.exit_code == 0, created.stderr
    endpoint_id = re.search(r"whe_[a-z0-9]+", created.stdout).group()  # type: ignore[union-attr]
    receiver.secret = re.search(r"secret: (whsec_\S+)", created.stdout).group(1)  # type: ignore[union-attr]
    assert "not shown again" in created.stdout

    listed = invoke(runner, "endpoints", "list", *auth)
    assert listed.stdout.split()[:4] == [endpoint_id, "enabled", "hmac-sha256", receiver.url]

    tested = invoke(runner, "endpoints", "test", endpoint_id, *auth)
    assert tested.exit_code == 0, tested.stderr
    test_id = re.search(r"evt_[a-z0-9]+", tested.stdout).group()  # type: ignore[union-attr]
    wait_for(lambda: test_id in receiver.ids)
    assert receiver.received[-1]["event"].type == "webhook_endpoint.test"

    enabled = invoke(runner, "endpoints", "enable", endpoint_id, *auth)
    assert enabled.stdout.strip() == f"{endpoint_id} is enabled"

    # An event whose delivery failed, then recovered: sent again once the receiver answers.
    receiver.fail_next = 1
    with Client(api_key=api_key, base_url=served) as client:
        client.webhook_endpoints.create(url=receiver.url + "/other", events=["claim.paid"])
        bound = invoke(runner, "trigger", "policy.bound", *auth)
        assert bound.exit_code == 0, bound.stderr
        wait_for(lambda: receiver.attempts >= 2)
        since = client.test_clock.retrieve().now.date().isoformat()
    recovered = invoke(runner, "endpoints", "recover", endpoint_id, "--since", since, *auth)
    assert recovered.exit_code == 0, recovered.stderr
    assert re.fullmatch(rf"[1-9][0-9]* events? sent again to {endpoint_id}", recovered.stdout.strip())
    wait_for(lambda: any(r["event"].type == "policy.bound" for r in receiver.received))


def test_usage_errors_name_the_option(runner: CliRunner, served: str, api_key: str) -> None:
    auth = ["--api-key", api_key, "--base-url", served]
    naive = runner.invoke(
        app,
        ["endpoints", "recover", "whe_x1", "--since", "2027-01-10T08:00:00", *auth],
    )
    assert naive.exit_code == 2 and "--since" in naive.stderr and "offset" in naive.stderr
    bad = runner.invoke(
        app,
        ["endpoints", "create", "https://example.com/h", "--signing", "rsa", *auth],
    )
    assert bad.exit_code == 2 and "--signing" in bad.stderr
    missing = runner.invoke(app, ["endpoints", "enable", "whe_nothere", *auth])
    assert missing.exit_code == 1 and "whe_nothere" in missing.stderr
