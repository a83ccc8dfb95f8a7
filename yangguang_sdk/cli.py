"""The ``yangguang`` command: serve the sandbox, forward its events to your app, trigger events, and
quote a whole portfolio from a CSV file.

Needs the ``cli`` extra (``pip install 'yangguang-sdk[cli]'``: typer and rich). The SDK core never
imports this module. The working parts live in ``_cli_listen``, ``_cli_trigger`` and ``_cli_batch``;
this module is the command line over them: options, help, output and exit codes.

Exit codes: 0 ok, 1 API or runtime error, 2 usage error (including a missing API key), 3 partial
failure (some CSV rows or some forwarded events failed), 130 interrupted.
"""

from __future__ import annotations

import functools
import platform
import socket
import sys
import traceback
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from ._cli_common import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
    CLIError,
    Credentials,
    one_line,
    resolve_credentials,
)
from ._constants import API_KEY_ENV, BASE_URL_ENV
from ._version import __version__
from .errors import ConfigurationError, ParameterError, YangguangError

__all__ = ["app", "main"]

F = TypeVar("F", bound=Callable[..., Any])


class _Settings:
    debug = False


_settings = _Settings()

app = typer.Typer(
    name="yangguang",
    help="Work with the yangguang credit-insurance API and its sandbox insurer from a terminal.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="Examples:\n\n"
    "  yangguang sandbox serve --db sandbox.sqlite\n"
    "  yangguang listen --forward-to http://localhost:8000/webhooks\n"
    "  yangguang trigger claim.paid\n"
    "  yangguang quote-batch loans.csv -o decisions.csv\n\n"
    "Exit codes: 0 ok, 1 API or runtime error, 2 usage error, 3 partial failure, 130 interrupted.",
)
sandbox_app = typer.Typer(
    help="Run the sandbox insurer.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(sandbox_app, name="sandbox")


# -- errors: one line on stderr, a documented exit code ------------------------------------------------
def _is_click_exception(exc: BaseException) -> bool:
    """click's own exceptions (typer vendors click in recent versions, so match by shape)."""
    return isinstance(getattr(exc, "exit_code", None), int) and callable(getattr(exc, "format_message", None))


def _fail(message: str, code: int, exc: BaseException | None) -> typer.Exit:
    if _settings.debug and exc is not None:
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    typer.echo(f"error: {one_line(message)}", err=True)
    return typer.Exit(code)


def _command(fn: F) -> F:
    """Turn whatever a command raises into one line on stderr and its exit code (see the module doc)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except KeyboardInterrupt as exc:
            raise _fail("interrupted", EXIT_INTERRUPTED, exc) from None
        except CLIError as exc:
            raise _fail(str(exc), exc.code, exc) from None
        except (ConfigurationError, ParameterError) as exc:
            raise _fail(str(exc), EXIT_USAGE, exc) from None
        except YangguangError as exc:
            raise _fail(str(exc), EXIT_ERROR, exc) from None
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            raise _fail(f"{where}{exc.strerror or exc}", EXIT_ERROR, exc) from None
        except Exception as exc:
            if _is_click_exception(exc):
                raise
            hint = "" if _settings.debug else " (rerun with --debug for the traceback)"
            raise _fail(f"unexpected {type(exc).__name__}: {exc}{hint}", EXIT_ERROR, exc) from None

    return wrapper  # type: ignore[return-value]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"yangguang {__version__} (yangguang-sdk, Python {platform.python_version()})")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit."),
    ] = False,
    debug: Annotated[
        bool,
        typer.Option("--debug", envvar="YANGGUANG_DEBUG", help="On an error, show the full traceback."),
    ] = False,
) -> None:
    _settings.debug = debug


ApiKeyOption = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        envvar=API_KEY_ENV,
        show_envvar=True,
        metavar="KEY",
        help="API key: yg_test_... for a sandbox.",
    ),
]
BaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        envvar=BASE_URL_ENV,
        show_envvar=True,
        metavar="URL",
        help="API base URL (default: http://127.0.0.1:8765, a local `yangguang sandbox serve`).",
    ),
]


# -- yangguang sandbox serve ---------------------------------------------------------------------------
class ClockMode(str, Enum):
    manual = "manual"
    realtime = "realtime"


def _check_port_free(host: str, port: int) -> None:
    """Fail with one clear line before uvicorn would fail with a log record."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise CLIError(f"cannot resolve --host {host!r}: {exc.strerror}", EXIT_USAGE) from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            probe.bind(address)
        except OSError as exc:
            raise CLIError(
                f"cannot listen on {host}:{port}: {exc.strerror} (another sandbox? pick another --port)"
            ) from None


@sandbox_app.command(
    "serve",
    epilog="Examples:\n\n"
    "  yangguang sandbox serve\n"
    "  yangguang sandbox serve --port 9000 --db sandbox.sqlite --clock realtime\n\n"
    "Then: export YANGGUANG_BASE_URL=http://127.0.0.1:8765 YANGGUANG_API_KEY=yg_test_sandbox_merchant",
)
@_command
def sandbox_serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8765,
    db: Annotated[
        Path | None, typer.Option(metavar="FILE", help="SQLite file to keep the state in (default: memory).")
    ] = None,
    clock: Annotated[
        ClockMode,
        typer.Option(
            help="manual: time moves only by test_clock.advance; realtime: it follows the wall clock."
        ),
    ] = ClockMode.manual,
) -> None:
    """Serve the sandbox insurer over HTTP and print its base URL and a test API key.

    The same server as `python -m yangguang_sdk.sandbox`; any yg_test_ key works, each key is a tenant of its own. Stop it with Ctrl-C.
    """
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise CLIError("the sandbox server needs its extra: pip install 'yangguang-sdk[sandbox]'") from None
    _check_port_free(host, port)
    from .sandbox import DEFAULT_API_KEY
    from .sandbox.__main__ import main as serve_main  # one place for the serving logic

    typer.echo(f"export {BASE_URL_ENV}=http://{host}:{port} {API_KEY_ENV}={DEFAULT_API_KEY}")
    argv = ["--host", host, "--port", str(port), "--clock", clock.value]
    if db is not None:
        argv += ["--db", str(db)]
    code = serve_main(argv)
    if code:
        raise typer.Exit(code)


# -- yangguang listen ------------------------------------------------------------------------------
def _event_types(text: str | None) -> frozenset[str] | None:
    if not text:
        return None
    from .types.event import EVENT_TYPES

    wanted = frozenset(t.strip() for t in text.split(",") if t.strip())
    unknown = sorted(wanted - set(EVENT_TYPES))
    if unknown:
        raise CLIError(
            f"unknown event type(s) {', '.join(unknown)}; known: {', '.join(EVENT_TYPES)}", EXIT_USAGE
        )
    return wanted or None


def _client(creds: Credentials) -> Any:
    from ._client import Client

    return Client(api_key=creds.api_key, base_url=creds.base_url)


@app.command(
    epilog="Examples:\n\n"
    "  yangguang listen --forward-to http://localhost:8000/webhooks\n"
    "  yangguang listen -f http://localhost:8000/webhooks -e claim.paid,claim.opened\n"
    "  # forward what is there now, then exit (scripts, tests)\n"
    "  yangguang listen -f http://localhost:8000/webhooks --once\n"
    "  # the secret alone, for your app's configuration\n"
    "  yangguang listen --print-secret\n\n"
    "Exit codes: 0 ok, 1 API or runtime error, 2 usage error, 3 partial failure.",
)
@_command
def listen(
    forward_to: Annotated[
        str | None,
        typer.Option("--forward-to", "-f", metavar="URL", help="Your app's webhook URL."),
    ] = None,
    events: Annotated[
        str | None,
        typer.Option("--events", "-e", metavar="TYPES", help="Comma-separated event types (default: all)."),
    ] = None,
    api_key: ApiKeyOption = None,
    base_url: BaseUrlOption = None,
    state: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            envvar="YANGGUANG_LISTEN_STATE",
            show_envvar=True,
            help="State file (default: ~/.config/yangguang/listen.json).",
        ),
    ] = None,
    once: Annotated[
        bool, typer.Option("--once", help="Forward the events there are now, then exit.")
    ] = False,
    interval: Annotated[
        float, typer.Option(min=0.05, metavar="SECONDS", help="Seconds between polls of the event list.")
    ] = 1.0,
    skip_past: Annotated[
        bool,
        typer.Option(
            "--skip-past", help="With no saved position, start after the newest event, not the oldest."
        ),
    ] = False,
    reset: Annotated[bool, typer.Option("--reset", help="Forget the saved position first.")] = False,
    print_secret: Annotated[
        bool, typer.Option("--print-secret", help="Print the signing secret and exit.")
    ] = False,
) -> None:
    """Forward the API's events to a local URL as signed webhooks (like `stripe listen`).

    Follows the event list and POSTs each event to --forward-to as a Standard Webhooks delivery signed with a local whsec_ secret, printed at start: verify it in your app with Webhook(secret).

    The secret and the position (the last event handled) are kept in a state file per base URL and API key hash (never the key), so a restart neither repeats nor loses an event. The first run starts from the oldest event (--skip-past: from the next one).

    A failed forward (connection error or non-2xx answer) is retried 3 times, after 0.5, 1 and 2 s, then reported and passed over. One line per delivery: time, event type, event id, status.
    """
    from ._cli_listen import Forwarder, ListenState, default_state_path, follow, skip_to_end

    creds = resolve_credentials(api_key, base_url)
    wanted = _event_types(events)
    if not print_secret:
        if not forward_to:
            raise CLIError("give --forward-to URL (your app's webhook endpoint)", EXIT_USAGE)
        if not forward_to.startswith(("http://", "https://")):
            raise CLIError(f"--forward-to must be an http:// or https:// URL, got {forward_to!r}", EXIT_USAGE)
    store = ListenState(state or default_state_path(), creds.base_url, creds.api_key)
    profile = store.profile()
    secret: str = profile["secret"]
    if print_secret:
        typer.echo(secret)
        return
    assert forward_to is not None
    client = _client(creds)
    say = typer.echo

    def warn(text: str) -> None:
        typer.echo(text, err=True)

    cursor: str | None = None if reset else profile.get("last_event_id")
    if reset:
        store.save_position(None)
    warn(f"Forwarding events from {creds.base_url} to {forward_to}" + ("" if once else " (Ctrl-C to stop)"))
    warn(f"Webhook signing secret: {secret}  (kept in {store.path})")
    if cursor is None and skip_past:
        cursor, passed = skip_to_end(client, None)
        store.save_position(cursor)
        warn(f"Skipped {passed} past events; forwarding what comes next")
    elif cursor is not None:
        warn(f"Resuming after {cursor}")
    else:
        warn("Starting from the oldest event")
    forwarder = Forwarder(forward_to, secret)
    try:
        totals = follow(
            client,
            store,
            forwarder,
            cursor=cursor,
            wanted=wanted,
            once=once,
            interval=interval,
            say=say,
            warn=warn,
        )
    except KeyboardInterrupt:
        warn("Stopped; the position is saved.")
        return
    finally:
        forwarder.close()
        client.close()
    warn(
        f"Forwarded {totals.forwarded} events, {totals.failed} failed"
        + (f", {totals.skipped} not in --events" if totals.skipped else "")
        + (f"; position saved after {totals.last_event_id}" if totals.last_event_id else "")
    )
    if totals.failed:
        raise CLIError(f"{totals.failed} event(s) could not be forwarded (see the lines above)", EXIT_PARTIAL)


# -- yangguang trigger ------------------------------------------------------------------------------
@app.command(
    epilog="Examples:\n\n"
    "  yangguang trigger --list\n"
    "  yangguang trigger policy.bound\n"
    "  yangguang trigger claim.paid --api-key yg_test_mine\n\n"
    "Exit codes: 0 ok, 1 API or runtime error, 2 usage error, 3 partial failure.",
)
@_command
def trigger(
    event_type: Annotated[
        str | None, typer.Argument(metavar="EVENT_TYPE", help="The event to produce (see --list).")
    ] = None,
    list_events: Annotated[bool, typer.Option("--list", help="List the events it can trigger.")] = False,
    api_key: ApiKeyOption = None,
    base_url: BaseUrlOption = None,
) -> None:
    """Make a sandbox emit EVENT_TYPE by doing what produces it (like `stripe trigger`).

    Quotes a fresh test loan, binds it and takes it as far as the event needs: a cancellation, a repayment, or an unpaid installment and the sandbox clock moved forward (overdue the day after the due date, default and claim 80 days after it, approval 1 day and payment 4 days after the default, recovery 30 days after payment).

    Moving the clock ages every loan on that sandbox. Test keys only: a live key is refused. Prints each step and the ids of the events produced.
    """
    from ._cli_trigger import TRIGGERS, run_trigger

    if list_events:
        for name, scenario in TRIGGERS.items():
            typer.echo(f"{name:<20} {scenario.description}")
        return
    if not event_type:
        raise CLIError("give an EVENT_TYPE, or --list to see the ones it can trigger", EXIT_USAGE)
    if event_type not in TRIGGERS:
        raise CLIError(f"cannot trigger {event_type!r}; it can trigger: {', '.join(TRIGGERS)}", EXIT_USAGE)
    creds = resolve_credentials(api_key, base_url)
    if creds.api_key.startswith("yg_live_"):
        raise CLIError(
            "trigger creates test loans and moves the clock: it runs against a sandbox with a yg_test_ key "
            "only; refusing a live key",
            EXIT_USAGE,
        )
    scenario = TRIGGERS[event_type]
    moves = scenario.days_after_due is not None or event_type == "quote.decided"
    typer.echo(
        f"Triggering {event_type} on {creds.base_url}"
        + (": this moves the sandbox clock forward, for every loan on that sandbox" if moves else "")
    )
    with _client(creds) as client:
        result = run_trigger(client, event_type, typer.echo)
    typer.echo("Events:")
    for event in result.events:
        mark = "   <- triggered" if event.type == event_type else ""
        typer.echo(f"  {event.id}  {event.type}{mark}")


# -- yangguang quote-batch --------------------------------------------------------------------------
class ProductChoice(str, Enum):
    consumer_installment = "consumer_installment"
    platform_loan = "platform_loan"
    sme_loan = "sme_loan"


class ProgressMode(str, Enum):
    auto = "auto"
    bar = "bar"
    plain = "plain"
    none = "none"


@app.command(
    "quote-batch",
    epilog="Examples:\n\n"
    "  # quote a portfolio; after a crash, the same command resumes\n"
    "  yangguang quote-batch loans.csv -o decisions.csv --concurrency 64\n"
    "  # against an in-process sandbox: no server, no key\n"
    "  yangguang quote-batch loans.csv -o decisions.csv --sandbox\n"
    "  # write 100,000 valid test loans\n"
    "  yangguang quote-batch --generate 100000 -o loans.csv\n\n"
    "Input columns: merchant_order_id, product, borrower_type, name, id_number, uscc, phone, credit_score, principal (yuan, e.g. 12999.00), term_months, annual_rate (e.g. 0.12), first_due_date (YYYY-MM-DD).\n\n"
    "Output columns: row, merchant_order_id, decision (approved, declined, referred or error), premium, sum_insured, decline_reason, quote_id, expires_at, error_code, error_param, error_message.\n\n"
    "Exit codes: 0 ok, 1 API or runtime error, 2 usage error, 3 some rows failed.",
)
@_command
def quote_batch(
    output: Annotated[
        Path,
        typer.Option("--output", "-o", metavar="FILE", help="Decisions CSV (appended to: reruns resume)."),
    ],
    input_path: Annotated[
        Path | None, typer.Argument(metavar="LOANS.csv", help="The portfolio, one loan per row.")
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, max=1000, help="Quotes in flight at once.")
    ] = 32,
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
        typer.Option(min=1, metavar="N", help="Instead: write N valid generated loans to --output and exit."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed for --generate.")] = 0,
    api_key: ApiKeyOption = None,
    base_url: BaseUrlOption = None,
) -> None:
    """Quote every loan of a CSV portfolio, many at a time, into a decisions CSV.

    Writes one line per input row: its row number, merchant_order_id, decision, premium, sum insured, decline reason and quote id, or the row's error code, column and message. Bad rows never stop the batch; it exits 3 when any row failed.

    The input is streamed and each result flushed at once: rerun the same command after a crash or Ctrl-C and it skips the rows already in the output. Each row's idempotency key (batch-ORDER-DIGEST, from the row's cells) means a row is never quoted twice.
    """
    from . import _cli_batch as batch

    if generate is not None:
        if input_path is not None:
            raise CLIError(
                "--generate writes a new portfolio to --output; do not give an input file too", EXIT_USAGE
            )
        batch.generate_loans(output, generate, seed=seed)
        typer.echo(f"wrote {generate} loans to {output}")
        return
    if input_path is None:
        raise CLIError(
            "give the portfolio file: yangguang quote-batch LOANS.csv -o decisions.csv", EXIT_USAGE
        )
    options = batch.BatchOptions(input_path, output, concurrency, product.value)
    if sandbox_db is not None and not sandbox:
        raise CLIError("--sandbox-db goes with --sandbox", EXIT_USAGE)
    creds = None if sandbox else resolve_credentials(api_key, base_url)
    reporter = batch.make_progress(progress.value)

    async def run() -> batch.BatchSummary:
        import httpx

        from ._client import AsyncClient

        if creds is None:
            import tempfile

            from .sandbox import Sandbox

            # SQLite, not memory: the sandbox keeps every quote, and memory must stay flat.
            with tempfile.TemporaryDirectory(prefix="yangguang-batch-") as tmp:
                db = str(sandbox_db) if sandbox_db is not None else str(Path(tmp) / "sandbox.sqlite")
                with Sandbox(db=db) as sb:
                    client = sb.async_client()
                    try:
                        return await batch.run_batch(client, options, reporter)
                    finally:
                        await client.close()
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(limits=limits) as http:
            client = AsyncClient(api_key=creds.api_key, base_url=creds.base_url, http_client=http)
            return await batch.run_batch(client, options, reporter)

    import asyncio

    try:
        summary = asyncio.run(run())
    except KeyboardInterrupt:
        raise CLIError(
            f"interrupted; the rows done are in {output}: rerun the same command to resume", EXIT_INTERRUPTED
        ) from None
    typer.echo(summary.describe(output))
    if summary.fatal is not None:
        fatal = summary.fatal
        code = fatal.code if isinstance(fatal, CLIError) else EXIT_ERROR
        raise CLIError(f"stopped: {fatal}. Rerun the same command to resume.", code)
    if summary.total_errors:
        raise CLIError(
            f"{summary.total_errors} row(s) failed; see error_code, error_param and error_message in {output}",
            EXIT_PARTIAL,
        )


# -- entry point ------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    """Run the command; returns its exit code. Usage errors are one line too, exit code 2."""
    try:
        result = app(args=argv, prog_name="yangguang", standalone_mode=False)
    except typer.Abort:
        return EXIT_INTERRUPTED
    except Exception as exc:
        if not _is_click_exception(exc):
            raise
        ctx = getattr(exc, "ctx", None)
        where = getattr(ctx, "command_path", None) or "yangguang"
        message = one_line(exc.format_message())  # type: ignore[attr-defined]
        if message:  # (no message: the help was shown for a command given no arguments)
            typer.echo(f"error: {message} (see `{where} --help`)", err=True)
        code: int = exc.exit_code  # type: ignore[attr-defined]
        return code
    return result if isinstance(result, int) else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
