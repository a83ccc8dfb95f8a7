"""``yangguang statements MONTH``: a month's statement as a CSV file a spreadsheet opens, or as JSON.

The CSV is UTF-8 with a byte-order mark (Excel then reads Chinese order ids correctly; other
programs skip the mark) and CRLF line ends: one row per balance transaction, oldest first, then a
footer of one ``TOTAL`` row per total of the statement. Every amount is given twice: in yuan with
two decimals (``amount_cny``) and in integer fen (``amount_fen``).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from ._common import (
    EXIT_USAGE,
    ApiKeyOption,
    BaseUrlOption,
    CLIError,
    command,
    make_client,
    resolve_credentials,
)

if TYPE_CHECKING:
    from ..types.money import Money
    from ..types.statement import Statement

__all__ = ["CSV_COLUMNS", "EPILOG", "TOTALS", "statement_csv", "statements"]

CSV_COLUMNS = (
    "id",
    "created",
    "type",
    "policy_id",
    "merchant_order_id",
    "source_id",
    "amount_cny",
    "amount_fen",
)
"""The CSV's header: one row per balance transaction in these columns."""
TOTALS = ("premiums", "refunds", "commission", "claims_paid_to_merchant", "net_due")
"""The footer's rows, in order: ``TOTAL`` in ``id``, the total's name in ``type``, its amount."""
ENCODING = "utf-8-sig"
"""UTF-8 with a byte-order mark, so that Excel reads the file as UTF-8."""


def _yuan(money: Money) -> str:
    return f"{money.decimal:.2f}"


def statement_csv(statement: Statement) -> str:
    """The statement as CSV text (without the byte-order mark, which ``ENCODING`` adds)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for line in statement.lines:
        writer.writerow(
            [
                line.id,
                line.created.isoformat().replace("+00:00", "Z"),
                line.type,
                line.policy_id,
                line.merchant_order_id or "",
                line.source_id,
                _yuan(line.amount),
                line.amount.amount,
            ]
        )
    for name in TOTALS:
        total: Money = getattr(statement, name)
        writer.writerow(["TOTAL", "", name, "", "", "", _yuan(total), total.amount])
    return out.getvalue()


EPILOG = (
    "Examples:\n\n"
    "  yangguang statements 2027-01 -o statement-2027-01.csv\n"
    "  yangguang statements 2027-01 --format json\n\n"
    "The CSV is UTF-8 with a byte-order mark (Excel opens it as UTF-8), one row per balance "
    "transaction and a footer of TOTAL rows; amounts in yuan (amount_cny) and in fen (amount_fen).\n\n"
    "Exit codes: 0 ok, 1 API or runtime error, 2 usage error."
)


@command
def statements(
    month: Annotated[str, typer.Argument(metavar="MONTH", help='The month, "YYYY-MM" (UTC), e.g. 2027-01.')],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write here (default: standard output)."),
    ] = None,
    output_format: Annotated[
        Literal["csv", "json"],
        typer.Option(
            "--format",
            "-f",
            help="csv (lines and a totals footer) or json (the statement as the API gives it).",
        ),
    ] = "csv",
    api_key: ApiKeyOption = None,
    base_url: BaseUrlOption = None,
) -> None:
    """Write the statement of MONTH: every balance transaction of the month and its totals.

    Premiums are owed to the insurer (+), refunds and claims paid to you are owed to you (−); commission is 15% of premiums less refunds; net_due = premiums − refunds − commission − claims_paid_to_merchant. A statement is open until the month is over on the API's clock, then final and it never changes.
    """
    from ..types.statement import month_problem

    problem = month_problem(month)
    if problem is not None:
        raise CLIError(f"MONTH {problem}", EXIT_USAGE)
    creds = resolve_credentials(api_key, base_url)
    with make_client(creds) as client:
        statement = client.statements.retrieve(month)
    if output_format == "json":
        data = (json.dumps(statement.to_dict(), ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    else:
        data = statement_csv(statement).encode(ENCODING)
    if output is None:
        typer.echo(data, nl=False)
        return
    output.write_bytes(data)
    typer.echo(
        f"statement {statement.month} ({statement.status}): {len(statement.lines)} line(s), "
        f"net due {statement.net_due} -> {output}",
        err=True,
    )
