"""What a caller can learn about the HTTP response behind any returned object."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

__all__ = ["ResponseInfo"]


@dataclass(frozen=True)
class ResponseInfo:
    """Status, headers and request id of the response an object was read from.

    Every object the client returns carries one as ``obj.last_response``.
    """

    status_code: int
    headers: httpx.Headers
    request_id: str | None
    attempts: int
    elapsed_ms: float
    idempotency_key: str | None = None

    @property
    def replayed(self) -> bool:
        """True when the insurer answered from its idempotency store (a retried POST)."""
        return bool(self.headers.get("idempotent-replayed") == "true")
