"""What a resource method hands a client: the description of one call (``APIRequest``), and the two
small protocols through which resources know a client (``SyncAPIClient``, ``AsyncAPIClient``).

It sits below both the resources and the clients, so neither imports the other's module to talk:
``_base_client`` and ``_client`` implement the protocols, ``resources/`` only call them. It also
holds the rule for an idempotency key and its header form, which the SDK encodes and the sandbox
app decodes (``idempotency_key_header`` / ``idempotency_key_from_header``).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar

import httpx
from pydantic import BaseModel

if TYPE_CHECKING:
    from .pagination import AsyncPage, SyncPage

__all__ = [
    "APIRequest",
    "NotGiven",
    "NOT_GIVEN",
    "TimeoutTypes",
    "SyncAPIClient",
    "AsyncAPIClient",
    "IDEMPOTENCY_KEY_MAX_CHARS",
    "ENCODED_KEY_MARKER",
    "IDEMPOTENCY_KEY_RULE",
    "idempotency_key_problem",
    "idempotency_key_header",
    "idempotency_key_from_header",
]

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


# -- idempotency keys ------------------------------------------------------------------------------

IDEMPOTENCY_KEY_MAX_CHARS = 255
"""An idempotency key is 1 to this many characters (of the key itself, not of its header form)."""
ENCODED_KEY_MARKER = "UTF-8''"
"""Begins the header form of a key that is not plain printable ASCII (RFC 8187's ext-value), which
follows as percent-encoded UTF-8."""
IDEMPOTENCY_KEY_RULE = (
    f"must be 1-{IDEMPOTENCY_KEY_MAX_CHARS} printable characters: letters of any script, digits, "
    "punctuation and spaces, with no control or invisible characters"
)

# Sent as they are: printable ASCII, no space at either end (HTTP drops those from a header value).
_PLAIN_KEY = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?")
# RFC 8187's attr-char and pct-encoded: what may follow the marker.
_ENCODED_PART = re.compile(r"(?:%[0-9A-Fa-f]{2}|[A-Za-z0-9!#$&+\-.^_`|~])*")


def idempotency_key_problem(key: object) -> str | None:
    """What is wrong with ``key`` as an idempotency key, or None. Any script is fine ("订单-1")."""
    if not isinstance(key, str) or not 1 <= len(key) <= IDEMPOTENCY_KEY_MAX_CHARS or not key.isprintable():
        return IDEMPOTENCY_KEY_RULE
    return None


def idempotency_key_header(key: str) -> str:
    """The ``Idempotency-Key`` header value for ``key``: the key itself when it is printable ASCII
    with no space at either end and does not begin with the marker; else ``UTF-8''`` and the key's
    UTF-8 bytes percent-encoded (``"订单-1"`` -> ``UTF-8''%E8%AE%A2%E5%8D%95-1``). Every key has one
    form and every form one key, so a replay from any client finds the same stored answer."""
    if _PLAIN_KEY.fullmatch(key) and not key.startswith(ENCODED_KEY_MARKER):
        return key
    return ENCODED_KEY_MARKER + urllib.parse.quote(key.encode("utf-8"), safe="")


def idempotency_key_from_header(value: str) -> str:
    """The key an ``Idempotency-Key`` header value stands for (the inverse of
    ``idempotency_key_header``); ``ValueError`` saying why when it stands for none.

    ``value`` is the header as a server reads it (bytes as Latin-1): raw UTF-8 bytes, as curl sends
    a key typed in Chinese, are read as the same key as its encoded form."""
    if value.startswith(ENCODED_KEY_MARKER):
        part = value[len(ENCODED_KEY_MARKER) :]
        if not _ENCODED_PART.fullmatch(part):
            raise ValueError(
                f"after {ENCODED_KEY_MARKER} come only the key's UTF-8 bytes percent-encoded (%XX) and "
                "the characters A-Z a-z 0-9 ! # $ & + - . ^ _ ` | ~"
            )
        raw: bytes | None = urllib.parse.unquote_to_bytes(part)
    else:
        try:
            raw = None if value.isascii() else value.encode("latin-1")
        except UnicodeEncodeError:
            raw = None  # already text, not bytes read as Latin-1
    key = value
    if raw is not None:
        try:
            key = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("the key is not UTF-8 text") from None
    problem = idempotency_key_problem(key)
    if problem:
        raise ValueError(problem)
    return key
