"""`yangguang quote-batch` and the insurer's today: generated loans are dated from a sandbox's clock
when they target one, and `examples/loans.csv` gives what docs/cli.md shows whatever the date.

Its own module, so its own served sandbox: these tests move that sandbox's clock."""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

from typer.testing import CliRunner

from tests.cli.conftest import ROOT, invoke
from tests.servers import free_port
from yangguang_sdk import Client

DOCS = ROOT / "docs" / "cli.md"
EXAMPLE = ROOT / "examples" / "loans.csv"
SUMMARY = re.compile(
    r"(\d+) rows in [\d.]+ s \(\d+ rows/s\): (\d+) approved, (\d+) declined, (\d+) referred, (\d+) errors"
)


def due_dates(path: Path) -> list[dt.date]:
    with open(path, newline="", encoding="utf-8") as fh:
        return [dt.date.fromisoformat(r["first_due_date"]) for r in csv.DictReader(fh)]


def sandbox_today(served: str, api_key: str) -> dt.date:
    with Client(api_key=api_key, base_url=served) as client:
        return client.test_clock.retrieve().now.date()


def advance(served: str, api_key: str, days: int) -> None:
    with Client(api_key=api_key, base_url=served) as client:
        client.test_clock.advance(days=days)


def test_generate_dates_loans_from_a_served_sandbox_clock(
    runner: CliRunner, served: str, api_key: str, tmp_path: Path
) -> None:
    advance(served, api_key, 400)
    today = sandbox_today(served, api_key)
    path = tmp_path / "loans.csv"
    result = invoke(
        runner, "quote-batch", "--generate", "50", "-o", str(path), "--api-key", api_key, "--base-url", served
    )
    assert result.exit_code == 0, result.stderr
    dates = due_dates(path)
    assert min(dates) >= today + dt.timedelta(days=20) and max(dates) <= today + dt.timedelta(days=60)
    assert f"after {today.isoformat()} on the sandbox clock" in result.stdout


def test_generate_dates_loans_from_an_in_process_sandbox_clock(runner: CliRunner, tmp_path: Path) -> None:
    from yangguang_sdk.sandbox import Sandbox

    db = tmp_path / "sandbox.sqlite"
    Sandbox(db=str(db), now=dt.datetime(2031, 6, 1, tzinfo=dt.timezone.utc)).close()
    path = tmp_path / "loans.csv"
    result = invoke(
        runner, "quote-batch", "--generate", "50", "-o", str(path), "--sandbox", "--sandbox-db", str(db)
    )
    assert result.exit_code == 0, result.stderr
    dates = due_dates(path)
    assert min(dates) >= dt.date(2031, 6, 21) and max(dates) <= dt.date(2031, 7, 31)


def test_generate_without_a_sandbox_uses_the_wall_clock(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "loans.csv"
    nowhere = f"http://127.0.0.1:{free_port()}"  # a live key: nothing is asked of the server
    result = invoke(
        runner,
        "quote-batch",
        "--generate",
        "50",
        "-o",
        str(path),
        "--api-key",
        "yg_live_abcdef",
        "--base-url",
        nowhere,
    )
    assert result.exit_code == 0, result.stderr
    today = dt.datetime.now(dt.timezone.utc).date()
    dates = due_dates(path)
    assert min(dates) >= today + dt.timedelta(days=20) and max(dates) <= today + dt.timedelta(days=61)


def test_the_example_portfolio_gives_what_the_docs_show_in_any_year(
    runner: CliRunner, served: str, tmp_path: Path
) -> None:
    text = DOCS.read_text(encoding="utf-8")
    shown = SUMMARY.search(text.split("yangguang quote-batch examples/loans.csv -o decisions.csv", 1)[1])
    assert shown is not None, "docs/cli.md no longer shows the example's summary line"
    rows, errors = int(shown.group(1)), int(shown.group(5))
    assert f"error: {errors} row(s) failed" in text
    assert f"`examples/loans.csv` is a sample of {rows} rows" in text
    with open(EXAMPLE, newline="", encoding="utf-8") as fh:
        assert len(list(csv.DictReader(fh))) == rows

    for n, days in enumerate((0, 3 * 365, 10 * 365)):  # today, and the sandbox's clock years ahead
        key = f"yg_test_example_{n}"
        if days:
            advance(served, key, days)
        out = tmp_path / f"decisions-{n}.csv"
        result = invoke(
            runner,
            "quote-batch",
            str(EXAMPLE),
            "-o",
            str(out),
            "--progress",
            "none",
            "--api-key",
            key,
            "--base-url",
            served,
        )
        assert result.exit_code == 3, result.stderr
        got = SUMMARY.search(result.stdout)
        assert got is not None and got.groups()[1:] == shown.groups()[1:], (days, result.stdout)
        assert result.stderr.startswith(f"error: {errors} row(s) failed")
