"""Errors of the sandbox engine, each carrying the HTTP status and error code the app should answer.

    SandboxError        base: status, code, message, param; ``body()`` is the wire error object
    ├── BadRequest      400  malformed input
    ├── NotFound        404  resource_missing: no such object for this tenant
    ├── Conflict        409  the object's state forbids it (quote_expired, policy_not_cancellable, ...)
    └── Invalid         422  a field failed validation; ``param`` names it

The status is the only HTTP knowledge the engine has. Messages never contain identity numbers,
phone numbers or API keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import pydantic

from ..types._base import error_param

__all__ = ["SandboxError", "BadRequest", "NotFound", "Conflict", "Invalid", "validated"]


class SandboxError(Exception):
    """An error the engine reports to the caller as an API error."""

    status: int = 400
    type: str = "invalid_request_error"

    def __init__(self, code: str, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param

    def body(self) -> dict[str, Any]:
        """``{"error": {"type", "code", "message", "param"}}``; the app adds the request id."""
        return {"error": {"type": self.type, "code": self.code, "message": self.message, "param": self.param}}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, code={self.code!r}, message={self.message!r})"


class BadRequest(SandboxError):
    """400: the request cannot be understood."""

    status = 400


class NotFound(SandboxError):
    """404: no such object for this tenant (another tenant's objects are not found either)."""

    status = 404
    type = "not_found_error"

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__("resource_missing", message, param=param)


class Conflict(SandboxError):
    """409: the object's current state forbids the operation."""

    status = 409
    type = "conflict_error"


class Invalid(SandboxError):
    """422: a field failed validation; ``param`` names it (``borrower.type``, ``amount``, ...)."""

    status = 422

    def __init__(self, code: str, message: str, *, param: str | None = None) -> None:
        super().__init__(code, message, param=param)
        if code == "idempotency_key_reused":
            self.type = "idempotency_error"


_M = TypeVar("_M", bound=pydantic.BaseModel)


def validated(model: type[_M], params: _M | Mapping[str, Any]) -> _M:
    """The request model from a model or a plain dict; a validation error becomes ``Invalid``
    naming the field (never repeating the value: it may be an ID number)."""
    if isinstance(params, model):
        return params
    try:
        return model.model_validate(params)
    except pydantic.ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        param = error_param(first["loc"])
        raise Invalid(
            "invalid_request", f"{param}: {first['msg']}" if param else first["msg"], param=param
        ) from None
