"""Fixtures shared by several test packages: a PostgreSQL server for the session."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator

import pytest

from .pg import PostgresUnavailable, throwaway_postgres


@pytest.fixture(scope="session")
def pg_dsn() -> Iterator[str]:
    """A PostgreSQL DSN: YANGGUANG_TEST_PG_DSN, else a throwaway cluster started for the session
    (one for every package that needs it: the webhook inbox tests, the reliability suite)."""
    pytest.importorskip("psycopg", reason="psycopg (the postgres extra) is not installed")
    configured = os.environ.get("YANGGUANG_TEST_PG_DSN")
    if configured:
        yield configured
        return
    try:
        cluster = throwaway_postgres()
        dsn = cluster.__enter__()
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))
    try:
        yield dsn
    finally:
        cluster.__exit__(None, None, None)


# -- the suite-wide log guard -------------------------------------------------------------------

# Unmasked API keys, webhook secrets, 18-character ID numbers / credit codes and mainland mobile
# numbers. Masked forms (yg_test_****, 110105********002X, 138****8000) do not match.
_SENSITIVE = re.compile(
    r"yg_(?:test|live)_[A-Za-z0-9_]{4,}"
    r"|wh(?:sec|sk|pk)_[A-Za-z0-9+/=]{8,}"
    r"|(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])"
    r"|(?<![0-9A-Za-z])[0-9A-HJ-NP-RTUWXY]{2}\d{6}[0-9A-HJ-NP-RTUWXY]{10}(?![0-9A-Za-z])"
    r"|(?<![0-9A-Za-z.])1[3-9]\d{9}(?![0-9A-Za-z.])"
)
_WATCHED = ("yangguang_sdk", "httpx", "httpcore", "uvicorn", "fastapi")


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += f" {record.exc_info[1]!r}"
        for match in _SENSITIVE.finditer(text):
            self.leaks.append(f"{record.name}: ...{match.group(0)[:6]}... in {text[:80]!r}")


@pytest.fixture(autouse=True)
def _no_secrets_in_logs() -> Iterator[None]:
    """Every test of the suite runs with the SDK's (and httpx's) loggers at DEBUG, and fails if an
    unmasked API key, webhook secret, ID number or phone number reaches any log record."""
    collector = _Collector()
    root = logging.getLogger()
    root.addHandler(collector)
    levels = {name: logging.getLogger(name).level for name in _WATCHED}
    for name in _WATCHED:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.removeHandler(collector)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
    assert not collector.leaks, "sensitive values reached the logs:\n" + "\n".join(collector.leaks[:5])
