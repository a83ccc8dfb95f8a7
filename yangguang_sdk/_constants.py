"""Every default of the client, named once."""

from __future__ import annotations

import httpx

__all__ = [
    "API_VERSION",
    "DEFAULT_TIMEOUT",
    "DEFAULT_DEADLINE",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_CONNECTION_LIMITS",
    "DEFAULT_MAX_CONCURRENCY",
    "INITIAL_RETRY_DELAY",
    "MAX_RETRY_DELAY",
    "MAX_RETRY_AFTER",
    "API_KEY_ENV",
    "BASE_URL_ENV",
    "LOG_ENV",
]

API_VERSION = "2026-11-29"
"""Sent as ``yangguang-version`` on every request."""

DEFAULT_TIMEOUT = httpx.Timeout(20.0, connect=5.0)
"""Per attempt: 5 s to connect, 20 s for each read/write/pool wait."""

DEFAULT_DEADLINE = 60.0
"""Seconds for the whole call, every retry and back-off included."""

DEFAULT_MAX_RETRIES = 2
DEFAULT_MAX_CONCURRENCY = 64
"""Requests a client (with its copies) has in flight at most; more wait in the client. Below the
pool's 100 connections on purpose: thousands of requests queued in httpcore's pool collapse it
(DESIGN §7.8)."""
DEFAULT_CONNECTION_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)
"""httpx's own defaults, on purpose: keeping as many connections alive as may be in flight (64)
made each request cost the async client about 10 ms of CPU in httpcore's pool at 64 in flight
(about 2.5 ms with 20), and its throughput fell to 0.4x of 4 in flight (docs/decisions.md)."""

INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
MAX_RETRY_AFTER = 60.0
"""A server's Retry-After longer than this is not honoured (the SDK backs off normally instead)."""

API_KEY_ENV = "YANGGUANG_API_KEY"
BASE_URL_ENV = "YANGGUANG_BASE_URL"
LOG_ENV = "YANGGUANG_LOG"
