"""Fixtures of the webhook tests: signed claim events at a frozen time (``pg_dsn``, a PostgreSQL
server, is in ``tests/conftest.py``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from yangguang_sdk.webhooks import Webhook

from ._events import FROZEN_NOW


@pytest.fixture
def frozen_webhook() -> Callable[..., Webhook]:
    """``frozen_webhook(secret, **options)``: a Webhook whose clock reads FROZEN_NOW."""

    def make(secret: str | list[str], **options: Any) -> Webhook:
        return Webhook(secret, now=lambda: FROZEN_NOW, **options)

    return make
