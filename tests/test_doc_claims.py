"""Claims the guides make about the code, checked against the code: lists in the docs (error codes,
rules, options) that would otherwise go stale without any block failing."""

from __future__ import annotations

import re
from pathlib import Path

import typer.main

from yangguang_sdk.cli import app
from yangguang_sdk.sandbox import idempotency
from yangguang_sdk.types.policy import CANCEL_REASONS, PolicyCancelParams

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
CHECKOUT_PATH = ("bind_policy", "cancel_policy", "settle_policy", "_check_cancellable")
"""The engine methods a checkout (quote, bind, cancel, settle) goes through."""


def _conflict_codes_of_the_checkout_path() -> set[str]:
    """The ``Conflict`` codes raised by the engine methods of ``CHECKOUT_PATH``, read from the source."""
    source = (ROOT / "yangguang_sdk" / "sandbox" / "engine" / "policies.py").read_text(encoding="utf-8")
    codes: set[str] = set()
    for name in CHECKOUT_PATH:
        body = source.split(f"def {name}(", 1)[1].split("\n    def ", 1)[0]
        codes.update(re.findall(r'Conflict\(\s*"([a-z_]+)"', body))
    return codes


def test_checkout_lists_every_conflict_a_checkout_can_meet() -> None:
    codes = _conflict_codes_of_the_checkout_path() | {idempotency.IN_PROGRESS}
    assert {"quote_expired", "quote_not_bindable", "quote_already_bound", "policy_not_cancellable"} <= codes
    assert {"policy_already_cancelled", "policy_already_completed", "policy_claimed"} <= codes
    row = next(
        line
        for line in (DOCS / "checkout.md").read_text(encoding="utf-8").splitlines()
        if line.startswith("| `ConflictError`")
    )
    missing = sorted(code for code in codes if f"`{code}`" not in row)
    assert not missing, f"docs/checkout.md's ConflictError row lacks {missing}"


def test_checkout_states_the_cancel_reason_rule_of_the_request_model() -> None:
    field = PolicyCancelParams.model_fields["reason"]
    lengths = {type(m).__name__: m for m in field.metadata}
    low, high = lengths["MinLen"].min_length, lengths["MaxLen"].max_length
    text = " ".join((DOCS / "checkout.md").read_text(encoding="utf-8").split())
    assert f"`reason` is free text of {low} to {high} characters" in text
    assert f"the reason is `{field.default}`" in text
    missing = [reason for reason in CANCEL_REASONS if f"| `{reason}` |" not in text]
    assert not missing, f"docs/checkout.md's table of cancel reasons lacks {missing}"


def test_cli_docs_name_every_quote_batch_option() -> None:
    command = typer.main.get_command(app).commands["quote-batch"]  # type: ignore[attr-defined]
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    options = [
        opt for param in command.params for opt in param.opts if opt.startswith("--") and opt != "--help"
    ]
    missing = [opt for opt in options if opt not in text]
    assert not missing, f"docs/cli.md does not mention {missing}"
