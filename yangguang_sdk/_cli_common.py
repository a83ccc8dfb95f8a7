"""Pieces shared by the ``yangguang`` command's modules: exit codes, the one-line error, credentials.

Nothing here imports typer or rich, so the command's working parts can be tested without them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ._constants import API_KEY_ENV, BASE_URL_ENV

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
