"""Fixtures for end-to-end tests: an in-process sandbox, and one served by uvicorn on loopback."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import served_sandbox as served_sandbox_at
from yangguang_sdk import Client
from yangguang_sdk.sandbox import Sandbox

START = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.timezone.utc)


def borrower(score: int | None = 720, id_number: str = "11010519491231002X") -> dict[str, object]:
    b: dict[str, object] = {
        "type": "individual",
        "name": "张三",
        "id_number": id_number,
        "phone": "13800138000",
    }
    if score is not None:
        b["credit_score"] = score
    return b


def loan(
    principal: str = "12999.00", months: int = 12, rate: str = "0.12", first_due: str = "2026-12-25"
) -> dict[str, object]:
    from yangguang_sdk import Money

    return {
        "principal": Money.cny(principal),
        "term_months": months,
        "annual_rate": rate,
        "first_due_date": first_due,
    }


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    sb = Sandbox(now=START)
    yield sb
    sb.close()


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[Client]:
    c = sandbox.client()
    yield c
    c.close()


@pytest.fixture(scope="session")
def served_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of ``python -m yangguang_sdk.sandbox`` on a free loopback port (SQLite-backed)."""
    db: Path = tmp_path_factory.mktemp("served") / "sandbox.sqlite"
    with served_sandbox_at("--db", str(db)) as url:
        yield url
