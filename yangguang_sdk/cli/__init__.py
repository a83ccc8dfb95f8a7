"""The ``yangguang`` command: serve the sandbox, forward its events to your app, trigger events,
quote a whole portfolio from a CSV file, and write a month's statement.

Needs the ``cli`` extra (``pip install 'yangguang-sdk[cli]'``: typer and rich). The SDK core never
imports this package. Inside, one module per command, each holding its options and its working
parts (heavy imports happen inside the commands, so ``yangguang --help`` stays quick):

- ``serve``: ``yangguang sandbox serve``, over ``yangguang_sdk.sandbox.serve``
- ``listen``: ``yangguang listen``, events forwarded to a local URL as signed webhooks
- ``trigger``: ``yangguang trigger``, a sandbox made to emit an event
- ``batch``: ``yangguang quote-batch``, a CSV portfolio quoted many at a time
- ``statements``: ``yangguang statements MONTH``, a month's statement as CSV or JSON
- ``endpoints``: ``yangguang endpoints list|create|enable|recover|test``, webhook endpoints
- ``_common``: exit codes, the one-line error, the ``--api-key``/``--base-url`` options

This module builds the app from them and holds ``main``, the console script.

Exit codes: 0 ok, 1 API or runtime error, 2 usage error (including a missing API key), 3 partial
failure (some CSV rows or some forwarded events failed), 130 interrupted.
"""

from __future__ import annotations

import platform
from typing import Annotated

import typer

from .._version import __version__
from . import batch, endpoints, listen, serve, statements, trigger
from ._common import EXIT_INTERRUPTED, EXIT_OK, Command, Group, is_click_exception, one_line, settings

__all__ = ["app", "main"]

app = typer.Typer(
    name="yangguang",
    cls=Group,
    help="Work with the yangguang credit-insurance API and its sandbox insurer from a terminal.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="Examples:\n\n"
    "  yangguang sandbox serve --db sandbox.sqlite\n"
    "  yangguang listen --forward-to http://localhost:8000/webhooks\n"
    "  yangguang trigger claim.paid\n"
    "  yangguang quote-batch loans.csv -o decisions.csv\n"
    "  yangguang statements 2027-01 -o statement.csv\n\n"
    "Exit codes: 0 ok, 1 API or runtime error, 2 usage error, 3 partial failure, 130 interrupted.",
)
app.add_typer(serve.sandbox_app, name="sandbox")
app.command(cls=Command, epilog=listen.EPILOG)(listen.listen)
app.command(cls=Command, epilog=trigger.EPILOG)(trigger.trigger)
app.command("quote-batch", cls=Command, epilog=batch.EPILOG)(batch.quote_batch)
app.command(cls=Command, epilog=statements.EPILOG)(statements.statements)
app.add_typer(endpoints.endpoints_app, name="endpoints")


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
    settings.debug = debug


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns its exit code. Usage errors are one line too, exit code 2."""
    try:
        result = app(args=argv, prog_name="yangguang", standalone_mode=False)
    except typer.Abort:
        return EXIT_INTERRUPTED
    except Exception as exc:
        if not is_click_exception(exc):
            raise
        ctx = getattr(exc, "ctx", None)
        where = getattr(ctx, "command_path", None) or "yangguang"
        message = one_line(exc.format_message())  # type: ignore[attr-defined]
        if message:  # (no message: the help was shown for a command given no arguments)
            typer.echo(f"error: {message} (see `{where} --help`)", err=True)
        code: int = exc.exit_code  # type: ignore[attr-defined]
        return code
    return result if isinstance(result, int) else EXIT_OK
