"""The suite-wide log guard of tests/conftest.py catches what it must and passes what is masked."""

from __future__ import annotations

import logging

import pytest

from yangguang_sdk._logs import redact

from .conftest import _Collector

RAW = [
    "key yg_test_abcdef123456",
    "secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "id 11010519491231002X",
    "uscc 91110000600037341L",
    "phone=13800138000",
]


def _leaks(message: str) -> list[str]:
    collector = _Collector()
    collector.emit(logging.LogRecord("yangguang_sdk", logging.DEBUG, __file__, 1, message, None, None))
    return collector.leaks


@pytest.mark.parametrize("message", RAW)
def test_the_guard_catches_raw_values(message: str) -> None:
    assert _leaks(message)


@pytest.mark.parametrize("message", RAW)
def test_the_guard_passes_what_the_sdk_masks(message: str) -> None:
    assert _leaks(redact(message)) == []


def test_request_ids_and_amounts_are_not_mistaken_for_personal_data() -> None:
    assert _leaks("POST /v1/quotes -> 200 request_id=req_cae642220745335500697b11 amount=1299900") == []
