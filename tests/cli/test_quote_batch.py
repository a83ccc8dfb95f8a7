"""`yangguang quote-batch`: a CSV portfolio quoted with the async client, bad rows reported without
stopping the batch, a rerun resuming where the last one stopped without quoting a row twice."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.cli.conftest import ROOT, invoke
from tests.servers import free_port
from yangguang_sdk.cli import batch
from yangguang_sdk.types.identity import resident_id_problem, social_credit_code_problem

EXAMPLE = ROOT / "examples" / "loans.csv"
BAD_ROWS = {
    24: ("invalid_parameter", "id_number"),
    25: ("invalid_row", "principal"),
    26: ("invalid_row", "credit_score"),
    27: ("invalid_parameter", "first_due_date"),
    28: ("invalid_row", "name"),
    29: ("invalid_parameter", "uscc"),
    30: ("invalid_parameter", "phone"),
    31: ("invalid_first_due_date", "first_due_date"),  # the sandbox's answer: a date in the past
    32: ("invalid_parameter", "product"),
}


def example(tmp_path: Path) -> Path:
    """A copy of examples/loans.csv as it is: its good rows' first due dates are ``today+N``, so it
    needs no shifting whatever the year (tests/cli/test_batch_dates.py moves the clock to show it)."""
    path = tmp_path / "loans.csv"
    path.write_bytes(EXAMPLE.read_bytes())
    return path


def read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def run(runner: CliRunner, loans: Path, out: Path, *extra: str) -> Any:
    return invoke(runner, "quote-batch", str(loans), "-o", str(out), "--progress", "none", *extra)


def test_example_portfolio_over_http_reports_bad_rows_and_decides_the_rest(
    runner: CliRunner, served: str, api_key: str, tmp_path: Path
) -> None:
    loans, out = example(tmp_path), tmp_path / "decisions.csv"
    result = run(runner, loans, out, "--api-key", api_key, "--base-url", served, "-c", "8")
    assert result.exit_code == 3, result.stderr  # some rows failed
    assert "15 approved, 5 declined, 3 referred, 9 errors" in result.stdout
    assert result.stderr.startswith("error: 9 row(s) failed")
    rows = {int(r["row"]): r for r in read(out)}
    inputs = read(loans)
    assert sorted(rows) == list(range(1, len(inputs) + 1)) and len(inputs) == 32
    for n, row in rows.items():
        assert row["merchant_order_id"] == inputs[n - 1]["merchant_order_id"]
        if n in BAD_ROWS:
            assert row["decision"] == "error"
            assert (row["error_code"], row["error_param"]) == BAD_ROWS[n], row
            assert row["error_message"] and not row["quote_id"]
        else:
            assert row["decision"] in ("approved", "declined", "referred"), row
            assert row["quote_id"].startswith("quo_") and row["sum_insured"]
    assert rows[1]["decision"] == "approved" and rows[1]["premium"] == "48.66"
    assert rows[4]["decision"] == "referred"  # no credit score
    assert rows[5]["decline_reason"] == "credit_score_below_threshold"
    assert rows[8]["decline_reason"] == "outside_product_limits"
    assert rows[10]["decision"] == "approved"  # an enterprise (sme_loan) row
    # identity numbers and phones never reach the output, even in error messages
    text = out.read_text(encoding="utf-8")
    assert "110105196210256338" not in text and "1380013800," not in text


def test_a_rerun_resumes_and_never_quotes_a_row_twice(
    runner: CliRunner, served: str, api_key: str, tmp_path: Path
) -> None:
    loans, out = example(tmp_path), tmp_path / "decisions.csv"
    creds = ("--api-key", api_key, "--base-url", served)
    assert run(runner, loans, out, *creds, "--batch-size", "10", "-c", "1").exit_code == 3
    first = {r["row"]: r["quote_id"] for r in read(out)}
    assert [int(r["row"]) for r in read(out)] == list(range(1, 33))  # one batch at a time: in order

    # A run killed mid-way: the first batch of 10 rows written, the next one's first line cut off
    # mid-line (a batch's lines are one write: a kill leaves whole batches, at worst a torn line).
    lines = out.read_text(encoding="utf-8").splitlines(keepends=True)
    out.write_text("".join(lines[:11]) + lines[11][:15], encoding="utf-8")
    again = run(runner, loans, out, *creds, "--batch-size", "10", "-c", "1")
    assert again.exit_code == 3
    assert "10 rows skipped, already in" in again.stdout
    rows = read(out)
    assert sorted(int(r["row"]) for r in rows) == list(range(1, 33))  # each row once
    # The redone rows replayed their first answer (same idempotency key): the same quotes.
    assert {r["row"]: r["quote_id"] for r in rows} == first

    done = run(runner, loans, out, *creds, "--batch-size", "10")
    assert done.exit_code == 3  # the error rows are still in the file
    assert "0 rows in" in done.stdout and "32 rows skipped" in done.stdout


def test_a_generated_portfolio_of_2000_rows_in_process(runner: CliRunner, tmp_path: Path) -> None:
    loans, out = tmp_path / "big.csv", tmp_path / "decisions.csv"
    made = invoke(runner, "quote-batch", "--generate", "2000", "-o", str(loans), "--seed", "7")
    assert made.exit_code == 0 and "wrote 2000 loans" in made.stdout
    result = run(runner, loans, out, "--sandbox", "-c", "64")
    assert result.exit_code == 0, result.stderr + result.stdout
    rows = read(out)
    assert sorted(int(r["row"]) for r in rows) == list(range(1, 2001))
    decisions = {r["decision"] for r in rows}
    assert decisions == {"approved", "declined", "referred"}
    assert len({r["quote_id"] for r in rows}) == 2000


def test_generated_identity_numbers_are_valid(tmp_path: Path) -> None:
    path = tmp_path / "loans.csv"
    batch.generate_loans(path, 300, seed=3, today=dt.date(2026, 11, 25))
    rows = read(path)
    assert len(rows) == 300 and list(rows[0]) == list(batch.INPUT_COLUMNS)
    for row in rows:
        if row["borrower_type"] == "enterprise":
            assert social_credit_code_problem(row["uscc"]) is None
        else:
            assert resident_id_problem(row["id_number"]) is None
        assert row["first_due_date"] > "2026-11-25"


def test_an_unreachable_server_stops_the_batch_and_writes_no_row(runner: CliRunner, tmp_path: Path) -> None:
    loans, out = example(tmp_path), tmp_path / "decisions.csv"
    url = f"http://127.0.0.1:{free_port()}"
    result = run(runner, loans, out, "--api-key", "yg_test_nobody", "--base-url", url)
    assert result.exit_code == 1
    assert "Rerun the same command to resume" in result.stderr
    # Rows refused before any request are written; the ones that needed the server are not.
    assert {r["decision"] for r in read(out)} <= {"error"}
    assert all(r["error_code"] in ("invalid_row", "invalid_parameter") for r in read(out))


def test_an_output_that_is_not_ours_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "decisions.csv"
    out.write_text("something,else\n1,2\n", encoding="utf-8")
    result = run(runner, example(tmp_path), out, "--sandbox")
    assert result.exit_code == 2
    assert "is not quote-batch output" in result.stderr
    assert out.read_text(encoding="utf-8") == "something,else\n1,2\n"


def test_a_missing_column_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    loans = tmp_path / "loans.csv"
    loans.write_text("merchant_order_id,name\nA,B\n", encoding="utf-8")
    result = run(runner, loans, tmp_path / "out.csv", "--sandbox")
    assert result.exit_code == 2
    assert "lacks the column(s) principal, term_months, annual_rate, first_due_date" in result.stderr


def test_the_input_is_required_unless_generating(runner: CliRunner, tmp_path: Path) -> None:
    result = invoke(runner, "quote-batch", "-o", str(tmp_path / "out.csv"))
    assert result.exit_code == 2 and "give the portfolio file" in result.stderr


def test_the_progress_bar_runs(runner: CliRunner, tmp_path: Path) -> None:
    result = invoke(
        runner,
        "quote-batch",
        str(example(tmp_path)),
        "-o",
        str(tmp_path / "o.csv"),
        "--sandbox",
        "--progress",
        "bar",
    )
    assert result.exit_code == 3
    assert "32/32" in result.stderr


def test_plain_progress_lines_give_rate_and_eta() -> None:
    import io

    stream = io.StringIO()
    progress = batch._PlainProgress(stream, every=0.0)
    progress.start(total=100, done=40)
    progress.advance(errors=1)
    line = stream.getvalue().strip()
    assert line.startswith("quote-batch: 41/100 rows (41.0%), ")
    assert "rows/s, ETA " in line and line.endswith("1 errors")


class _CountingClient:
    """A fake client whose batches (``POST /v1/quote_batches``, as ``quote-batch`` sends them) fail
    every item alike, counting batches in flight."""

    def __init__(self, code: str = "invalid_row") -> None:
        self.in_flight = self.peak = self.calls = self.items = 0
        self.sizes: list[int] = []
        self.code = code

    async def execute(self, request: Any) -> Any:
        from yangguang_sdk.types import QuoteBatchError

        assert (request.method, request.path) == ("POST", "/v1/quote_batches")
        items = request.body.items
        self.in_flight += 1
        self.calls += 1
        self.sizes.append(len(items))
        self.peak = max(self.peak, self.in_flight)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        self.in_flight -= 1
        data = []
        for index in range(len(items)):
            self.items += 1
            code = self.code if self.items != 50 or self.code != "mixed" else "other"
            data.append(
                QuoteBatchError(
                    index=index,
                    type="invalid_request_error",
                    code="invalid_row" if code == "mixed" else code,
                    message="not really quoted",
                )
            )
        return request.cast_to(data=data)


def test_no_more_than_concurrency_batches_are_in_flight(tmp_path: Path) -> None:
    loans, out = tmp_path / "loans.csv", tmp_path / "out.csv"
    batch.generate_loans(loans, 500, today=dt.date(2026, 11, 25))
    quotes = _CountingClient()
    client: Any = quotes
    options = batch.BatchOptions(loans, out, concurrency=7, batch_size=10, early_stop=0)
    summary = asyncio.run(batch.run_batch(client, options))
    assert quotes.items == 500 and summary.errors == 500
    assert quotes.calls == 50 and set(quotes.sizes) == {10}  # each block of 10 rows is one batch
    assert quotes.peak == 7


def test_row_set_is_a_compact_bitmap() -> None:
    rows = batch.RowSet()
    assert rows.add(100_000) and not rows.add(100_000)
    assert 100_000 in rows and 99_999 not in rows and len(rows) == 1
    assert len(rows._bits) == 100_000 // 8 + 1


@pytest.mark.parametrize(
    ("cells", "param"),
    [
        ({"principal": "12,999.00"}, None),  # a thousands separator is fine
        ({"principal": "12999.5"}, None),
        ({"principal": "1.2e"}, "principal"),
        ({"term_months": "12.0"}, "term_months"),
        ({"credit_score": ""}, None),  # empty: referred
        ({"merchant_order_id": " "}, "merchant_order_id"),
        ({"id_number": ""}, "id_number"),
        ({"first_due_date": "today+x"}, "first_due_date"),  # not a relative date the reader knows
        ({"first_due_date": "today-5"}, "first_due_date"),
        ({"first_due_date": "TODAY + 30"}, None),
    ],
)
def test_quote_request_checks_the_cells_csv_text_can_get_wrong(
    cells: dict[str, str], param: str | None
) -> None:
    row: dict[str | None, Any] = {
        "merchant_order_id": "A-1",
        "name": "张三",
        "id_number": "11010519491231002X",
        "credit_score": "720",
        "principal": "12999.00",
        "term_months": "12",
        "annual_rate": "0.12",
        "first_due_date": "2027-01-25",
    }
    row.update(cells.items())
    if param is None:
        request = batch.quote_request(row, "consumer_installment")
        assert request["borrower"]["type"] == "individual"
    else:
        with pytest.raises(batch.RowError) as caught:
            batch.quote_request(row, "consumer_installment")
        assert caught.value.param == param
        if param == "first_due_date":
            assert "today+N" in caught.value.message


def _loans(path: Path, *due_dates: str) -> Path:
    """A portfolio of approvable consumer loans, one per first due date."""
    ids = ["440305197407114045", "110105198903130746", "110105197605279310"]
    lines = [",".join(batch.INPUT_COLUMNS)]
    for n, due in enumerate(due_dates, start=1):
        lines.append(
            f"R-{n},consumer_installment,individual,张伟,{ids[n % 3]},,13800138000,720,12999.00,12,0.12,{due}"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_retry_errors_quotes_failed_rows_again_with_a_new_key_and_skips_the_rest(
    runner: CliRunner, tmp_path: Path
) -> None:
    from yangguang_sdk.sandbox import Sandbox

    # Row 3's first due date is just beyond the sandbox's 10-year limit: an error today, fine once the
    # clock has passed midnight. The sandbox keeps the error answer under the row's idempotency key.
    db = tmp_path / "sandbox.sqlite"
    start = dt.datetime(2030, 3, 1, 22, 0, tzinfo=dt.timezone.utc)
    Sandbox(db=str(db), now=start).close()
    far = (start.date() + dt.timedelta(days=3661)).isoformat()
    loans = _loans(tmp_path / "loans.csv", "2030-04-01", "2030-04-02", far)
    out = tmp_path / "decisions.csv"
    sandbox = ("--sandbox", "--sandbox-db", str(db))

    first = run(runner, loans, out, *sandbox)
    assert first.exit_code == 3
    assert {r["row"]: r["error_code"] for r in read(out)}["3"] == "invalid_first_due_date"
    quotes = {r["row"]: r["quote_id"] for r in read(out)}

    with Sandbox(db=str(db)) as sb:
        sb.advance(hours=3)  # the cause is fixed: row 3 is now within 10 years of today

    plain = run(runner, loans, out, *sandbox)  # without the flag, a rerun skips every row
    assert plain.exit_code == 3 and "3 rows skipped" in plain.stdout

    retried = run(runner, loans, out, *sandbox, "--retry-errors")
    assert retried.exit_code == 0, retried.stderr + retried.stdout
    assert "1 rows in" in retried.stdout and "1 approved" in retried.stdout
    assert "2 rows skipped" in retried.stdout
    rows = read(out)
    # the first run's lines (in completion order, as documented) stay; the retry's line comes last
    assert sorted(r["row"] for r in rows[:3]) == ["1", "2", "3"] and rows[-1]["row"] == "3"
    assert len(rows) == 4 and rows[-1]["decision"] == "approved" and rows[-1]["quote_id"].startswith("quo_")
    assert {r["row"]: r["quote_id"] for r in rows[:3] if r["row"] != "3"} == {
        k: quotes[k] for k in ("1", "2")
    }

    # The last line for a row is its result: the output now counts as complete.
    again = run(runner, loans, out, *sandbox)
    assert again.exit_code == 0, again.stderr
    assert "3 rows skipped" in again.stdout and "earlier error" not in again.stdout


@pytest.mark.parametrize(
    ("cell", "sent"),
    [
        ("today+61", "2027-01-25"),
        ("TODAY + 0", "2026-11-25"),
        ("2027-02-30", "2027-02-30"),
        ("today-3", "today-3"),
    ],
)
def test_a_relative_first_due_date_counts_from_the_insurers_today(cell: str, sent: str) -> None:
    row: dict[str | None, Any] = {"merchant_order_id": "A-1", "first_due_date": cell}
    resolved = batch.resolve_dates(row, dt.date(2026, 11, 25))
    assert resolved["first_due_date"] == sent and row["first_due_date"] == cell
    later = batch.resolve_dates(row, dt.date(2026, 11, 26))
    # the key follows the date sent: another day, another request
    same = batch.idempotency_key(resolved, "x") == batch.idempotency_key(later, "x")
    assert same is (cell == sent)


def test_retry_key_differs_from_the_first_and_between_retries() -> None:
    row: dict[str | None, Any] = {"merchant_order_id": "A-1", "name": "x", "first_due_date": "2030-01-01"}
    first = batch.idempotency_key(row, "consumer_installment")
    assert batch.idempotency_key(row, "consumer_installment", attempt=0) == first
    second = batch.idempotency_key(row, "consumer_installment", attempt=1)
    third = batch.idempotency_key(row, "consumer_installment", attempt=2)
    assert len({first, second, third}) == 3 and second.startswith(first)


def test_the_first_100_rows_failing_alike_stop_the_batch_with_their_code(
    runner: CliRunner, tmp_path: Path
) -> None:
    loans, out = tmp_path / "loans.csv", tmp_path / "decisions.csv"
    batch.generate_loans(loans, 1000, today=dt.date(2020, 1, 1))  # every first due date is past
    result = run(runner, loans, out, "--sandbox", "-c", "2")
    assert result.exit_code == 1, result.stdout + result.stderr
    assert "the first 100 rows all failed with invalid_first_due_date" in result.stderr
    assert "--retry-errors" in result.stderr  # the hint: fix the cause, then retry them
    rows = read(out)
    assert 100 <= len(rows) < 1000  # the batches in flight are written, the rest never sent
    assert len({r["row"] for r in rows}) == len(rows)  # each row once: a rerun resumes cleanly

    again = run(runner, loans, out, "--sandbox", "-c", "2")
    assert again.exit_code == 1 and f"{len(rows)} rows skipped" in again.stdout


def test_the_early_stop_needs_the_same_code_on_every_one_of_the_first_rows(tmp_path: Path) -> None:
    quotes = _CountingClient("mixed")  # the 50th item fails with another code
    client: Any = quotes
    loans, out = tmp_path / "loans.csv", tmp_path / "out.csv"
    batch.generate_loans(loans, 300, today=dt.date(2026, 11, 25))
    summary = asyncio.run(batch.run_batch(client, batch.BatchOptions(loans, out, concurrency=1)))
    assert quotes.items == 300 and summary.fatal is None


def test_the_same_failing_code_on_the_first_100_rows_stops_before_the_rest_are_sent(tmp_path: Path) -> None:
    quotes = _CountingClient()
    client: Any = quotes
    loans, out = tmp_path / "loans.csv", tmp_path / "out.csv"
    batch.generate_loans(loans, 1000, today=dt.date(2026, 11, 25))
    summary = asyncio.run(
        batch.run_batch(client, batch.BatchOptions(loans, out, concurrency=1, batch_size=50))
    )
    assert isinstance(summary.fatal, batch.EarlyStop)
    assert quotes.items < 1000 and len(read(out)) == quotes.items


def test_generate_replaces_a_portfolio_but_never_a_decisions_file(runner: CliRunner, tmp_path: Path) -> None:
    loans = tmp_path / "loans.csv"
    assert invoke(runner, "quote-batch", "--generate", "3", "-o", str(loans)).exit_code == 0
    assert (
        invoke(runner, "quote-batch", "--generate", "5", "-o", str(loans)).exit_code == 0
    )  # a portfolio again
    assert len(loans.read_text(encoding="utf-8").splitlines()) == 6
    decisions = tmp_path / "decisions.csv"
    decisions.write_text("row,merchant_order_id,decision\n1,A-1,approved\n", encoding="utf-8")
    result = invoke(runner, "quote-batch", "--generate", "3", "-o", str(decisions))
    assert result.exit_code == 2, result.output
    assert "is not a generated portfolio" in result.stderr
    assert decisions.read_text(encoding="utf-8").startswith("row,merchant_order_id,decision")


def test_a_line_from_the_batch_view_is_the_line_from_the_typed_quote(tmp_path: Path) -> None:
    """quote-batch reads each quote of a batch as the few fields its line needs
    (``cli/_batch_view.py``), not as a typed ``Quote``: every line (approved with an expiry,
    declined with no premium, referred, an error) is the one the typed quote gives."""
    import json

    from yangguang_sdk.cli._batch_view import QuoteLines
    from yangguang_sdk.sandbox import Sandbox
    from yangguang_sdk.types import QuoteBatch

    loans = tmp_path / "loans.csv"
    batch.generate_loans(loans, 60, today=dt.date(2026, 11, 25))
    with loans.open(encoding="utf-8", newline="") as f:
        requests = [batch.quote_request(row, "consumer_installment") for row in csv.DictReader(f)]
    requests[7]["loan"]["first_due_date"] = "2020-01-01"  # the insurer refuses it: an error item
    with Sandbox(now=dt.datetime(2026, 11, 25, tzinfo=dt.timezone.utc)) as sb, sb.client() as client:
        typed = client.quotes.create_batch(requests)
    body = json.dumps(typed.to_dict()).encode()
    view = QuoteLines.model_validate_json(body)
    assert {q.decision for q in typed.quotes} == {"approved", "declined", "referred"}
    assert len(typed.errors) == 1
    lines = [batch._result_row(i, "o", r) for i, r in enumerate(view.data)]
    typed_data: list[Any] = list(QuoteBatch.model_validate_json(body).data)  # Quote, not QuoteLine
    assert lines == [batch._result_row(i, "o", r) for i, r in enumerate(typed_data)]
    assert any(line[7].endswith("Z") for line in lines)  # an expiry, written as on the wire


def test_the_batch_view_refuses_an_answer_the_typed_quote_would_refuse() -> None:
    """Skipping fields is not skipping checks: a quote's money that is not Money fails to read."""
    from pydantic import ValidationError

    from yangguang_sdk.cli._batch_view import QuoteLine, QuoteLines

    quote: dict[str, Any] = {
        "object": "quote",
        "id": "quo_1",
        "decision": "approved",
        "premium": 12.5,
        "sum_insured": {"amount": 100, "currency": "CNY"},
    }
    with pytest.raises(ValidationError):
        QuoteLines.model_validate({"object": "quote_batch", "data": [quote]})
    quote["premium"] = {"amount": 1250, "currency": "CNY"}
    (line,) = QuoteLines.model_validate({"object": "quote_batch", "data": [quote]}).data
    assert isinstance(line, QuoteLine) and line.premium is not None and line.premium.amount == 1250
