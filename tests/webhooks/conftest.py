"""Fixtures of the webhook tests: signed claim events at a frozen time, and a PostgreSQL server."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from yangguang_sdk.webhooks import Webhook

from ..pg import PostgresUnavailable, throwaway_postgres
from ._events import FROZEN_NOW


@pytest.fixture
def frozen_webhook() -> Callable[..., Webhook]:
    """``frozen_webhook(secret, **options)``: a Webhook whose clock reads FROZEN_NOW."""

    def make(secret: str | list[str], **options: Any) -> Webhook:
        return Webhook(secret, now=lambda: FROZEN_NOW, **options)

    return make


# -- PostgreSQL -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_dsn() -> Iterator[str]:
    """A PostgreSQL DSN: YANGGUANG_TEST_PG_DSN, else a throwaway cluster started for the session."""
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
