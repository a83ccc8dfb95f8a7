"""Pieces shared by the ``yangguang`` commands: exit codes, the one-line error and the decorator
that turns exceptions into it, the ``--api-key``/``--base-url`` options and the client they make.

Light on purpose (typer and the standard library): every command module imports it when
``yangguang --help`` runs.
"""

from __future__ import annotations

import functools
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
import typer.core

from .._constants import API_KEY_ENV, BASE_URL_ENV
from ..errors import ConfigurationError, ParameterError, YangguangError

if TYPE_CHECKING:
    from .. import Client

__all__ = [
    "EXIT_OK",
    "EXIT_ERROR",
    "EXIT_USAGE",
    "EXIT_PARTIAL",
    "EXIT_INTERRUPTED",
    "DEFAULT_BASE_URL",
    "CLIError",
    "Credentials",
    "resolve_credentials",
    "one_line",
    "settings",
    "is_click_exception",
    "command",
    "ApiKeyOption",
    "BaseUrlOption",
    "make_client",
    "Command",
    "Group",
    "closest",
]

EXIT_OK = 0
"""Everything worked."""
EXIT_ERROR = 1
"""The API or the runtime failed (unreachable server, 401, a file that cannot be written, ...)."""
EXIT_USAGE = 2
"""The command line or its configuration is wrong (unknown option, missing API key, bad CSV header)."""
EXIT_PARTIAL = 3
"""The command ran to the end but some of its items failed (CSV rows, webhook forwards)."""
EXIT_INTERRUPTED = 130
"""Stopped with Ctrl-C (128 + SIGINT, the shell convention)."""

DEFAULT_BASE_URL = "http://127.0.0.1:8765"
"""Where ``yangguang sandbox serve`` listens by default, and so where the other commands look."""


class CLIError(Exception):
    """An error the command reports as one line on stderr, exiting with ``code``."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Credentials:
    api_key: str
    base_url: str

    def __repr__(self) -> str:  # the key never shows, not even in a traceback's locals
        return f"Credentials(base_url={self.base_url!r}, api_key=****)"


def resolve_credentials(api_key: str | None, base_url: str | None) -> Credentials:
    """The API key and base URL from the options, else the environment, else the local sandbox URL."""
    key = api_key or os.environ.get(API_KEY_ENV)
    if not key:
        raise CLIError(
            f"no API key: pass --api-key or set {API_KEY_ENV} "
            "(`yangguang sandbox serve` prints a test key for a local sandbox)",
            EXIT_USAGE,
        )
    base = base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    return Credentials(api_key=key, base_url=base.rstrip("/"))


def one_line(text: object) -> str:
    """``text`` on a single line (messages can carry newlines from servers or the OS)."""
    return " ".join(str(text).split())


# -- errors: one line on stderr, a documented exit code ------------------------------------------------
class Settings:
    """What the root options set for the command that runs (``--debug``)."""

    debug = False


settings = Settings()

F = TypeVar("F", bound=Callable[..., Any])


def is_click_exception(exc: BaseException) -> bool:
    """click's own exceptions (typer vendors click in recent versions, so match by shape)."""
    return isinstance(getattr(exc, "exit_code", None), int) and callable(getattr(exc, "format_message", None))


def _fail(message: str, code: int, exc: BaseException | None) -> typer.Exit:
    if settings.debug and exc is not None:
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    typer.echo(f"error: {one_line(message)}", err=True)
    return typer.Exit(code)


def command(fn: F) -> F:
    """Turn whatever a command raises into one line on stderr and its exit code (see ``cli``)."""

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
            if is_click_exception(exc):
                raise
            hint = "" if settings.debug else " (rerun with --debug for the traceback)"
            raise _fail(f"unexpected {type(exc).__name__}: {exc}{hint}", EXIT_ERROR, exc) from None

    return wrapper  # type: ignore[return-value]


# -- help without a type after a plain flag ------------------------------------------------------------
def _plain_flags(params: list[Any]) -> list[Any]:
    """Give each on/off flag an empty metavar: typer's rich help otherwise prints the flag's Python
    type after it (``--version <bool>``), as if it took a value. Only flags are touched."""
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    return params


class Command(typer.core.TyperCommand):
    """The class of every ``yangguang`` command: typer's, with plain flags shown without a type."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _plain_flags(super().get_params(ctx))


class Group(typer.core.TyperGroup):
    """The class of ``yangguang`` and its command groups (see ``Command``)."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _plain_flags(super().get_params(ctx))


# -- the options of the commands that talk to the API -----------------------------------------------
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


def make_client(creds: Credentials) -> Client:
    """A sync ``Client`` for ``creds`` (imported here: the client is not needed for ``--help``)."""
    from .. import Client

    return Client(api_key=creds.api_key, base_url=creds.base_url)


def closest(name: str, choices: list[str]) -> str | None:
    """The choice ``name`` most likely meant (``claim.payed`` -> ``claim.paid``, ``CLAIM.PAID`` ->
    ``claim.paid``), or None when nothing is close."""
    import difflib  # only on the error path

    folded = {choice.lower(): choice for choice in choices}
    close = difflib.get_close_matches(name.lower(), list(folded), n=1, cutoff=0.6)
    return folded[close[0]] if close else None
