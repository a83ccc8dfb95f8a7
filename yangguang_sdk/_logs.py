"""The ``yangguang_sdk`` logger and the filter that keeps secrets and personal data out of it."""

from __future__ import annotations

import logging
import os
import re

from ._constants import LOG_ENV

__all__ = ["logger", "get_logger", "redact", "setup_logging"]

logger = logging.getLogger("yangguang_sdk")

_PATTERNS = [
    (re.compile(r"\b(yg_(?:test|live)_)[A-Za-z0-9_]+"), r"\1****"),
    (re.compile(r"\b(wh(?:sec|sk|pk)_)[A-Za-z0-9+/=]+"), r"\1****"),
    (re.compile(r"(?i)(bearer\s+)\S+"), r"\1****"),
    # 18-character resident ID numbers and unified social credit codes
    (
        re.compile(r"(?<![A-Za-z0-9])([0-9A-Z]{6})[0-9A-Z]{8}([0-9A-Z]{3}[0-9A-Z])(?![A-Za-z0-9])"),
        r"\1********\2",
    ),
    # the same in lower case (the SDK accepts "...002x"): both kinds have digits in places 3-8
    (
        re.compile(
            r"(?<![A-Za-z0-9])([0-9A-Za-z]{2}[0-9]{4})[0-9]{2}[0-9A-Za-z]{6}([0-9A-Za-z]{4})(?![A-Za-z0-9])"
        ),
        r"\1********\2",
    ),
    # 11-digit mainland mobile numbers, also as +86 / 0086 138 0013 8000 or 138-0013-8000
    (
        re.compile(r"(?<!\d)((?:(?:\+|00)?86[- ]?)?1\d{2})([- ]?)\d{4}\2(\d{4})(?!\d)"),
        r"\1****\3",
    ),
]


def redact(text: str) -> str:
    """``text`` with API keys, webhook secrets, ID numbers and phone numbers masked."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Masks sensitive values in every record that passes through the SDK's loggers."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


logger.addFilter(RedactingFilter())
# httpx logs each request's full URL at INFO: ids and filter values in it are the caller's data
# (an order id holding a phone number), so its records are masked the same way.
logging.getLogger("httpx").addFilter(RedactingFilter())
_configured = False


def setup_logging() -> None:
    """Turn the SDK's logging on from ``YANGGUANG_LOG=debug|info`` (once per process)."""
    global _configured
    if _configured:
        return
    _configured = True
    level = os.environ.get(LOG_ENV, "").strip().lower()
    if level in ("debug", "info"):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        handler.addFilter(RedactingFilter())
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG if level == "debug" else logging.INFO)


def get_logger(name: str) -> logging.Logger:
    """A logger of the SDK's with the masking filter on it. A filter on ``yangguang_sdk`` does not
    apply to records of its children, so every SDK logger gets its own."""
    named = logging.getLogger(name)
    if not any(isinstance(f, RedactingFilter) for f in named.filters):
        named.addFilter(RedactingFilter())
    return named
