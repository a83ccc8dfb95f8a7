"""What a resource method hands a client: the description of one call (``APIRequest``), and the two
small protocols through which resources know a client (``SyncAPIClient``, ``AsyncAPIClient``).

It sits below both the resources and the clients, so neither imports the other's module to talk:
``_base_client`` and ``_client`` implement the protocols, ``resources/`` only call them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar

import httpx
from pydantic import BaseModel

if TYPE_CHECKING:
    from .pagination import AsyncPage, SyncPage

__all__ = ["APIRequest", "NotGiven", "NOT_GIVEN", "TimeoutTypes", "SyncAPIClient", "AsyncAPIClient"]

T = TypeVar("T")


class NotGiven:
    """Marks an option the caller did not pass (``None`` may mean "no timeout")."""

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN = NotGiven()
TimeoutTypes = float | httpx.Timeout | None


@dataclass(frozen=True)
class APIRequest(Generic[T]):
    """A description of one API call, built by a resource method and executed by a client."""

    method: str
    path: str
    cast_to: Any
    """A model class, or a type for a pydantic TypeAdapter (the Event union)."""
    body: BaseModel | Mapping[str, Any] | None = None
    query: Mapping[str, Any] | None = None
    idempotency_key: str | None = None
    timeout: TimeoutTypes | NotGiven = NOT_GIVEN
    deadline: float | NotGiven = NOT_GIVEN
    extra_headers: Mapping[str, str] | None = None


class SyncAPIClient(Protocol):
    """What a sync resource needs of its client (``yg.Client``)."""

    def execute(self, req: APIRequest[T]) -> T: ...

    def execute_page(self, req: APIRequest[T], cursor: str | None = None) -> SyncPage[T]: ...


class AsyncAPIClient(Protocol):
    """What an async resource needs of its client (``yg.AsyncClient``)."""

    async def execute(self, req: APIRequest[T]) -> T: ...

    async def execute_page(self, req: APIRequest[T], cursor: str | None = None) -> AsyncPage[T]: ...
