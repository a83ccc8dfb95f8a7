"""``yangguang quote-batch``: quote a portfolio from a CSV file with the async client.

Rows go to the insurer in batches (``client.quotes.create_batch``, ``POST /v1/quote_batches``): each
block of ``batch_size`` input rows (rows 1-100, 101-200, ...) is one request for its rows not yet
done, ``concurrency`` batches in flight. The input is read as a stream through a bounded queue, so
memory stays flat whatever the file's size. Each batch's lines are appended to the output in one
write and flushed at once. A rerun with the same output file skips the rows already there, so it
sends the same batches as the run it resumes, under the same idempotency keys (derived from the
batch's rows): a batch that was in flight when the process died comes back as the same quotes,
never second ones. The output is a log: the last line for a row is its result (``--retry-errors``
appends a new line for a row that failed before, under a new key, since the old one has the
failure stored).

A first due date may be written ``today+N``: N days after the insurer's today (a sandbox's clock
for a test key, else the UTC date), so a sample portfolio stays valid in any year.

The command (options, messages, exit codes) is ``quote_batch`` at the end.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Protocol, TextIO

import typer

from ..errors import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    PermissionDeniedError,
)
from ._common import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_PARTIAL,
    EXIT_USAGE,
    ApiKeyOption,
    BaseUrlOption,
    CLIError,
    command,
    one_line,
    resolve_credentials,
)

if TYPE_CHECKING:
    from .. import AsyncClient
    from ..types.money import Money
    from ..types.quote_batch import QuoteBatchError
    from ._batch_view import QuoteLine

__all__ = [
    "INPUT_COLUMNS",
    "PARTY_COLUMNS",
    "REQUIRED_COLUMNS",
    "OUTPUT_COLUMNS",
    "BatchOptions",
    "BatchSummary",
    "RowError",
    "RowSet",
    "quote_request",
    "input_row",
    "idempotency_key",
    "resolve_dates",
    "EarlyStop",
    "EARLY_STOP_ROWS",
    "run_batch",
    "count_rows",
    "generate_loans",
    "make_progress",
    "quote_batch",
    "EPILOG",
]

PARTY_COLUMNS = (
    "repayment_method",
    "beneficiary_type",
    "beneficiary_name",
    "beneficiary_uscc",
    "vin",
    "guarantor_name",
    "guarantor_uscc",
    "contract_number",
)
"""The columns of DESIGN §7.5 (method, beneficiary, vehicle, guarantor, contract): optional, and
left out of a row's idempotency key while empty, so a file without them keeps its keys."""
INPUT_COLUMNS = (
    "merchant_order_id",
    "product",
    "borrower_type",
    "name",
    "id_number",
    "uscc",
    "phone",
    "credit_score",
    "principal",
    "term_months",
    "annual_rate",
    "first_due_date",
    *PARTY_COLUMNS,
)
REQUIRED_COLUMNS = ("merchant_order_id", "name", "principal", "term_months", "annual_rate", "first_due_date")
OUTPUT_COLUMNS = (
    "row",
    "merchant_order_id",
    "decision",
    "premium",
    "sum_insured",
    "decline_reason",
    "quote_id",
    "expires_at",
    "error_code",
    "error_param",
    "error_message",
)
PLAIN_PROGRESS_EVERY = 5.0
"""Seconds between progress lines when stderr is not a terminal."""
EARLY_STOP_ROWS = 100
"""When this run's first this-many rows all fail with one error code, the rest would too: stop."""
DEFAULT_BATCH_SIZE = 100
"""When this run's first this-many rows all fail with one error code, the rest would too: stop."""


# -- rows -------------------------------------------------------------------------------------------
class RowError(Exception):
    """A row that cannot become a quote request; ``param`` is the CSV column at fault."""

    def __init__(self, param: str | None, message: str, code: str = "invalid_row") -> None:
        super().__init__(message)
        self.param = param
        self.message = message
        self.code = code


def _cell(row: dict[str | None, Any], name: str) -> str:
    value = row.get(name)
    return value.strip() if isinstance(value, str) else ""


def _integer(row: dict[str | None, Any], name: str, what: str) -> int | None:
    text = _cell(row, name)
    if not text:
        return None
    if not (text.isascii() and text.isdigit()):
        raise RowError(name, f"must be {what}")
    return int(text)


def quote_request(row: dict[str | None, Any], default_product: str) -> dict[str, Any]:
    """The ``client.quotes.create`` arguments for one CSV row; raises RowError for a bad cell.

    Only what CSV text cannot say is checked here (numbers, required cells); identity numbers,
    dates, rates and product names are checked by the SDK's own validation, which names the field.
    Messages never repeat an identity number or a phone number.
    """
    from ..types.money import Money
    from ..types.products import PRODUCTS

    if row.get(None):
        raise RowError(None, "the row has more cells than the header has columns")
    order = _cell(row, "merchant_order_id")
    if not order:
        raise RowError("merchant_order_id", "is required")
    product = _cell(row, "product") or default_product
    kind = _cell(row, "borrower_type") or (
        PRODUCTS[product].borrower_types[0] if product in PRODUCTS else "individual"
    )
    name = _cell(row, "name")
    if not name:
        raise RowError("name", "is required")
    borrower: dict[str, Any] = {"type": kind, "name": name}
    if kind == "enterprise":
        uscc = _cell(row, "uscc")
        if not uscc:
            raise RowError("uscc", "is required for an enterprise borrower")
        borrower["uscc"] = uscc
    else:
        id_number = _cell(row, "id_number")
        if not id_number:
            raise RowError("id_number", "is required for an individual borrower")
        borrower["id_number"] = id_number
        phone = _cell(row, "phone")
        if phone:
            borrower["phone"] = phone
    score = _integer(row, "credit_score", "a whole number from 300 to 850 (or empty: the quote is referred)")
    if score is not None:
        borrower["credit_score"] = score

    principal_text = _cell(row, "principal")
    if not principal_text:
        raise RowError("principal", "is required (yuan, e.g. 12999.00)")
    try:
        principal = Money.cny(principal_text)
    except (TypeError, ValueError) as exc:
        raise RowError(
            "principal", f"{one_line(exc)} (yuan with at most 2 decimals, e.g. 12999.00)"
        ) from None
    term = _integer(row, "term_months", "a whole number of months")
    if term is None:
        raise RowError("term_months", "is required")
    rate = _cell(row, "annual_rate")
    if not rate:
        raise RowError("annual_rate", "is required (a decimal fraction, e.g. 0.12 for 12%)")
    first_due = _cell(row, "first_due_date")
    if not first_due:
        raise RowError("first_due_date", "is required (YYYY-MM-DD)")
    if first_due.lower().startswith("today") and _RELATIVE_DATE.fullmatch(first_due) is None:
        raise RowError("first_due_date", "write today+N (N days after the insurer's today) or YYYY-MM-DD")
    request: dict[str, Any] = {
        "product": product,
        "merchant_order_id": order,
        "borrower": borrower,
        "loan": {
            "principal": principal,
            "term_months": term,
            "annual_rate": rate,
            "first_due_date": first_due,
        },
    }
    method = _cell(row, "repayment_method")
    if method:
        request["loan"]["repayment_method"] = method
    for name, columns in _PARTY_FIELDS.items():
        cells = {key: _cell(row, column) for key, column in columns.items()}
        if any(cells.values()):
            request[name] = {key: value for key, value in cells.items() if value}
    return request


_PARTY_FIELDS: dict[str, dict[str, str]] = {
    "beneficiary": {"type": "beneficiary_type", "name": "beneficiary_name", "uscc": "beneficiary_uscc"},
    "vehicle": {"vin": "vin"},
    "guarantor": {"name": "guarantor_name", "uscc": "guarantor_uscc"},
    "contract": {"number": "contract_number"},
}
"""The request's objects of DESIGN §7.5, each field from its CSV column."""


def input_row(request: dict[str, Any]) -> list[str]:
    """The CSV cells (``INPUT_COLUMNS``) of a ``client.quotes.create`` request: ``quote_request``
    the other way round, for writing generated loans."""
    borrower, loan = request["borrower"], request["loan"]
    score = borrower.get("credit_score")
    cells = {
        "merchant_order_id": request["merchant_order_id"],
        "product": request["product"],
        "borrower_type": borrower["type"],
        "name": borrower["name"],
        "id_number": borrower.get("id_number", ""),
        "uscc": borrower.get("uscc", ""),
        "phone": borrower.get("phone", ""),
        "credit_score": "" if score is None else str(score),
        "principal": _money_text(loan["principal"]),
        "term_months": str(loan["term_months"]),
        "annual_rate": str(loan["annual_rate"]),
        "first_due_date": str(loan["first_due_date"]),
        "repayment_method": loan.get("repayment_method", ""),
    }
    for name, columns in _PARTY_FIELDS.items():
        given = request.get(name) or {}
        for key, column in columns.items():
            cells[column] = str(given.get(key, ""))
    return [cells[column] for column in INPUT_COLUMNS]


def idempotency_key(row: dict[str | None, Any], default_product: str, attempt: int = 0) -> str:
    """``batch-<merchant_order_id>-<digest of the row>``: the same row always gets the same key, so
    quoting it again (a resume after a crash) replays the first answer instead of quoting twice; a
    corrected row gets a new key and is quoted afresh.

    ``attempt`` counts the error lines the output already holds for the row (``--retry-errors``):
    retry ``k`` adds ``-retry<k>``, because the first key has the failed answer stored. It is still
    derived from the output, so a retry cut short by a crash comes back under the same key."""
    cells = [_cell(row, c) for c in INPUT_COLUMNS]
    cells[1] = cells[1] or default_product
    while len(cells) > len(INPUT_COLUMNS) - len(PARTY_COLUMNS) and not cells[-1]:
        cells.pop()  # empty new columns: the key of a row written before they existed
    digest = hashlib.sha256(json.dumps(cells, ensure_ascii=False).encode()).hexdigest()[:16]
    key = f"batch-{_cell(row, 'merchant_order_id')[:200]}-{digest}"
    return f"{key}-retry{attempt}" if attempt else key


_RELATIVE_DATE = re.compile(r"today\s*\+\s*(\d{1,5})", re.IGNORECASE)


def resolve_dates(row: dict[str | None, Any], today: dt.date) -> dict[str | None, Any]:
    """``row`` with a ``today+N`` first due date made the date N days after ``today`` (the row
    itself when its date is a plain one). The key is derived from the date sent, so the same row
    sent on another day is another request."""
    match = _RELATIVE_DATE.fullmatch(_cell(row, "first_due_date"))
    if match is None:
        return row
    return {**row, "first_due_date": (today + dt.timedelta(days=int(match.group(1)))).isoformat()}


def _has_relative_date(row: dict[str | None, Any]) -> bool:
    return _RELATIVE_DATE.fullmatch(_cell(row, "first_due_date")) is not None


_PARAM_COLUMNS = {
    "borrower.type": "borrower_type",
    # a field of an object (beneficiary.uscc), and the object itself (beneficiary: its first column)
    **{
        f"{field}.{key}": column
        for field, columns in _PARTY_FIELDS.items()
        for key, column in columns.items()
    },
    **{field: next(iter(columns.values())) for field, columns in _PARTY_FIELDS.items()},
}


def _column(param: str | None) -> str:
    """The CSV column an SDK or API ``param`` (``loan.principal``, ``borrower.id_number``) refers to."""
    if not param:
        return ""
    if param in _PARAM_COLUMNS:
        return _PARAM_COLUMNS[param]
    for prefix in ("borrower.", "loan."):
        if param.startswith(prefix):
            return param[len(prefix) :]
    return param


def _money_text(value: Money | None) -> str:
    return "" if value is None else f"{value.decimal:.2f}"


def _error_row(n: int, order: str, code: str, param: str | None, message: str) -> list[str]:
    return [str(n), order, "error", "", "", "", "", "", code, _column(param), one_line(message)]


_FATAL = (AuthenticationError, PermissionDeniedError, APIConnectionError)
"""Errors that would fail every row alike: stop the batch, write nothing for the rows in flight."""


Pending = tuple[int, dict[str | None, Any], int]
"""A row to quote: its number, its cells and its retry number (``idempotency_key``'s ``attempt``)."""


def batch_key(keys: list[str], first: int) -> str:
    """The idempotency key of a batch: ``batch-<first row>-<digest of its rows' keys>``. The rows'
    own keys (``idempotency_key``) hold their cells, resolved dates and retry numbers, so the same
    rows sent again (a resume after a crash) replay the first answer."""
    digest = hashlib.sha256(json.dumps(keys, ensure_ascii=False).encode()).hexdigest()[:32]
    return f"batch-{first}-{digest}"


async def _quote_rows(
    client: AsyncClient,
    rows: list[Pending],
    product: str,
    today: Callable[[], Awaitable[dt.date]] | None = None,
) -> list[list[str]]:
    """The output lines of ``rows`` (in their order), quoted in one ``quotes.create_batch``: rows
    the CLI or the SDK refuse are error lines without a request; an error of the whole call that
    would hit every batch alike (``_FATAL``) is raised."""
    records: dict[int, list[str]] = {}
    requests: list[dict[str, Any]] = []
    sent: list[tuple[int, str]] = []
    keys: list[str] = []
    for n, row, attempt in rows:
        order = _cell(row, "merchant_order_id")
        try:
            if today is not None and _has_relative_date(row):
                row = resolve_dates(row, await today())
            requests.append(quote_request(row, product))
        except RowError as exc:
            records[n] = _error_row(n, order, exc.code, exc.param, exc.message)
            continue
        sent.append((n, order))
        keys.append(idempotency_key(row, product, attempt))
    if requests:
        from ..resources.quotes import create_batch
        from ._batch_view import QuoteLines

        # client.quotes.create_batch's own checks and request, its answer read as the few fields a
        # line needs (_batch_view.py): the typed quotes cost more than the rest of this command.
        plan = create_batch(requests, idempotency_key=batch_key(keys, sent[0][0]))
        request = plan.request_as(QuoteLines)
        answer: QuoteLines | None = None
        try:
            if request is not None:
                answer = await client.execute(request)
        except _FATAL:
            raise
        except APIStatusError as exc:
            code = exc.code or f"http_{exc.status_code}"
            for n, order in sent:
                records[n] = _error_row(n, order, code, exc.param, exc.message)
        else:
            results = plan.ordered(None if answer is None else answer.data)
            for (n, order), result in zip(sent, results, strict=True):
                records[n] = _result_row(n, order, result)
    return [records[n] for n, _, _ in rows]


def _result_row(n: int, order: str, result: QuoteLine | QuoteBatchError) -> list[str]:
    if result.object == "error":
        return _error_row(n, order, result.code, result.param, result.message)
    expires = result.expires_at.isoformat().replace("+00:00", "Z") if result.expires_at else ""
    return [
        str(n),
        order,
        result.decision,
        _money_text(result.premium),
        _money_text(result.sum_insured),
        result.decline_reason or "",
        result.id,
        expires,
        "",
        "",
        "",
    ]


# -- resuming ----------------------------------------------------------------------------------------
class RowSet:
    """A set of row numbers as a bitmap: 100,000 rows take 12.5 kB, not megabytes of ints."""

    __slots__ = ("_bits", "_count")

    def __init__(self) -> None:
        self._bits = bytearray()
        self._count = 0

    def add(self, n: int) -> bool:
        """Add ``n``; False when it was there already."""
        index, bit = divmod(n, 8)
        if index >= len(self._bits):
            self._bits.extend(bytes(index + 1 - len(self._bits)))
        if self._bits[index] & (1 << bit):
            return False
        self._bits[index] |= 1 << bit
        self._count += 1
        return True

    def __contains__(self, n: object) -> bool:
        if not isinstance(n, int) or n < 0:
            return False
        index, bit = divmod(n, 8)
        return index < len(self._bits) and bool(self._bits[index] & (1 << bit))

    def __len__(self) -> int:
        return self._count

    def discard(self, n: int) -> None:
        """Remove ``n`` if it is there."""
        if n in self:
            index, bit = divmod(n, 8)
            self._bits[index] &= ~(1 << bit) & 0xFF
            self._count -= 1


@dataclass
class _Previous:
    """What the output already says. A row may have several lines (an error, then its retry): the
    last one is its result."""

    done: RowSet = field(default_factory=RowSet)
    failed: RowSet = field(default_factory=RowSet)
    """Rows whose last line is an error."""
    error_lines: RowSet = field(default_factory=RowSet)
    """Rows with at least one error line (with ``repeats``, how many: the next retry's number)."""
    repeats: dict[int, int] = field(default_factory=dict)
    has_header: bool = False

    @property
    def errors(self) -> int:
        return len(self.failed)

    def add(self, n: int, error: bool) -> None:
        self.done.add(n)
        if not error:
            self.failed.discard(n)
            return
        self.failed.add(n)
        if not self.error_lines.add(n):
            self.repeats[n] = self.repeats.get(n, 1) + 1

    def attempts(self, n: int) -> int:
        """Error lines for row ``n`` so far."""
        return self.repeats.get(n, 1) if n in self.error_lines else 0


def _drop_partial_line(path: Path) -> None:
    """Cut a last line left half-written by a killed run (every record is one line ending in \\n)."""
    with open(path, "rb+") as fh:
        size = fh.seek(0, os.SEEK_END)
        if size == 0:
            return
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return
        end = size
        while end > 0:
            start = max(0, end - 65536)
            fh.seek(start)
            chunk = fh.read(end - start)
            cut = chunk.rfind(b"\n")
            if cut >= 0:
                fh.truncate(start + cut + 1)
                return
            end = start
        fh.truncate(0)


def _read_previous(path: Path) -> _Previous:
    """The rows a previous run already wrote to ``path`` (streamed, one row at a time)."""
    previous = _Previous()
    if not path.exists():
        return previous
    _drop_partial_line(path)
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None:
            return previous
        if tuple(header) != OUTPUT_COLUMNS:
            raise CLIError(
                f"{path} exists but is not quote-batch output (its header differs); "
                "pick another -o/--output or delete the file",
                EXIT_USAGE,
            )
        previous.has_header = True
        for record in reader:
            if len(record) != len(OUTPUT_COLUMNS) or not record[0].isdigit():
                continue
            previous.add(int(record[0]), record[2] == "error")
    return previous


def count_rows(path: Path) -> int:
    """Data rows in a CSV file, by counting line ends (for the progress bar; quoted newlines inside
    a cell make it an over-estimate, which only shows as an early finish)."""
    lines, last = 0, b"\n"
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    if last != b"\n":
        lines += 1
    return max(lines - 1, 0)


# -- progress ------------------------------------------------------------------------------------------
class Progress(Protocol):
    def start(self, total: int, done: int) -> None: ...
    def advance(self, errors: int) -> None: ...
    def close(self) -> None: ...


class _NoProgress:
    def start(self, total: int, done: int) -> None:
        pass

    def advance(self, errors: int) -> None:
        pass

    def close(self) -> None:
        pass


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class _PlainProgress:
    """A line every few seconds on stderr, for logs and CI where a bar would be noise."""

    def __init__(self, stream: TextIO, every: float = PLAIN_PROGRESS_EVERY) -> None:
        self._stream = stream
        self._every = every
        self._total = self._done = self._here = self._errors = 0
        self._started = self._last = time.monotonic()

    def start(self, total: int, done: int) -> None:
        self._total, self._done = total, done
        self._started = self._last = time.monotonic()

    def advance(self, errors: int) -> None:
        self._done += 1
        self._here += 1
        self._errors = errors
        now = time.monotonic()
        if now - self._last >= self._every:
            self._last = now
            self._line(now)

    def _line(self, now: float) -> None:
        rate = self._here / max(now - self._started, 1e-9)
        left = max(self._total - self._done, 0)
        eta = _duration(left / rate) if rate > 0 else "?"
        share = f" ({100 * self._done / self._total:.1f}%)" if self._total else ""
        print(
            f"quote-batch: {self._done}/{self._total} rows{share}, {rate:.0f} rows/s, ETA {eta}, "
            f"{self._errors} errors",
            file=self._stream,
            flush=True,
        )

    def close(self) -> None:
        pass


class _RichProgress:
    """A rich progress bar with rate and ETA, on stderr (stdout stays for the summary)."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichBar

        self._bar = RichBar(
            TextColumn("quoting"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[rate]} rows/s"),
            TextColumn("errors {task.fields[errors]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            refresh_per_second=4,
        )
        self._task: Any = None
        self._here = 0
        self._started = time.monotonic()

    def start(self, total: int, done: int) -> None:
        self._bar.start()
        self._started = time.monotonic()
        self._task = self._bar.add_task("quote", total=total, completed=done, rate="-", errors=0)

    def advance(self, errors: int) -> None:
        self._here += 1
        rate = self._here / max(time.monotonic() - self._started, 1e-9)
        self._bar.update(self._task, advance=1, rate=f"{rate:.0f}", errors=errors)

    def close(self) -> None:
        self._bar.stop()


def make_progress(mode: str) -> Progress:
    """``auto`` (a bar on a terminal, plain lines otherwise), ``bar``, ``plain`` or ``none``."""
    if mode == "auto":
        mode = "bar" if sys.stderr.isatty() else "plain"
    if mode == "bar":
        return _RichProgress()
    if mode == "plain":
        return _PlainProgress(sys.stderr)
    return _NoProgress()


# -- the batch ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BatchOptions:
    input: Path
    output: Path
    concurrency: int = 4
    """Batches in flight at once."""
    product: str = "consumer_installment"
    batch_size: int = DEFAULT_BATCH_SIZE
    """Rows per ``quotes.create_batch`` call (1-1,000): each block of this many input rows is one
    batch of its rows not yet done."""
    retry_errors: bool = False
    """Quote again the rows whose last line in the output is an error (under a new key)."""
    early_stop: int = EARLY_STOP_ROWS
    """Stop when this run's first ``early_stop`` rows all fail with one code (0: never)."""
    sandbox_clock: bool = False
    """``today+N`` dates count from ``client.test_clock`` (a test key), not the UTC date."""


class EarlyStop(CLIError):
    """The first rows of a run all failed alike: the batch stopped before sending the rest."""


@dataclass
class BatchSummary:
    """What a run did: rows quoted now by decision, rows skipped as already done, errors."""

    decisions: Counter[str] = field(default_factory=Counter)
    skipped: int = 0
    retried: int = 0
    previous_errors: int = 0
    elapsed: float = 0.0
    fatal: BaseException | None = None

    @property
    def quoted(self) -> int:
        return sum(self.decisions.values())

    @property
    def errors(self) -> int:
        return self.decisions["error"]

    @property
    def total_errors(self) -> int:
        """Error rows in the whole output file, this run's and earlier runs'."""
        return self.errors + self.previous_errors

    def describe(self, output: Path) -> str:
        rate = self.quoted / self.elapsed if self.elapsed > 0 else 0.0
        parts = [f"{self.decisions[d]} {d}" for d in ("approved", "declined", "referred")]
        parts.append(f"{self.errors} error{'s' if self.errors != 1 else ''}")
        text = f"{self.quoted} rows in {self.elapsed:.1f} s ({rate:.0f} rows/s): {', '.join(parts)}"
        if self.retried:
            text += f" ({self.retried} of them retried)"
        if self.skipped:
            text += f"; {self.skipped} rows skipped, already in {output}"
        if self.previous_errors:
            text += f"; {self.previous_errors} earlier error rows in {output}"
        return f"{text} -> {output}"


def _open_input(path: Path) -> tuple[TextIO, Iterator[dict[str | None, Any]]]:
    try:
        fh = open(path, newline="", encoding="utf-8-sig")  # utf-8-sig: Excel's BOM is not a column name
    except OSError as exc:
        raise CLIError(f"cannot read {path}: {exc.strerror or exc}", EXIT_USAGE) from None
    reader = csv.DictReader(fh)
    try:
        header = reader.fieldnames
    except (UnicodeDecodeError, csv.Error) as exc:
        fh.close()
        raise CLIError(f"{path} is not a UTF-8 CSV file: {one_line(exc)}", EXIT_USAGE) from None
    if not header:
        fh.close()
        raise CLIError(
            f"{path} is empty: expected a header line with {', '.join(REQUIRED_COLUMNS)}", EXIT_USAGE
        )
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        fh.close()
        raise CLIError(
            f"{path} lacks the column(s) {', '.join(missing)} (see `yangguang quote-batch --help`)",
            EXIT_USAGE,
        )
    return fh, iter(reader)


async def run_batch(
    client: AsyncClient, options: BatchOptions, progress: Progress | None = None
) -> BatchSummary:
    """Quote every row of ``options.input`` not yet in ``options.output``, in batches of up to
    ``batch_size`` rows, ``concurrency`` batches at a time.

    One reader feeds a bounded queue of batches; ``concurrency`` workers quote a batch and append its
    lines in one write, flushed at once. Errors that would hit every row (401, 403, the server unreachable) stop the batch: the
    rows in flight are not written, so a rerun quotes them (and their idempotency keys make that safe).
    So do ``early_stop`` identical errors at the start (``EarlyStop``): the rows in flight are
    written, every line is a whole result, and a rerun goes on from there.
    """
    progress = progress or _NoProgress()
    if options.input.resolve() == options.output.resolve():
        raise CLIError("the output file must not be the input file", EXIT_USAGE)
    if not 1 <= options.concurrency <= 1000:
        raise CLIError("--concurrency must be from 1 to 1000", EXIT_USAGE)
    from ..types.quote_batch import QUOTE_BATCH_MAX_ITEMS

    if not 1 <= options.batch_size <= QUOTE_BATCH_MAX_ITEMS:
        raise CLIError(f"--batch-size must be from 1 to {QUOTE_BATCH_MAX_ITEMS}", EXIT_USAGE)
    in_fh, rows = _open_input(options.input)
    summary = BatchSummary()
    try:
        previous = _read_previous(options.output)
        summary.previous_errors = 0 if options.retry_errors else previous.errors
        try:
            out = open(options.output, "a", newline="", encoding="utf-8")
        except OSError as exc:
            raise CLIError(f"cannot write {options.output}: {exc.strerror or exc}", EXIT_ERROR) from None
        with out:
            writer = csv.writer(out, lineterminator="\n")
            if not previous.has_header:
                writer.writerow(OUTPUT_COLUMNS)
                out.flush()
            total = count_rows(options.input)
            progress.start(total, len(previous.done) - (len(previous.failed) if options.retry_errors else 0))
            started = time.monotonic()
            try:
                await _pump(client, options, rows, previous, out, summary, progress)
            finally:
                summary.elapsed = time.monotonic() - started
                progress.close()
    finally:
        in_fh.close()
    return summary


async def _pump(
    client: AsyncClient,
    options: BatchOptions,
    rows: Iterator[dict[str | None, Any]],
    previous: _Previous,
    out: TextIO,
    summary: BatchSummary,
    progress: Progress,
) -> None:
    import asyncio  # here, not at the top: `yangguang --help` need not pay for it
    import io

    queue: asyncio.Queue[list[Pending] | None] = asyncio.Queue(options.concurrency * 2)
    stop = asyncio.Event()
    today = _today_source(client, options.sandbox_clock, asyncio.Lock())
    first: dict[str, str] = {}  # the first error of this run (code, message), while all are alike

    async def read() -> None:
        # Rows are grouped by their place in the input (rows 1-100, 101-200, ...), each group's rows
        # not yet done making one batch: what a group sends depends only on the input and the
        # output, so a rerun sends the same batches under the same keys.
        block: list[Pending] = []
        try:
            for n, row in enumerate(rows, start=1):
                if stop.is_set():
                    break
                if block and (n - 1) // options.batch_size != (block[0][0] - 1) // options.batch_size:
                    await queue.put(block)
                    block = []
                attempt = 0
                if n in previous.done:
                    if not (options.retry_errors and n in previous.failed):
                        summary.skipped += 1
                        continue
                    attempt = previous.attempts(n)
                    summary.retried += 1
                block.append((n, row, attempt))
            if block and not stop.is_set():
                await queue.put(block)
        except (UnicodeDecodeError, csv.Error) as exc:
            summary.fatal = CLIError(f"{options.input}: {one_line(exc)}", EXIT_USAGE)
            stop.set()
        finally:
            for _ in range(options.concurrency):
                await queue.put(None)

    async def work() -> None:
        while (block := await queue.get()) is not None:
            if stop.is_set():
                continue  # keep draining so the reader never blocks
            try:
                records = await _quote_rows(client, block, options.product, today)
            except _FATAL as exc:
                if summary.fatal is None:
                    summary.fatal = exc
                stop.set()
                continue
            text = io.StringIO()
            csv.writer(text, lineterminator="\n").writerows(records)
            out.write(text.getvalue())  # a batch's lines in one write: a kill loses whole batches
            out.flush()
            for record in records:
                summary.decisions[record[2]] += 1
                progress.advance(summary.total_errors)
                if summary.quoted <= options.early_stop and first.get("code") != "":
                    check_early_stop(record)

    def check_early_stop(record: list[str]) -> None:
        """Stop once the first ``early_stop`` rows have all failed with one code (``first`` holds
        that code, or "" once a row has not)."""
        code = record[8] if record[2] == "error" else ""
        if not first:
            first.update(code=code, message=record[10])
        elif code != first["code"]:
            first["code"] = ""
        if first["code"] and summary.quoted == options.early_stop and summary.fatal is None:
            summary.fatal = EarlyStop(
                f"the first {options.early_stop} rows all failed with {first['code']} "
                f"(e.g. {first['message']}), so the other rows were not sent. Fix the cause, then "
                "rerun the same command with --retry-errors: the rows written are kept, the failed "
                "ones are tried again and the rest are quoted",
                EXIT_ERROR,
            )
            stop.set()

    await asyncio.gather(read(), *(work() for _ in range(options.concurrency)))


def _today_source(client: AsyncClient, sandbox_clock: bool, lock: Any) -> Callable[[], Awaitable[dt.date]]:
    """The insurer's today for ``today+N`` dates, asked for once, when the first such row comes (a
    failure too is kept: the rows waiting for the answer must not each ask again)."""
    found: list[dt.date] = []
    failed: list[BaseException] = []

    async def today() -> dt.date:
        async with lock:
            if failed:
                raise failed[0]
            if not found:
                if sandbox_clock:
                    try:
                        now = (await client.test_clock.retrieve()).now
                    except Exception as exc:
                        failed.append(exc)
                        raise
                    found.append(_business_date(now))
                else:
                    found.append(dt.datetime.now(dt.timezone.utc).date())
        return found[0]

    return today


def _business_date(moment: dt.datetime) -> dt.date:
    """The insurer's date at ``moment``: business dates are UTC dates."""
    return moment.astimezone(dt.timezone.utc).date()


# -- generating portfolios ------------------------------------------------------------------------------
def generate_loans(
    path: Path,
    rows: int,
    *,
    seed: int = 0,
    today: dt.date | None = None,
    on_row: Callable[[], None] | None = None,
) -> None:
    """Write ``rows`` valid loans (checksummed ID numbers and credit codes, first due dates 20-60
    days after ``today``) to ``path``: a mix that quotes to approvals, declines and referrals, made
    by ``yangguang_sdk.testing.quote_requests``."""
    from ..testing import quote_requests

    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(INPUT_COLUMNS)
        for request in quote_requests(rows, seed=seed, today=today):
            writer.writerow(input_row(request))
            if on_row is not None:
                on_row()


def _check_overwrite(path: Path) -> None:
    """``--generate`` replaces an earlier generated portfolio, never another file (a decisions CSV
    is the record of what was quoted)."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            header = fh.readline().strip()
    except FileNotFoundError:
        return
    except (OSError, UnicodeDecodeError):
        header = "(unreadable)"
    base = ",".join(INPUT_COLUMNS[: len(INPUT_COLUMNS) - len(PARTY_COLUMNS)])
    if header not in ("", base, ",".join(INPUT_COLUMNS)):
        raise CLIError(
            f"{path} exists and is not a generated portfolio (a decisions file?); "
            "choose another --output or delete it first",
            EXIT_USAGE,
        )


def _generate_today(
    sandbox: bool, sandbox_db: Path | None, api_key: str | None, base_url: str | None
) -> tuple[dt.date, str]:
    """The date ``--generate`` counts first due dates from, and the clock it came from: the
    sandbox's when the loans are meant for one (``--sandbox``, or ``--base-url`` with a test key),
    else today in UTC. A sandbox whose clock was moved ahead would refuse wall-clock dates."""
    if sandbox:
        from ..sandbox import Sandbox

        if sandbox_db is None:  # a new in-process sandbox starts at the wall clock's time
            return dt.datetime.now(dt.timezone.utc).date(), "sandbox clock (a new sandbox: now)"
        with Sandbox(db=str(sandbox_db)) as sb:
            return _business_date(sb.now), "sandbox clock"
    if base_url is not None and api_key is not None and api_key.startswith("yg_test_"):
        creds = resolve_credentials(api_key, base_url)
        from .._client import Client

        with Client(api_key=creds.api_key, base_url=creds.base_url) as client:
            return _business_date(client.test_clock.retrieve().now), "sandbox clock"
    if sandbox_db is not None:
        raise CLIError("--sandbox-db goes with --sandbox", EXIT_USAGE)
    return dt.datetime.now(dt.timezone.utc).date(), "wall clock (UTC)"


# -- the command -----------------------------------------------------------------------------------
class ProductChoice(str, Enum):
    consumer_installment = "consumer_installment"
    platform_loan = "platform_loan"
    auto_installment = "auto_installment"
    sme_loan = "sme_loan"
    enterprise_loan = "enterprise_loan"
    guaranteed_loan = "guaranteed_loan"
    contract_performance = "contract_performance"


class ProgressMode(str, Enum):
    auto = "auto"
    bar = "bar"
    plain = "plain"
    none = "none"


EPILOG = (
    "Examples:\n\n"
    "  # quote a portfolio; after a crash, the same command resumes\n"
    "  yangguang quote-batch loans.csv -o decisions.csv --concurrency 64\n"
    "  # against an in-process sandbox: no server, no key\n"
    "  yangguang quote-batch loans.csv -o decisions.csv --sandbox\n"
    "  # after fixing what made rows fail: quote the failed rows again\n"
    "  yangguang quote-batch loans.csv -o decisions.csv --retry-errors\n"
    "  # write 100,000 valid test loans\n"
    "  yangguang quote-batch --generate 100000 -o loans.csv\n\n"
    "Input columns: merchant_order_id, product, borrower_type, name, id_number, uscc, phone, credit_score, principal (yuan, e.g. 12999.00), term_months, annual_rate (e.g. 0.12), first_due_date (YYYY-MM-DD, or today+N: N days after the insurer's today); optional: repayment_method, beneficiary_type, beneficiary_name, beneficiary_uscc, vin, guarantor_name, guarantor_uscc, contract_number.\n\n"
    "Output columns: row, merchant_order_id, decision (approved, declined, referred or error), premium, sum_insured, decline_reason, quote_id, expires_at, error_code, error_param, error_message.\n\n"
    "Exit codes: 0 ok, 1 API or runtime error (or the first 100 rows all failed alike: stopped early), 2 usage error, 3 some rows failed."
)


@command
def quote_batch(
    output: Annotated[
        Path,
        typer.Option("--output", "-o", metavar="FILE", help="Decisions CSV (appended to: reruns resume)."),
    ],
    input_path: Annotated[
        Path | None, typer.Argument(metavar="LOANS.csv", help="The portfolio, one loan per row.")
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, max=1000, help="Batches in flight at once.")
    ] = 4,
    batch_size: Annotated[
        int,
        typer.Option(
            "--batch-size",
            min=1,
            max=1000,  # types.quote_batch.QUOTE_BATCH_MAX_ITEMS (not imported here: --help stays fast)
            help="Rows per request (quotes.create_batch): each block of this many input rows is one batch.",
        ),
    ] = DEFAULT_BATCH_SIZE,
    product: Annotated[
        ProductChoice, typer.Option(help="Product for rows whose product cell is empty.")
    ] = ProductChoice.consumer_installment,
    sandbox: Annotated[
        bool, typer.Option("--sandbox", help="Quote against an in-process sandbox (no server, no key).")
    ] = False,
    sandbox_db: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="With --sandbox: keep its SQLite database here (default: a temporary file, deleted after).",
        ),
    ] = None,
    progress: Annotated[
        ProgressMode, typer.Option(help="auto: a bar on a terminal, a line every 5 s otherwise.")
    ] = ProgressMode.auto,
    generate: Annotated[
        int | None,
        typer.Option(
            min=1,
            metavar="N",
            help="Instead: write N valid generated loans to --output and exit (first due dates from the sandbox's clock with --sandbox --sandbox-db, or --base-url and a yg_test_ key; else from today in UTC).",
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed for --generate.")] = 0,
    retry_errors: Annotated[
        bool,
        typer.Option(
            "--retry-errors",
            help="Quote again the rows whose result in the output is an error (a new line, under a new idempotency key); rows already decided are still skipped.",
        ),
    ] = False,
    api_key: ApiKeyOption = None,
    base_url: BaseUrlOption = None,
) -> None:
    """Quote every loan of a CSV portfolio, many at a time, into a decisions CSV.

    Writes one line per input row: its row number, merchant_order_id, decision, premium, sum insured, decline reason and quote id, or the row's error code, column and message. Bad rows never stop the batch; it exits 3 when any row failed.

    Rows are sent in batches of --batch-size (one POST /v1/quote_batches each, priced in one transaction), --concurrency batches at a time. The input is streamed and each batch's lines flushed at once: rerun the same command after a crash or Ctrl-C and it skips the rows already in the output (with --retry-errors, not those whose result was an error). Each batch's idempotency key (batch-ROW-DIGEST, from its rows' cells) means a rerun sends the same batches again and gets the same quotes back, never second ones. When the first 100 rows all fail with the same error code, it stops (exit 1) rather than send the rest.
    """
    if generate is not None:
        if input_path is not None:
            raise CLIError(
                "--generate writes a new portfolio to --output; do not give an input file too", EXIT_USAGE
            )
        _check_overwrite(output)
        today, clock = _generate_today(sandbox, sandbox_db, api_key, base_url)
        generate_loans(output, generate, seed=seed, today=today)
        typer.echo(
            f"wrote {generate} loans to {output}, first due dates 20-60 days after {today} on the {clock}"
        )
        return
    if input_path is None:
        raise CLIError(
            "give the portfolio file: yangguang quote-batch LOANS.csv -o decisions.csv", EXIT_USAGE
        )
    if sandbox_db is not None and not sandbox:
        raise CLIError("--sandbox-db goes with --sandbox", EXIT_USAGE)
    creds = None if sandbox else resolve_credentials(api_key, base_url)
    options = BatchOptions(
        input_path,
        output,
        concurrency,
        product.value,
        batch_size=batch_size,
        retry_errors=retry_errors,
        sandbox_clock=creds is None or creds.api_key.startswith("yg_test_"),
    )
    reporter = make_progress(progress.value)

    async def run() -> BatchSummary:
        import httpx

        from .. import AsyncClient

        if creds is None:
            import tempfile

            from ..sandbox import Sandbox

            # SQLite, not memory: the sandbox keeps every quote, and memory must stay flat.
            with tempfile.TemporaryDirectory(prefix="yangguang-batch-") as tmp:
                db = str(sandbox_db) if sandbox_db is not None else str(Path(tmp) / "sandbox.sqlite")
                with Sandbox(db=db) as sb:
                    client = sb.async_client()
                    try:
                        return await run_batch(client, options, reporter)
                    finally:
                        await client.close()
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(limits=limits) as http:
            client = AsyncClient(api_key=creds.api_key, base_url=creds.base_url, http_client=http)
            return await run_batch(client, options, reporter)

    import asyncio

    try:
        summary = asyncio.run(run())
    except KeyboardInterrupt:
        raise CLIError(
            f"interrupted; the rows done are in {output}: rerun the same command to resume", EXIT_INTERRUPTED
        ) from None
    typer.echo(summary.describe(output))
    if isinstance(summary.fatal, EarlyStop):
        raise CLIError(f"stopped: {summary.fatal}", summary.fatal.code)
    if summary.fatal is not None:
        fatal = summary.fatal
        code = fatal.code if isinstance(fatal, CLIError) else EXIT_ERROR
        raise CLIError(f"stopped: {fatal}. Rerun the same command to resume.", code)
    if summary.total_errors:
        raise CLIError(
            f"{summary.total_errors} row(s) failed; see error_code, error_param and error_message in {output}",
            EXIT_PARTIAL,
        )
