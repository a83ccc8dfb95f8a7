"""yangguang-sdk: quote, bind and cancel credit insurance on installment purchases and loans,
report repayments, and receive signed claim webhooks.

Public names are imported lazily, so ``import yangguang_sdk`` stays as cheap as httpx + pydantic.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from . import errors, types
    from ._client import AsyncClient, Client
    from ._consent import async_consent, consent
    from .errors import (
        APIConnectionError,
        APIError,
        APIResponseValidationError,
        APIStatusError,
        APITimeoutError,
        AuthenticationError,
        BadRequestError,
        ConfigurationError,
        ConflictError,
        IdempotencyError,
        InternalServerError,
        InvalidRequestError,
        NotFoundError,
        ParameterError,
        ParameterTypeError,
        PermissionDeniedError,
        RateLimitError,
        RequestTooLargeError,
        WebhookVerificationError,
        YangguangError,
    )
    from .pagination import AsyncPage, AsyncPaginator, SyncPage
    from .types import ResponseInfo
    from .types.money import Money

__all__ = [
    "__version__",
    "Client",
    "AsyncClient",
    "Money",
    "ResponseInfo",
    "SyncPage",
    "AsyncPage",
    "AsyncPaginator",
    "consent",
    "async_consent",
    "errors",
    "types",
    "YangguangError",
    "ParameterError",
    "ParameterTypeError",
    "ConfigurationError",
    "WebhookVerificationError",
    "APIError",
    "APIConnectionError",
    "APITimeoutError",
    "APIResponseValidationError",
    "APIStatusError",
    "BadRequestError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "ConflictError",
    "RequestTooLargeError",
    "InvalidRequestError",
    "IdempotencyError",
    "RateLimitError",
    "InternalServerError",
]

_LAZY: dict[str, str] = {
    "Client": "._client",
    "AsyncClient": "._client",
    "Money": ".types.money",
    "ResponseInfo": ".types",
    "SyncPage": ".pagination",
    "AsyncPage": ".pagination",
    "AsyncPaginator": ".pagination",
    "consent": "._consent",
    "async_consent": "._consent",
}
_MODULES = {"errors", "types", "webhooks", "sandbox", "pagination"}


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return importlib.import_module(f".{name}", __name__)
    module = _LAZY.get(name)
    if module is None and name in __all__:
        module = ".errors"
    if module is None:
        raise AttributeError(f"module 'yangguang_sdk' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
