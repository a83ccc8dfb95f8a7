"""``yangguang sandbox serve``: the sandbox insurer over HTTP, through ``yangguang_sdk.sandbox.serve``
(the same server as ``python -m yangguang_sdk.sandbox``), after a clear check that the port is free.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from .._constants import API_KEY_ENV, BASE_URL_ENV
from ._common import EXIT_USAGE, CLIError, Command, Group, command

__all__ = ["sandbox_app", "ClockMode", "sandbox_serve"]

sandbox_app = typer.Typer(
    help="Run the sandbox insurer.",
    cls=Group,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class ClockMode(str, Enum):
    manual = "manual"
    realtime = "realtime"


def _check_port_free(host: str, port: int) -> None:
    """Fail with one clear line before anything is printed (``sandbox.listen`` says what is wrong)."""
    from ..sandbox import listen

    try:
        listen(host, port).close()
    except OSError as exc:
        raise CLIError(exc.strerror or str(exc)) from None


@sandbox_app.command(
    "serve",
    cls=Command,
    epilog="Examples:\n\n"
    "  yangguang sandbox serve\n"
    "  yangguang sandbox serve --port 9000 --db sandbox.sqlite --clock realtime\n"
    "  yangguang sandbox serve --host 0.0.0.0 --db postgresql://sandbox@db.internal/sandbox --workers 4\n\n"
    "Then: export YANGGUANG_BASE_URL=http://127.0.0.1:8765 YANGGUANG_API_KEY=yg_test_sandbox_merchant\n\n"
    "and open http://127.0.0.1:8765/dashboard in a browser (sign in with the same test key).",
)
@command
def sandbox_serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8765,
    db: Annotated[
        str | None,
        typer.Option(
            metavar="FILE|URL",
            help="SQLite file, or postgresql:// URL, to keep the state in (default: memory).",
        ),
    ] = None,
    clock: Annotated[
        ClockMode,
        typer.Option(
            help="manual: time moves only by test_clock.advance; realtime: it follows the wall clock."
        ),
    ] = ClockMode.manual,
    allow_private_endpoints: Annotated[
        bool,
        typer.Option(
            "--allow-private-endpoints",
            help="Served beyond loopback (--host 0.0.0.0), still deliver webhooks to loopback and "
            "private addresses (refused by default there; always allowed on a loopback host).",
        ),
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            min=1, help="Worker processes on the one port (more than 1 needs a postgresql:// --db)."
        ),
    ] = 1,
) -> None:
    """Serve the sandbox insurer over HTTP and print its base URL, a test API key and the dashboard's URL.

    The same server as `python -m yangguang_sdk.sandbox`; any yg_test_ key works, each key is a tenant of its own. Stop it with Ctrl-C.
    """
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise CLIError("the sandbox server needs its extra: pip install 'yangguang-sdk[sandbox]'") from None
    from ..sandbox.workers import is_shared_db

    if workers > 1 and not is_shared_db(db):
        raise CLIError(
            "--workers above 1 needs --db postgresql://...: memory and SQLite state live in one process",
            code=EXIT_USAGE,
        )
    _check_port_free(host, port)
    from ..sandbox import DEFAULT_API_KEY, serve

    typer.echo(f"export {BASE_URL_ENV}=http://{host}:{port} {API_KEY_ENV}={DEFAULT_API_KEY}")
    typer.echo(f"dashboard: http://{host}:{port}/dashboard  (sign in with a yg_test_ key)")
    serve(
        host=host,
        port=port,
        db=db,
        clock="realtime" if clock is ClockMode.realtime else "manual",
        allow_private_endpoints=allow_private_endpoints,
        workers=workers,
    )
