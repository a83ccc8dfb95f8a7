"""Fixtures shared by several test packages: a PostgreSQL server for the session."""

from __future__ import annotations

import os
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
