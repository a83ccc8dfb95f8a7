"""`yangguang statements MONTH`: a CSV a spreadsheet opens (UTF-8 with BOM, yuan and fen, a totals
footer) or JSON, written from a served sandbox's statement."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

import yangguang_sdk as yg
from tests.cli.conftest import invoke
from yangguang_sdk import Client
from yangguang_sdk.cli.statements import CSV_COLUMNS, TOTALS, statement_csv
from yangguang_sdk.testing import borrower
from yangguang_sdk.types import Statement

UTC = dt.timezone.utc


def _portfolio(served: str, api_key: str) -> str:
    """Two binds (one order id in Chinese) and a cancel on the served sandbox; returns the month."""
    with Client(api_key=api_key, base_url=served) as client:
        now = client.test_clock.retrieve().now
        for order in ("订单-甲-001", "ORD-2"):
            quote = client.quotes.create(
                product="consumer_installment",
                merchant_order_id=order,
                borrower=borrower("consumer_installment", credit_score=720),
                loan={
                    "principal": yg.Money.cny("12999.00"),
                    "term_months": 12,
                    "annual_rate": "0.12",
                    "first_due_date": (now + dt.timedelta(days=40)).date().isoformat(),
                },
            )
            policy = client.policies.bind(quote_id=quote.id, consent=yg.consent(client, reference=order))
        client.policies.cancel(policy.id, reason="order_refunded")
        return f"{now.year:04d}-{now.month:02d}"


def _rows(raw: bytes) -> list[dict[str, str]]:
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads the file as UTF-8
    text = raw.decode("utf-8-sig")
    assert "\r\n" in text
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_has_a_row_per_line_and_a_footer_equal_to_the_totals(
    runner: CliRunner, served: str, api_key: str, tmp_path: Path
) -> None:
    month = _portfolio(served, api_key)
    out = tmp_path / "statement.csv"
    result = invoke(runner, "statements", month, "-o", str(out), "--api-key", api_key, "--base-url", served)
    assert result.exit_code == 0, result.stderr
    assert f"statement {month} (open): 3 line(s)" in result.stderr
    rows = _rows(out.read_bytes())
    with Client(api_key=api_key, base_url=served) as client:
        statement = client.statements.retrieve(month)
    body, footer = rows[: -len(TOTALS)], rows[-len(TOTALS) :]
    assert [r["id"] for r in body] == [line.id for line in statement.lines]
    assert [r["merchant_order_id"] for r in body] == ["订单-甲-001", "ORD-2", "ORD-2"]
    assert [r["type"] for r in body] == ["premium", "premium", "premium_refund"]
    for row, line in zip(body, statement.lines, strict=True):
        assert int(row["amount_fen"]) == line.amount.amount
        assert Decimal(row["amount_cny"]) == line.amount.decimal
        assert len(row["amount_cny"].split(".")[1]) == 2
    assert [r["id"] for r in footer] == ["TOTAL"] * len(TOTALS)
    for row in footer:
        total = getattr(statement, row["type"])
        assert int(row["amount_fen"]) == total.amount and Decimal(row["amount_cny"]) == total.decimal
    totals = {r["type"]: int(r["amount_fen"]) for r in footer}
    assert sum(int(r["amount_fen"]) for r in body) == (
        totals["premiums"] - totals["refunds"] - totals["claims_paid_to_merchant"]
    )
    assert totals["net_due"] == (
        totals["premiums"] - totals["refunds"] - totals["commission"] - totals["claims_paid_to_merchant"]
    )


def test_json_to_stdout_is_the_statement(runner: CliRunner, served: str, api_key: str) -> None:
    month = _portfolio(served, api_key)
    result = invoke(
        runner, "statements", month, "--format", "json", "--api-key", api_key, "--base-url", served
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["month"] == month and len(data["lines"]) == 3
    assert data["lines"][0]["merchant_order_id"] == "订单-甲-001"
    Statement.model_validate(data)


def test_csv_to_stdout_without_output(runner: CliRunner, served: str, api_key: str) -> None:
    month = _portfolio(served, api_key)
    result = invoke(runner, "statements", month, "--api-key", api_key, "--base-url", served)
    assert result.exit_code == 0, result.stderr
    rows = _rows(result.stdout_bytes)
    assert len(rows) == 3 + len(TOTALS)


def test_a_bad_month_is_a_usage_error_before_any_request(runner: CliRunner) -> None:
    result = invoke(
        runner, "statements", "2027-13", "--api-key", "yg_test_nobody", "--base-url", "http://127.0.0.1:9"
    )
    assert result.exit_code == 2
    assert "MONTH" in result.stderr and "01 to 12" in result.stderr


def test_statement_csv_of_an_empty_final_month() -> None:
    zero = {"amount": 0, "currency": "CNY"}
    statement = Statement.model_validate(
        {
            "month": "2027-01",
            "status": "final",
            **{name: zero for name in TOTALS},
            "lines": [],
        }
    )
    rows = list(csv.reader(io.StringIO(statement_csv(statement))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert rows[1:] == [["TOTAL", "", name, "", "", "", "0.00", "0"] for name in TOTALS]


def test_negative_amounts_keep_two_decimals() -> None:
    line = {
        "id": "btx_1",
        "type": "premium_refund",
        "amount": {"amount": -5, "currency": "CNY"},
        "policy_id": "pol_1",
        "merchant_order_id": None,
        "source_id": "pol_1",
        "created": "2027-01-31T23:59:59Z",
    }
    money = {"amount": -5, "currency": "CNY"}
    statement = Statement.model_validate(
        {"month": "2027-01", "status": "open", **{name: money for name in TOTALS}, "lines": [line]}
    )
    rows = list(csv.reader(io.StringIO(statement_csv(statement))))
    assert rows[1] == ["btx_1", "2027-01-31T23:59:59Z", "premium_refund", "pol_1", "", "pol_1", "-0.05", "-5"]
