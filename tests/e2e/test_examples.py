"""The story examples run from start to end, as a reader would run them, and say what they promise."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@functools.cache
def run(name: str) -> str:
    """Run ``examples/<name>`` in a fresh interpreter (once per test session); its stdout, after
    checking it exited 0."""
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        cwd=EXAMPLES.parent,
        env={**os.environ, "PYTHONIOENCODING": "utf-8", "PYTHONHASHSEED": "0"},
        timeout=120,
        check=False,
    )
    stdout, stderr = proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 0, (
        f"{name} exited {proc.returncode}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    )
    return stdout


@pytest.mark.parametrize(
    ("name", "phrases"),
    [
        (
            "checkout.py",
            [
                "the checkout shows the disclosure (承保可回溯)",
                "综合年化成本",
                "SHA-256",
                "the shop records consent CONSENT-1001 and binds,",
                "The shop finds the policy of cart-1001 by its own reference",
                "partial return of CNY 1,500.00: endorsement end_",
                "(replayed), not a second one.",
                "ORD-1003 is now approved",
                "financing_cost_cap_exceeded",
                "The statement of 2027-04 (final), what the merchant settles with the insurer:",
                "net_due",
            ],
        ),
        (
            "bank_channel.py",
            [
                "refused before it leaves the bank: beneficiary_required (beneficiary).",
                "The insurer underwrites it: approved",
                "then CNY 402,166.63 in month 12;",
                "claim clm_",
                "the insurer pays 示例银行股份有限公司杭州分行 CNY 365,850.01 (代偿).",
                "the claim.paid event names who was paid: 示例银行股份有限公司杭州分行.",
                "the insurer recovers CNY 146,340.00 from the company (追偿).",
                "insured exposure is back to CNY 0.00.",
            ],
        ),
        (
            "lending_platform.py",
            [
                "22 applications quoted, 20 bound; declined: PL-0011 (credit_score_below_threshold), "
                "PL-0016 (financing_cost_cap_exceeded).",
                "PL-0013 (马超) paid installments 1–3 and stopped.",
                "on 2027-08-03, the loan defaulted and claim clm_",
                "The portfolio at the end: 1 cancelled, 1 claimed, 18 completed.",
            ],
        ),
        (
            "webhook_outage.py",
            [
                "(webhook_endpoint.test) processed: True",
                "after four days down the endpoint is disabled (retries_exhausted)",
                "enabled again; recover sent 3 missed events",
                "a second recovery from the start finds 0 to send",
                "the shop processed 6 events, each once: True",
            ],
        ),
        (
            "portfolio_requote.py",
            [
                "2500 results for 2500 loans in 3 calls, in order.",
                "2 refused.",
                "row 7 (GEN-00000008): invalid_parameter at loan.principal: must be greater than zero",
                "row 1500 (GEN-00001501): invalid_parameter at loan.principal",
            ],
        ),
    ],
)
def test_example_runs_and_tells_its_story(name: str, phrases: list[str]) -> None:
    output = run(name)
    for phrase in phrases:
        assert phrase in output, f"{name} no longer says {phrase!r}"


def test_lending_platform_statement_reconciles_with_the_ledger() -> None:
    output = run("lending_platform.py")
    rows = {line.split()[0]: line for line in output.splitlines() if line.startswith(("  2027-", "  2028-"))}
    assert list(rows) == [f"2027-{m:02d}" for m in range(1, 13)] + ["2028-01"]
    assert "claim paid (代偿)" in rows["2027-08"] and "31,258.70" in rows["2027-08"]
    assert "recovered (追偿)" in rows["2027-09"] and "6,251.74" in rows["2027-09"]
    assert "PL-0006 #2 cured" in rows["2027-03"] and "PL-0010 settled early" in rows["2027-06"]
    total = next(line for line in output.splitlines() if line.startswith("  total"))
    # claims and recoveries follow from the schedule alone; premiums would move with the pricing
    assert total.split()[0] == "total" and total.split()[3:5] == ["31,258.70", "6,251.74"]
    assert "Reconciled: the events give the insurer's ledger to the fen" in output
