"""Errors of the sandbox engine: what went wrong in the domain, with no HTTP in them.

    SandboxError        base: kind, code, message, param
    ├── NotFound        kind "not_found": no such object for this tenant (code resource_missing)
    ├── Conflict        kind "conflict": the object's state forbids it (quote_expired, ...)
    └── Invalid         kind "invalid": a field failed a rule; ``param`` names it

Only ``app.py`` turns a kind into an HTTP status and an error type. Messages never contain
identity numbers, phone numbers or API keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeVar

import pydantic

from ..types._validation import describe_validation_error

__all__ = ["SandboxError", "ErrorKind", "NotFound", "Conflict", "Invalid", "validated"]

ErrorKind = Literal["not_found", "conflict", "invalid"]


class SandboxError(Exception):
    """A domain error the engine reports to its caller."""

    kind: ErrorKind = "invalid"

    def __init__(self, code: str, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param

    def __repr__(self) -> str:
        return f"{type(self).__name__}(kind={self.kind!r}, code={self.code!r}, message={self.message!r})"


class NotFound(SandboxError):
    """No such object for this tenant (another tenant's objects are not found either)."""

    kind = "not_found"

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__("resource_missing", message, param=param)


class Conflict(SandboxError):
    """The object's current state forbids the operation."""

    kind = "conflict"


class Invalid(SandboxError):
    """A field failed a rule; ``param`` names it (``borrower.type``, ``amount``, ...)."""

    kind = "invalid"


_M = TypeVar("_M", bound=pydantic.BaseModel)


def validated(model: type[_M], params: _M | Mapping[str, Any]) -> _M:
    """The request model itself, or one validated from a plain dict (for Python callers of the
    engine; the app hands it models). A validation error becomes ``Invalid`` naming the field."""
    if isinstance(params, model):
        return params
    try:
        return model.model_validate(params)
    except pydantic.ValidationError as exc:
        problem = describe_validation_error(exc)
        raise Invalid("invalid_parameter", str(problem), param=problem.param) from None
