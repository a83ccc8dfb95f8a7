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
            ├── RequestTooLargeError        413  the body is over the API's size limit
            ├── InvalidRequestError         422  a field failed validation (``param`` names it)
            │   └── IdempotencyError        422  idempotency_key_reused: same key, other body
            ├── RateLimitError              429  slow down; retried automatically
            └── InternalServerError         5xx  the insurer failed; retried automatically

Messages never carry API keys, secrets, ID numbers or phone numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypedDict

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
    "RequestTooLargeError",
    "InvalidRequestError",
    "IdempotencyError",
    "RateLimitError",
    "InternalServerError",
]


class YangguangError(Exception):
    """Base class of every error raised by yangguang-sdk."""


class ParameterProblem(TypedDict):
    """One problem of a ``ParameterError``: the field (dotted, or None) and what is wrong with it."""

    param: str | None
    message: str


SHOWN_PROBLEMS = 3
"""How many problems ``str(ParameterError)`` spells out before "and N more problems"."""


def describe_problems(problems: Sequence[ParameterProblem]) -> str:
    """``param: message`` of the first few problems, then how many more there are."""
    shown = [
        f"{p['param']}: {p['message']}" if p["param"] else p["message"] for p in problems[:SHOWN_PROBLEMS]
    ]
    hidden = len(problems) - SHOWN_PROBLEMS
    if hidden > 0:
        shown.append(f"and {hidden} more problem{'s' if hidden > 1 else ''}")
    return "; ".join(shown)


class ParameterError(YangguangError, ValueError):
    """A parameter was rejected by the SDK before anything was sent; ``param`` names it (the first
    problem's field when there are several) and ``errors`` lists every problem found. ``code`` is
    the API's error code for the same refusal where it has a named one (``beneficiary_required``,
    ``repayment_method_not_offered``), else ``invalid_parameter``."""

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        errors: Sequence[ParameterProblem] | None = None,
        code: str = "invalid_parameter",
    ) -> None:
        self.param = param
        self.code = code
        self.errors: list[ParameterProblem] = [
            ParameterProblem(param=e["param"], message=e["message"])
            for e in (errors or [{"param": param, "message": message}])
        ]
        """Every problem, as ``{"param": ..., "message": ...}``; the first is ``param``'s."""
        super().__init__(describe_problems(self.errors))


class ConfigurationError(YangguangError):
    """The client cannot be built as configured (missing key or URL, live key over plain HTTP), or
    cannot be used any more (it was closed)."""


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
        if self.code:
            hint = _HINTS.get(self.code) or _STATUS_HINTS.get(self.status_code)
        else:  # not the insurer's error body: perhaps not the insurer at all
            hint = _UNCODED_STATUS_HINTS.get(self.status_code) or _STATUS_HINTS.get(self.status_code)
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


class RequestTooLargeError(APIStatusError):
    """413: the request body is over the API's size limit (1 MiB; 16 MiB for quote batches)."""


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
    "policy_not_cancellable": "A policy with an overdue installment cannot be cancelled or settled "
    "until the installment is reported paid.",
    "policy_already_cancelled": "The policy is already cancelled: a retried cancel has nothing left to do.",
    "policy_already_completed": "The policy is already completed (settled or fully repaid).",
    "policy_claimed": "A claim exists on this policy; it can no longer be cancelled or settled.",
    "request_too_large": "Send less in one request: split a long list over several calls.",
    "unknown_route": "The API has no such route: check base_url, the API's root without /v1 "
    "(e.g. http://127.0.0.1:8765 for a served sandbox); the SDK adds /v1/... itself.",
}
_UNCODED_STATUS_HINTS: dict[int, str] = {
    404: "The answer is not an error of the insurer's API: check base_url, the API's root without "
    "/v1 (e.g. http://127.0.0.1:8765 for a served sandbox).",
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
    413: RequestTooLargeError,
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
