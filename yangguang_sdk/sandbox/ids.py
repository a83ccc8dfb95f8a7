"""Deterministic, prefixed object ids: the same script against a fresh sandbox gives the same ids.

An id is ``prefix_`` + 16 base32 characters of a keyed BLAKE2b hash of (tenant, n), where n is the
tenant's persisted counter. Each tenant has its own counter, so what one tenant does never changes
another tenant's ids, and the hash keeps ids of different tenants apart.
"""

from __future__ import annotations

import base64
import hashlib

__all__ = ["make_id"]


def make_id(prefix: str, tenant: str, n: int) -> str:
    """The id number ``n`` of ``tenant`` with ``prefix`` (``quo``, ``pol``, ...)."""
    digest = hashlib.blake2b(f"{tenant}\x00{n}".encode(), digest_size=10, person=b"yg-sandbox-ids").digest()
    return f"{prefix}_{base64.b32encode(digest).decode('ascii').lower()}"
