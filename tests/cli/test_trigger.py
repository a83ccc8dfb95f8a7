"""`yangguang trigger`: every listed event type is produced on a served sandbox, its id printed."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from tests.cli.conftest import invoke
from yangguang_sdk import Client
from yangguang_sdk.cli.trigger import TRIGGERS

BRIEF = [
    "quote.decided",
    "policy.bound",
    "policy.cancelled",
    "policy.completed",
    "repayment.created",
    "installment.overdue",
    "installment.cured",
    "loan.defaulted",
    "claim.opened",
    "claim.approved",
    "claim.paid",
    "recovery.received",
]


def test_list_shows_one_line_per_triggerable_event(runner: CliRunner) -> None:
    result = invoke(runner, "trigger", "--list")
    assert result.exit_code == 0
    lines = result.stdout.strip().splitlines()
    assert [line.split()[0] for line in lines] == BRIEF == list(TRIGGERS)


@pytest.mark.parametrize("event_type", BRIEF)
def test_trigger_produces_the_event_and_prints_its_id(
    runner: CliRunner, served: str, api_key: str, event_type: str
) -> None:
    result = invoke(runner, "trigger", event_type, "--api-key", api_key, "--base-url", served)
    assert result.exit_code == 0, result.stderr
    marked = [line for line in result.stdout.splitlines() if line.endswith("<- triggered")]
    assert marked, result.stdout
    event_id = re.search(r"evt_[a-z0-9]+", marked[0])
    assert event_id is not None
    with Client(api_key=api_key, base_url=served) as client:
        assert client.events.retrieve(event_id.group()).type == event_type
    moves_clock = event_type == "quote.decided" or TRIGGERS[event_type].days_after_due is not None
    assert ("moves this key's clock" in result.stdout) is moves_clock


def test_an_unknown_event_type_is_a_usage_error(runner: CliRunner) -> None:
    result = invoke(runner, "trigger", "claim.payed")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: cannot trigger 'claim.payed'")


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        ("claim.payed", "claim.paid"),
        ("policy.bind", "policy.bound"),
        ("loan.default", "loan.defaulted"),
        ("CLAIM.PAID", "claim.paid"),
    ],
)
def test_a_mistyped_event_type_suggests_the_close_one(runner: CliRunner, typo: str, meant: str) -> None:
    result = invoke(runner, "trigger", typo)
    assert result.exit_code == 2
    assert f"did you mean {meant}?" in result.stderr


def test_an_event_that_exists_but_cannot_be_triggered_says_so(runner: CliRunner) -> None:
    result = invoke(runner, "trigger", "claim.rejected")
    assert result.exit_code == 2
    assert "claim.rejected is an event type, but it cannot be triggered" in result.stderr


def test_an_event_type_is_required(runner: CliRunner) -> None:
    result = invoke(runner, "trigger")
    assert result.exit_code == 2
    assert "--list" in result.stderr
