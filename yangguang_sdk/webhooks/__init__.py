"""Receiving the insurer's webhooks: verify (Standard Webhooks v1 / v1a), de-duplicate, dispatch.

    from yangguang_sdk.webhooks import Webhook, WebhookHandler, SQLiteInbox

    event = Webhook(secret).verify(raw_body, headers)      # typed event, or WebhookVerificationError
    handler = WebhookHandler(Webhook(secret), inbox=SQLiteInbox("inbox.db"))

Importing this package is cheap: pydantic, cryptography's Ed25519, sqlite3 and psycopg are loaded
only when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import WebhookVerificationError
from ._signing import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_TOLERANCE,
    Webhook,
    build_headers,
    generate_ed25519_keypair,
    generate_hmac_secret,
)

if TYPE_CHECKING:
    from ._handler import WebhookHandler
    from ._inbox import Inbox, MemoryInbox, SQLiteInbox
    from ._postgres import PostgresInbox

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_TOLERANCE",
    "Inbox",
    "MemoryInbox",
    "PostgresInbox",
    "SQLiteInbox",
    "Webhook",
    "WebhookHandler",
    "WebhookVerificationError",
    "build_headers",
    "generate_ed25519_keypair",
    "generate_hmac_secret",
]

_LAZY = {
    "WebhookHandler": "._handler",
    "Inbox": "._inbox",
    "MemoryInbox": "._inbox",
    "SQLiteInbox": "._inbox",
    "PostgresInbox": "._postgres",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
