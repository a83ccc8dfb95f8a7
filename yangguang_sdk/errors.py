"""The one exception tree of yangguang-sdk: every error the SDK raises on purpose is in it.

    YangguangError                      base of everything below
    ├── ParameterError                  bad input caught before any request (also a ValueError)
    │   └── ParameterTypeError          of the wrong type, e.g. a float as money (also a TypeError)
    ├── ConfigurationError              missing or unsafe api_key / base_url
    ├── WebhookVerificationError        a webhook that failed verification (also a ValueError)
    └── APIError                        something went wrong talking to the insurer
        ├── APIConnectionError          no response: connection refused, reset, DNS, ...
        │   └── APITimeoutError         no response in time (per attempt or the call's deadline)
        ├── APIResponseValidationError  a 2xx answer whose body is not what the API promises
        └── APIStatusError              the insurer answered 4xx / 5xx
            ├── BadRequestError             400  malformed request
            ├── AuthenticationError         401  missing, malformed or refused API key
            ├── PermissionDeniedError       403  the key may not do this
            ├── NotFoundError               404  no such object for this key
            ├── ConflictError               409  the object's state forbids it (quote_expired, ...)
            ├── InvalidRequestError         422  a field failed validation (``param`` names it)
            │   └── IdempotencyError        422  idempotency_key_reused: same key, other body
            ├── RateLimitError              429  slow down; retried automatically
            └── InternalServerError         5xx  the insurer failed; retried automatically

Messages never carry API keys, secrets, ID numbers or phone numbers.
"""

from __future__ import annotations

from typing import Any

__all__ = [
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
    "InvalidRequestError",
    "IdempotencyError",
    "RateLimitError",
    "InternalServerError",
]


class YangguangError(Exception):
    """Base class of every error raised by yangguang-sdk."""


class ParameterError(YangguangError, ValueError):
    """A parameter was rejected by the SDK before anything was sent; ``param`` names it."""

    def __init__(self, message: str, *, param: str | None = None) -> None:
        self.param = param
        super().__init__(f"{param}: {message}" if param else message)


class ConfigurationError(YangguangError):
    """The client cannot be built as configured (missing key or URL, live key over plain HTTP)."""


class ParameterTypeError(ParameterError, TypeError):
    """A parameter of the wrong type (a float where money is expected); also a ``TypeError``."""


class WebhookVerificationError(YangguangError, ValueError):
    """A webhook's signature, timestamp, headers or body did not verify."""


class APIError(YangguangError):
    """Base class of errors from talking to the insurer's API."""

    def __init__(self, message: str, *, method: str | None = None, url: str | None = None) -> None:
        self.message = message
        self.method = method
        self.url = url
        super().__init__(message)


class APIConnectionError(APIError):
    """No response was received: the connection failed or was lost."""


class APITimeoutError(APIConnectionError):
    """No response in time, either for one attempt or for the whole call's deadline."""


class APIResponseValidationError(APIError):
    """A successful (2xx) answer whose body could not be read as the promised object."""

    def __init__(self, message: str, *, status_code: int, request_id: str | None = None, **kw: Any) -> None:
        self.status_code = status_code
        self.request_id = request_id
        super().__init__(message, **kw)


class APIStatusError(APIError):
    """The insurer answered with a 4xx or 5xx status; the fields say what and why."""

    status_code: int

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        request_id: str | None = None,
        code: str | None = None,
        param: str | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.request_id = request_id
        self.code = code
        self.param = param
        self.body = body
        self.headers = headers or {}
        super().__init__(message, method=method, url=url)

    def __str__(self) -> str:
        parts = [f"{self.status_code}"]
        if self.code:
            parts.append(self.code)
        text = f"[{' '.join(parts)}] {self.message}"
        if self.param:
            text += f" (param: {self.param})"
        if self.request_id:
            text += f" [request id: {self.request_id}; quote it when asking for help]"
        hint = _HINTS.get(self.code or "") or _STATUS_HINTS.get(self.status_code)
        if hint:
            text += f" {hint}"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status_code={self.status_code}, code={self.code!r}, "
            f"param={self.param!r}, request_id={self.request_id!r})"
        )


class BadRequestError(APIStatusError):
    """400: the request was malformed (bad JSON, wrong types)."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing, malformed or not accepted here."""


class PermissionDeniedError(APIStatusError):
    """403: the key is valid but may not do this."""


class NotFoundError(APIStatusError):
    """404: no such object for this API key (another tenant's objects are 404 too)."""


class ConflictError(APIStatusError):
    """409: the object's state forbids the request (``code`` says which rule)."""


class InvalidRequestError(APIStatusError):
    """422: a field failed validation; ``param`` names it."""


class IdempotencyError(InvalidRequestError):
    """422 idempotency_key_reused: the key was already used with a different body."""


class RateLimitError(APIStatusError):
    """429: too many requests; the SDK retries these honouring Retry-After."""


class InternalServerError(APIStatusError):
    """5xx: the insurer failed; the SDK retries these."""


_HINTS: dict[str, str] = {
    "quote_expired": "Quotes expire 30 minutes after their decision: create a new quote.",
    "quote_already_bound": "This quote is already bound; retrieve the existing policy instead.",
    "quote_not_bindable": "Only approved quotes can be bound; check quote.decision.",
    "idempotency_key_reused": "Use a new Idempotency-Key for a different request body.",
    "idempotency_request_in_progress": "The first request with this key is still running; retry shortly.",
    "policy_not_cancellable": "A policy with an overdue installment or a claim cannot be cancelled.",
}
_STATUS_HINTS: dict[int, str] = {
    401: "Check the api_key argument or YANGGUANG_API_KEY (yg_test_... for the sandbox).",
    404: "Objects are visible only to the API key that created them.",
    429: "Slow down; the SDK already retried with backoff.",
}

_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: InvalidRequestError,
    429: RateLimitError,
}


def status_error_class(status_code: int, code: str | None) -> type[APIStatusError]:
    """The error class for an HTTP status and error code."""
    if status_code == 422 and code == "idempotency_key_reused":
        return IdempotencyError
    if status_code >= 500:
        return InternalServerError
    return _STATUS_CLASSES.get(status_code, APIStatusError)
