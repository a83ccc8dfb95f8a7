"""The sandbox's HTTP API (DESIGN section 3) as a FastAPI app over an ``Engine``.

This module knows HTTP: auth, the error body, request ids, idempotency headers, pagination
parameters. It knows nothing of pricing or policy rules; every decision is the engine's. It is the
one place where the engine's error kinds become HTTP statuses and error types (``error_answer``).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal

import pydantic_core
from fastapi import Depends, FastAPI, Header, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from .._constants import API_VERSION
from .._request import ENCODED_KEY_MARKER, IDEMPOTENCY_KEY_MAX_CHARS, idempotency_key_from_header
from ..types import (
    Claim,
    Endorsement,
    EndorsementCreateParams,
    ExposureCheck,
    ExposureCheckParams,
    Policy,
    PolicyBindParams,
    PolicyCancelParams,
    PolicySettleParams,
    PolicyUpdateParams,
    Quote,
    QuoteBatch,
    QuoteBatchCreateParams,
    QuoteCreateParams,
    Repayment,
    RepaymentCreateParams,
    Statement,
    TestClock,
    WebhookEndpoint,
    WebhookEndpointCreateParams,
    Wording,
)
from ..types._base import Timestamp
from ..types._validation import describe_validation_error
from ..types.event_type import event_catalog
from ..types.metadata import METADATA_KEY_PATTERN
from ..types.quote import ProductName
from ..types.webhook_endpoint import WebhookEndpointRecoverParams, WebhookRecovery
from .delivery import DeliveryWorker
from .engine import Engine
from .errors import ErrorKind, SandboxError
from .idempotency import Idempotency, JSONText, request_fingerprint

__all__ = [
    "BODY_LIMITS",
    "MAX_BODY_BYTES",
    "SANDBOX_BASE_URL",
    "STATUS_BY_KIND",
    "create_app",
    "error_answer",
    "error_status",
    "key_problem",
]

SANDBOX_BASE_URL = "http://sandbox.yangguang.invalid"
"""The base URL in-process clients use; it never resolves, nothing goes on the network."""

STATUS_BY_KIND: dict[ErrorKind, int] = {"not_found": 404, "conflict": 409, "invalid": 422}
"""The HTTP status of each kind of engine error."""
MAX_BODY_BYTES = 1024 * 1024
"""The largest request body the API reads (1 MiB); a larger one is answered 413."""
BODY_LIMITS: Mapping[tuple[str, str], int] = {("POST", "/v1/quote_batches"): 16 * 1024 * 1024}
"""(method, path) → the largest body that route reads, where it is not ``MAX_BODY_BYTES``."""
_TYPE_BY_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    409: "conflict_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}
_ID_PATTERN = r"^[a-z]{3}_[A-Za-z0-9]{1,60}$"
_TEST_KEY = re.compile(r"yg_test_[A-Za-z0-9_]{4,200}")


class ErrorObject(BaseModel):
    type: str
    code: str
    message: str
    param: str | None = None
    request_id: str | None = None


class ErrorBody(BaseModel):
    error: ErrorObject


class ListBody(BaseModel):
    object: Literal["list"] = "list"
    data: list[dict[str, Any]]
    has_more: bool
    next_cursor: str | None = None


class ClockAdvanceParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    days: Annotated[int, Field(strict=True, ge=0, le=3660)] = 0
    hours: Annotated[int, Field(strict=True, ge=0, le=87_840)] = 0
    minutes: Annotated[int, Field(strict=True, ge=0, le=5_270_400)] = 0


_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": desc}
    for status, desc in [
        (400, "Malformed request"),
        (401, "Missing or refused API key"),
        (404, "No such object for this key"),
        (409, "State conflict"),
        (422, "Validation failed; param names the field"),
    ]
}


def _doc(model: type[BaseModel], tag: str) -> dict[str, Any]:
    """The OpenAPI description every route shares: its 200 model, the error answers, its tag."""
    return {"response_model": None, "responses": {200: {"model": model}, **_ERRORS}, "tags": [tag]}


def _error_object(status: int, code: str, message: str, param: str | None) -> dict[str, Any]:
    return {
        "type": _TYPE_BY_STATUS.get(status, "api_error"),
        "code": code,
        "message": message,
        "param": param,
    }


class _EncodedJSONResponse(JSONResponse):
    """A ``JSONResponse`` of a body already encoded (``JSONText``), sent as it is."""

    def render(self, content: Any) -> bytes:
        return content.text.encode() if isinstance(content, JSONText) else super().render(content)


def _answer(body: dict[str, Any] | JSONText, status: int = 200) -> JSONResponse:
    """The HTTP answer of ``body``: a JSON text as it is (a quote batch's, encoded once by
    pydantic-core for both the answer and the idempotency store), objects as ``JSONResponse``."""
    if isinstance(body, JSONText):
        return _EncodedJSONResponse(body, status_code=status)
    return JSONResponse(body, status_code=status)


def _error(status: int, code: str, message: str, param: str | None, request_id: str) -> JSONResponse:
    body = {"error": {**_error_object(status, code, message, param), "request_id": request_id}}
    return JSONResponse(body, status_code=status)


def error_status(exc: SandboxError) -> int:
    """The HTTP status the API answers an engine error with."""
    return STATUS_BY_KIND[exc.kind]


def error_answer(exc: SandboxError) -> tuple[int, dict[str, Any]]:
    """The status and body the API answers an engine error with, before the request id is added
    (what an idempotent replay of that error answers)."""
    status = error_status(exc)
    return status, {"error": _error_object(status, exc.code, exc.message, exc.param)}


class _HTTPError(Exception):
    """An error of the HTTP layer itself (authentication, a request the app refuses)."""

    def __init__(self, status: int, code: str, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.param = status, code, message, param


def _unauthorized(message: str) -> _HTTPError:
    return _HTTPError(401, "invalid_api_key", message)


def key_problem(key: str) -> str | None:
    """Why the sandbox refuses ``key`` (a message that never quotes it), or None: the tenant is the
    key itself, any well-formed yg_test_ key; live keys are refused. The API and the dashboard
    (``sandbox/dashboard``) both ask this one rule."""
    if key.startswith("yg_live_"):
        return "The sandbox accepts only test keys (yg_test_...), never live ones."
    if not _TEST_KEY.fullmatch(key):
        return (
            "Malformed API key: sandbox keys are yg_test_ followed by 4-200 ASCII letters, digits or "
            "underscores (the SDK's rule for a key)."
        )
    return None


async def _tenant(authorization: Annotated[str | None, Header()] = None) -> str:
    """The tenant is the API key (``key_problem`` says which keys are taken)."""
    if not authorization or not authorization.startswith("Bearer "):
        raise _unauthorized("Send your key as 'Authorization: Bearer yg_test_...'.")
    key = authorization[len("Bearer ") :].strip()
    problem = key_problem(key)
    if problem is not None:
        raise _unauthorized(problem)
    return key


def _object_id(prefix: str) -> Any:
    return Path(pattern=_ID_PATTERN, max_length=64, description=f"An id starting with {prefix}")


async def _fingerprint(request: Request) -> str:
    return request_fingerprint(request.method, request.url.path, await request.body())


Tenant = Annotated[str, Depends(_tenant)]
Fingerprint = Annotated[str, Depends(_fingerprint)]
_KEY_HEADER_MAX = len(ENCODED_KEY_MARKER) + IDEMPOTENCY_KEY_MAX_CHARS * 4 * 3
"""The longest header form of a 255-character key: every character 4 UTF-8 bytes, each %XX."""


async def _idempotency_key(
    value: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=_KEY_HEADER_MAX,
            description=(
                "The key: 1-255 printable characters in any script. Sent as it is when it is "
                "printable ASCII with no space at either end and does not begin with "
                f"{ENCODED_KEY_MARKER}; else as {ENCODED_KEY_MARKER} and the key's UTF-8 bytes "
                f"percent-encoded (订单-1: {ENCODED_KEY_MARKER}%E8%AE%A2%E5%8D%95-1)."
            ),
        ),
    ] = None,
) -> str | None:
    """The idempotency key a request carries, decoded from its header form (``_request.py``)."""
    if value is None:
        return None
    try:
        return idempotency_key_from_header(value)
    except ValueError as exc:
        raise _HTTPError(422, "invalid_parameter", f"Idempotency-Key: {exc}", "Idempotency-Key") from None


IdemKey = Annotated[str | None, Depends(_idempotency_key)]
Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=64)]
QuoteId = Annotated[str, _object_id("quo_")]
PolicyId = Annotated[str, _object_id("pol_")]
ClaimId = Annotated[str, _object_id("clm_")]
EventId = Annotated[str, _object_id("evt_")]
EndpointId = Annotated[str, _object_id("whe_")]


class _RequestIds:
    """Pure ASGI middleware: a ``request-id`` and the ``yangguang-version`` on every response.

    (Starlette's ``BaseHTTPMiddleware`` would cost about a millisecond per request.)
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = "req_" + secrets.token_hex(12)
        scope.setdefault("state", {})["request_id"] = request_id
        extra = [(b"request-id", request_id.encode()), (b"yangguang-version", API_VERSION.encode())]

        async def send_with_ids(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_ids)


_METADATA_FILTER_DOC: dict[str, Any] = {
    "parameters": [
        {
            "name": "metadata",
            "in": "query",
            "required": False,
            "style": "deepObject",
            "explode": True,
            "description": "metadata[KEY]=VALUE, repeatable: only objects whose metadata has every "
            "pair given.",
            "schema": {
                "type": "object",
                "maxProperties": 50,
                "propertyNames": {"pattern": METADATA_KEY_PATTERN},
                "additionalProperties": {"type": "string", "maxLength": 500},
            },
        }
    ]
}
"""The ``metadata[KEY]=VALUE`` filter of the lists, in OpenAPI (FastAPI cannot declare it)."""


def _metadata_filter(request: Request) -> dict[str, str] | None:
    """The ``metadata[KEY]=VALUE`` pairs of a list's query (the engine checks keys and values)."""
    found: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if not name.startswith("metadata"):
            continue
        if not (name.startswith("metadata[") and name.endswith("]")):
            raise _HTTPError(
                422, "invalid_parameter", "filter by metadata as metadata[KEY]=VALUE", "metadata"
            )
        key = name[len("metadata[") : -1]
        if found.get(key, value) != value:
            raise _HTTPError(
                422,
                "invalid_parameter",
                "given twice with different values; no object can match both",
                f"metadata.{key}",
            )
        found[key] = value
    return found or None


MetadataFilter = Annotated[dict[str, str] | None, Depends(_metadata_filter)]


def _mebibytes(limit: int) -> str:
    return f"{limit / (1024 * 1024):g} MiB" if limit % (1024 * 1024) == 0 else f"{limit} bytes"


class _BodyLimit:
    """Pure ASGI middleware: a request body over its route's limit is answered 413
    ``request_too_large`` and never read further.

    A ``Content-Length`` over the limit is refused before a byte of the body is read. A body
    without one (chunked) is read here, counting, and refused as soon as the count passes the limit;
    one within it is handed on to the app as read. So the sandbox never holds more than the limit
    of any request body, whatever the client sends.
    """

    def __init__(
        self, app: Any, default: int = MAX_BODY_BYTES, limits: Mapping[tuple[str, str], int] = BODY_LIMITS
    ) -> None:
        self.app = app
        self.default = default
        self.limits = limits

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.get((scope["method"], scope["path"]), self.default)
        length = _content_length(scope)
        if length is not None:
            if length > limit:
                await self._refuse(scope, send, limit)
            else:  # the server reads no more than Content-Length: nothing to count
                await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: let the app see it
                replay: list[dict[str, Any]] = [message]
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._refuse(scope, send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                replay = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]
                break

        async def receive_read() -> Any:
            return replay.pop(0) if replay else await receive()

        await self.app(scope, receive_read, send)

    @staticmethod
    async def _refuse(scope: dict[str, Any], send: Any, limit: int) -> None:
        request_id = scope.get("state", {}).get("request_id") or "req_" + secrets.token_hex(12)
        message = (
            f"The request body is larger than this route's limit of {_mebibytes(limit)} "
            f"({limit} bytes): send less per request."
        )
        body = {"error": {**_error_object(413, "request_too_large", message, None), "request_id": request_id}}
        payload = json.dumps(body).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
            (b"connection", b"close"),  # the rest of the body is never read: the connection is done
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


def _content_length(scope: dict[str, Any]) -> int | None:
    """The request's Content-Length, or None when it has none (or none that is a number)."""
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def create_app(engine: Engine, delivery: DeliveryWorker | None = None) -> FastAPI:
    """The HTTP app serving ``engine``; ``delivery`` serves the webhook endpoints (by default a
    ``DeliveryWorker`` over real HTTP is attached to the engine)."""
    webhooks = delivery if delivery is not None else DeliveryWorker(engine)
    keys = Idempotency(engine, error_answer)
    app = FastAPI(
        title="Yangguang credit insurance API (sandbox)",
        version=API_VERSION,
        description="Quote, bind, cancel and settle credit insurance; servicing, claims and events.",
        docs_url=None,
        redoc_url=None,
    )

    app.add_middleware(_BodyLimit)
    app.add_middleware(_RequestIds)  # outermost: a 413 carries the request id too

    @app.exception_handler(SandboxError)
    async def sandbox_error(request: Request, exc: SandboxError) -> JSONResponse:
        return _error(error_status(exc), exc.code, exc.message, exc.param, request.state.request_id)

    @app.exception_handler(_HTTPError)
    async def http_layer_error(request: Request, exc: _HTTPError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message, exc.param, request.state.request_id)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"type": "invalid", "loc": (), "msg": "invalid request"}
        kind = first.get("type", "")
        if kind == "json_invalid":
            return _error(400, "invalid_json", "The body is not valid JSON.", None, request.state.request_id)
        if kind in ("model_attributes_type", "missing", "dict_type") and tuple(first.get("loc", ())) == (
            "body",
        ):
            return _error(
                400, "invalid_body", "The body must be a JSON object.", None, request.state.request_id
            )
        # The API names the missing field of a misspelt pair (the SDK names the typo before sending).
        problem = describe_validation_error(exc.errors(), typo_first=False, skip=1)
        return _error(422, "invalid_parameter", str(problem), problem.param, request.state.request_id)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "unknown_route", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        message = str(exc.detail)
        if code == "unknown_route":
            message = (
                f"No route {request.method} {request.url.path[:200]}: this API's paths are /v1/quotes, "
                "/v1/policies, ... at its root. Is the client's base_url the root, such as "
                "http://127.0.0.1:8765 (without /v1)?"
            )
        return _error(exc.status_code, code, message, None, request.state.request_id)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Starlette answers this one outside every middleware, so the ids are set here too.
        request_id = getattr(request.state, "request_id", None) or "req_" + secrets.token_hex(12)
        response = _error(500, "internal_error", "The sandbox failed unexpectedly.", None, request_id)
        response.headers["request-id"] = request_id
        response.headers["yangguang-version"] = API_VERSION
        return response

    def idempotent(
        tenant: str,
        key: str | None,
        fingerprint: str,
        op: Callable[[], dict[str, Any] | JSONText],
        *,
        atomic: bool = True,
    ) -> JSONResponse:
        if key is None:
            return _answer(op())

        def run() -> tuple[int, dict[str, Any] | JSONText]:
            return 200, op()

        status, body, replayed = keys.run(tenant, key, fingerprint, run, atomic=atomic)
        response = _answer(body, status)
        if replayed:
            response.headers["idempotent-replayed"] = "true"
        return response

    # -- quotes ----------------------------------------------------------------------------
    @app.post("/v1/quotes", **_doc(Quote, "quotes"))
    def create_quote(
        params: QuoteCreateParams, tenant: Tenant, fingerprint: Fingerprint, key: IdemKey = None
    ) -> JSONResponse:
        """Underwrite and price; the decision is approved, declined or referred."""
        return idempotent(tenant, key, fingerprint, lambda: engine.create_quote(tenant, params))

    @app.post("/v1/quote_batches", **_doc(QuoteBatch, "quotes"))
    def create_quote_batch(
        params: QuoteBatchCreateParams, tenant: Tenant, fingerprint: Fingerprint, key: IdemKey = None
    ) -> JSONResponse:
        """Up to 1,000 quotes in one call and one transaction: one result per item, in order, a
        quote or the error POST /v1/quotes would answer for that item (with its ``index``).
        Idempotent as a whole with an Idempotency-Key."""
        return idempotent(
            tenant,
            key,
            fingerprint,
            # The answer is about 5 kB per quote: encoded once, in Rust, for the store and the reply.
            lambda: JSONText(pydantic_core.to_json(quote_batch(tenant, params.items)).decode()),
        )

    def quote_batch(tenant: str, items: list[Any]) -> dict[str, Any]:
        checked: list[QuoteCreateParams | dict[str, Any]] = []
        for raw in items:
            try:
                checked.append(QuoteCreateParams.model_validate(raw))
            except ValidationError as exc:
                problem = describe_validation_error(exc, typo_first=False)
                checked.append(_error_object(422, "invalid_parameter", str(problem), problem.param))
        quoted = iter(engine.create_quotes(tenant, [p for p in checked if isinstance(p, QuoteCreateParams)]))
        data: list[dict[str, Any]] = []
        for index, item in enumerate(checked):
            result = next(quoted) if isinstance(item, QuoteCreateParams) else item
            if isinstance(result, SandboxError):
                result = error_answer(result)[1]["error"]
            data.append(
                result if result.get("object") == "quote" else {"object": "error", "index": index, **result}
            )
        return {"object": "quote_batch", "data": data}

    @app.get("/v1/quotes", **_doc(ListBody, "quotes"), openapi_extra=_METADATA_FILTER_DOC)
    def list_quotes(
        tenant: Tenant,
        metadata: MetadataFilter,
        merchant_order_id: Annotated[str | None, Query(max_length=64)] = None,
        decision: Literal["approved", "declined", "referred"] | None = None,
        product: ProductName | None = None,
        created_gte: Timestamp | None = None,
        created_lt: Timestamp | None = None,
        limit: Limit = 20,
        starting_after: Cursor = None,
    ) -> JSONResponse:
        """Quotes, oldest first; filters: order id, decision, product, created, metadata."""
        return JSONResponse(
            engine.list_quotes(
                tenant,
                merchant_order_id=merchant_order_id,
                decision=decision,
                product=product,
                created_gte=created_gte,
                created_lt=created_lt,
                metadata=metadata,
                limit=limit,
                starting_after=starting_after,
            )
        )

    @app.get("/v1/quotes/{quote_id}", **_doc(Quote, "quotes"))
    def get_quote(tenant: Tenant, quote_id: QuoteId) -> JSONResponse:
        return JSONResponse(engine.get_quote(tenant, quote_id))

    # -- policies --------------------------------------------------------------------------
    @app.post("/v1/policies", **_doc(Policy, "policies"))
    def bind_policy(
        params: PolicyBindParams, tenant: Tenant, fingerprint: Fingerprint, key: IdemKey = None
    ) -> JSONResponse:
        """Bind an approved quote (with the borrower's consent for an individual, else 422
        consent_required); 409 quote_expired, quote_not_bindable or quote_already_bound."""
        return idempotent(
            tenant, key, fingerprint, lambda: engine.bind_policy(tenant, params.quote_id, params.consent)
        )

    @app.get("/v1/policies", **_doc(ListBody, "policies"), openapi_extra=_METADATA_FILTER_DOC)
    def list_policies(
        tenant: Tenant,
        metadata: MetadataFilter,
        status: Literal["active", "cancelled", "completed", "claimed"] | None = None,
        merchant_order_id: Annotated[str | None, Query(max_length=64)] = None,
        product: ProductName | None = None,
        created_gte: Timestamp | None = None,
        created_lt: Timestamp | None = None,
        limit: Limit = 20,
        starting_after: Cursor = None,
    ) -> JSONResponse:
        """Policies, oldest first; filters: status, order id, product, created, metadata."""
        return JSONResponse(
            engine.list_policies(
                tenant,
                status=status,
                merchant_order_id=merchant_order_id,
                product=product,
                created_gte=created_gte,
                created_lt=created_lt,
                metadata=metadata,
                limit=limit,
                starting_after=starting_after,
            )
        )

    @app.get("/v1/policies/{policy_id}", **_doc(Policy, "policies"))
    def get_policy(tenant: Tenant, policy_id: PolicyId) -> JSONResponse:
        return JSONResponse(engine.get_policy(tenant, policy_id))

    @app.post("/v1/policies/{policy_id}", **_doc(Policy, "policies"))
    def update_policy(
        tenant: Tenant,
        policy_id: PolicyId,
        params: PolicyUpdateParams,
        fingerprint: Fingerprint,
        key: IdemKey = None,
    ) -> JSONResponse:
        """Merge metadata keys into the policy's; a key set to "" or null is removed."""
        return idempotent(
            tenant,
            key,
            fingerprint,
            lambda: engine.update_policy(tenant, policy_id, params),
        )

    @app.post("/v1/policies/{policy_id}/cancel", **_doc(Policy, "policies"))
    def cancel_policy(
        tenant: Tenant,
        policy_id: PolicyId,
        params: PolicyCancelParams,
        fingerprint: Fingerprint,
        key: IdemKey = None,
    ) -> JSONResponse:
        """Cancel (or preview the refund of) a policy: a full refund inside cooling-off."""
        return idempotent(
            tenant,
            key,
            fingerprint,
            lambda: engine.cancel_policy(tenant, policy_id, reason=params.reason, preview=params.preview),
        )

    @app.post("/v1/policies/{policy_id}/endorsements", **_doc(Endorsement, "policies"))
    def endorse_policy(
        tenant: Tenant,
        policy_id: PolicyId,
        params: EndorsementCreateParams,
        fingerprint: Fingerprint,
        key: IdemKey = None,
    ) -> JSONResponse:
        """Lower the loan after a partial return (批改): the remaining installments are re-amortised
        and the unearned premium of the returned share refunded; 409 policy_not_endorsable."""
        return idempotent(tenant, key, fingerprint, lambda: engine.endorse_policy(tenant, policy_id, params))

    @app.post("/v1/policies/{policy_id}/settle", **_doc(Policy, "policies"))
    def settle_policy(
        tenant: Tenant,
        policy_id: PolicyId,
        params: PolicySettleParams,
        fingerprint: Fingerprint,
        key: IdemKey = None,
    ) -> JSONResponse:
        """Early full repayment (提前结清): refund of the unearned premium, status completed."""
        return idempotent(
            tenant,
            key,
            fingerprint,
            lambda: engine.settle_policy(
                tenant, policy_id, settled_on=params.settled_on, preview=params.preview
            ),
        )

    # -- repayments ------------------------------------------------------------------------
    @app.post("/v1/repayments", **_doc(Repayment, "repayments"))
    def create_repayment(
        params: RepaymentCreateParams, tenant: Tenant, fingerprint: Fingerprint, key: IdemKey = None
    ) -> JSONResponse:
        """Report an installment paid; a late one cures it."""
        return idempotent(tenant, key, fingerprint, lambda: engine.create_repayment(tenant, params))

    @app.get("/v1/repayments", **_doc(ListBody, "repayments"))
    def list_repayments(
        tenant: Tenant,
        policy_id: Annotated[str | None, Query(max_length=64)] = None,
        limit: Limit = 20,
        starting_after: Cursor = None,
    ) -> JSONResponse:
        return JSONResponse(
            engine.list_repayments(tenant, policy_id=policy_id, limit=limit, starting_after=starting_after)
        )

    # -- claims ----------------------------------------------------------------------------
    @app.get("/v1/claims", **_doc(ListBody, "claims"), openapi_extra=_METADATA_FILTER_DOC)
    def list_claims(
        tenant: Tenant,
        metadata: MetadataFilter,
        policy_id: Annotated[str | None, Query(max_length=64)] = None,
        status: Literal["open", "approved", "paid", "rejected"] | None = None,
        merchant_order_id: Annotated[str | None, Query(max_length=64)] = None,
        product: ProductName | None = None,
        created_gte: Timestamp | None = None,
        created_lt: Timestamp | None = None,
        limit: Limit = 20,
        starting_after: Cursor = None,
    ) -> JSONResponse:
        """Claims, oldest first; filters: policy, status, order id, product, opened (created), metadata."""
        return JSONResponse(
            engine.list_claims(
                tenant,
                policy_id=policy_id,
                status=status,
                merchant_order_id=merchant_order_id,
                product=product,
                created_gte=created_gte,
                created_lt=created_lt,
                metadata=metadata,
                limit=limit,
                starting_after=starting_after,
            )
        )

    @app.get("/v1/claims/{claim_id}", **_doc(Claim, "claims"))
    def get_claim(tenant: Tenant, claim_id: ClaimId) -> JSONResponse:
        return JSONResponse(engine.get_claim(tenant, claim_id))

    # -- events ----------------------------------------------------------------------------
    @app.get("/v1/events", **_doc(ListBody, "events"))
    def list_events(
        tenant: Tenant,
        type: Annotated[str | None, Query(max_length=64)] = None,
        created_gte: Timestamp | None = None,
        limit: Limit = 20,
        starting_after: Cursor = None,
    ) -> JSONResponse:
        return JSONResponse(
            engine.list_events(
                tenant,
                type=type,
                created_gte=created_gte,
                limit=limit,
                starting_after=starting_after,
            )
        )

    @app.get(
        "/v1/events/{event_id}",
        response_model=None,
        responses={200: {"description": "An event"}, **_ERRORS},
        tags=["events"],
    )
    async def get_event(tenant: Tenant, event_id: EventId) -> JSONResponse:
        return JSONResponse(engine.get_event(tenant, event_id))

    @app.post(
        "/v1/events/{event_id}/redeliver",
        response_model=None,
        responses={200: {"description": "The event, scheduled for delivery again"}, **_ERRORS},
        tags=["events"],
    )
    async def redeliver_event(
        tenant: Tenant, event_id: EventId, fingerprint: Fingerprint, key: IdemKey = None
    ) -> JSONResponse:
        """Send an event again, same id, to every enabled endpoint subscribed to its type."""
        return idempotent(tenant, key, fingerprint, lambda: webhooks.redeliver(tenant, event_id))

    # -- webhook endpoints -----------------------------------------------------------------
    @app.post("/v1/webhook_endpoints", **_doc(WebhookEndpoint, "webhook_endpoints"))
    def create_webhook_endpoint(
        params: WebhookEndpointCreateParams, tenant: Tenant, fingerprint: Fingerprint, key: IdemKey = None
    ) -> JSONResponse:
        """Register a URL for events (all when ``events`` is empty); ``secret`` is shown only now."""
        return idempotent(tenant, key, fingerprint, lambda: webhooks.create_endpoint(tenant, params))

    @app.get("/v1/webhook_endpoints", **_doc(ListBody, "webhook_endpoints"))
    def list_webhook_endpoints(
        tenant: Tenant, limit: Limit = 20, starting_after: Cursor = None
    ) -> JSONResponse:
        return JSONResponse(webhooks.list_endpoints(tenant, limit=limit, starting_after=starting_after))

    @app.get("/v1/webhook_endpoints/{endpoint_id}", **_doc(WebhookEndpoint, "webhook_endpoints"))
    def get_webhook_endpoint(tenant: Tenant, endpoint_id: EndpointId) -> JSONResponse:
        return JSONResponse(webhooks.get_endpoint(tenant, endpoint_id))

    @app.delete("/v1/webhook_endpoints/{endpoint_id}", **_doc(WebhookEndpoint, "webhook_endpoints"))
    def delete_webhook_endpoint(tenant: Tenant, endpoint_id: EndpointId) -> JSONResponse:
        """Remove an endpoint (``deleted: true``); its pending retries are dropped."""
        return JSONResponse(webhooks.delete_endpoint(tenant, endpoint_id))

    @app.post(
        "/v1/webhook_endpoints/{endpoint_id}/rotate_secret", **_doc(WebhookEndpoint, "webhook_endpoints")
    )
    async def rotate_webhook_secret(
        tenant: Tenant, endpoint_id: EndpointId, fingerprint: Fingerprint, key: IdemKey = None
    ) -> JSONResponse:
        """A new secret, shown only now; the old one keeps signing beside it for 24 clock-hours."""
        return idempotent(tenant, key, fingerprint, lambda: webhooks.rotate_secret(tenant, endpoint_id))

    @app.get("/v1/webhook_endpoints/{endpoint_id}/attempts", **_doc(ListBody, "webhook_endpoints"))
    def list_delivery_attempts(
        tenant: Tenant,
        endpoint_id: EndpointId,
        event_id: Annotated[str | None, Query(max_length=64)] = None,
        limit: Limit = 20,
        starting_after: Cursor = None,
    ) -> JSONResponse:
        """Every delivery attempt to the endpoint, oldest first: time, status code or error."""
        return JSONResponse(
            webhooks.list_attempts(
                tenant, endpoint_id, event_id=event_id, limit=limit, starting_after=starting_after
            )
        )

    @app.post("/v1/webhook_endpoints/{endpoint_id}/enable", **_doc(WebhookEndpoint, "webhook_endpoints"))
    async def enable_webhook_endpoint(
        tenant: Tenant, endpoint_id: EndpointId, fingerprint: Fingerprint, key: IdemKey = None
    ) -> JSONResponse:
        """Enable a disabled endpoint again (``webhook_endpoint.enabled``); missed events are not
        resent: ``recover`` does that."""
        return idempotent(tenant, key, fingerprint, lambda: webhooks.enable(tenant, endpoint_id))

    @app.post("/v1/webhook_endpoints/{endpoint_id}/recover", **_doc(WebhookRecovery, "webhook_endpoints"))
    async def recover_webhook_endpoint(
        params: WebhookEndpointRecoverParams,
        tenant: Tenant,
        endpoint_id: EndpointId,
        fingerprint: Fingerprint,
        key: IdemKey = None,
    ) -> JSONResponse:
        """Send again every event from ``since`` to ``until`` (now if null) that the endpoint
        subscribes to and that has no successful attempt to it; ``recovered`` says how many."""
        return idempotent(tenant, key, fingerprint, lambda: webhooks.recover(tenant, endpoint_id, params))

    @app.post(
        "/v1/webhook_endpoints/{endpoint_id}/send_test",
        response_model=None,
        responses={200: {"description": "The webhook_endpoint.test event, being delivered"}, **_ERRORS},
        tags=["webhook_endpoints"],
    )
    async def send_test_webhook(
        tenant: Tenant, endpoint_id: EndpointId, fingerprint: Fingerprint, key: IdemKey = None
    ) -> JSONResponse:
        """Deliver a ``webhook_endpoint.test`` event to this endpoint now (to it only)."""
        return idempotent(tenant, key, fingerprint, lambda: webhooks.send_test(tenant, endpoint_id))

    # -- the event catalog -----------------------------------------------------------------
    @app.get("/v1/event_types", **_doc(ListBody, "event_types"))
    def list_event_types(tenant: Tenant) -> JSONResponse:
        """Every event type: its description and the JSON Schema of its ``data``."""
        return JSONResponse(
            {"object": "list", "data": list(event_catalog()), "has_more": False, "next_cursor": None}
        )

    # -- test clock ------------------------------------------------------------------------
    @app.get("/v1/test_clock", **_doc(TestClock, "test_clock"))
    def get_clock(tenant: Tenant) -> JSONResponse:
        return JSONResponse(engine.clock(tenant))

    @app.post("/v1/test_clock/advance", **_doc(TestClock, "test_clock"))
    def advance_clock(
        params: ClockAdvanceParams, tenant: Tenant, fingerprint: Fingerprint, key: IdemKey = None
    ) -> JSONResponse:
        """Move the sandbox clock forward; every due transition runs in time order."""
        delta = dt.timedelta(days=params.days, hours=params.hours, minutes=params.minutes)
        if not delta:
            raise _HTTPError(
                422, "invalid_parameter", "Give days, hours or minutes greater than zero.", "days"
            )
        return idempotent(tenant, key, fingerprint, lambda: engine.advance(tenant, delta), atomic=False)

    # -- wordings (DESIGN §7.3) ------------------------------------------------------------------
    @app.get("/v1/wordings/{version}", **_doc(Wording, "wordings"))
    def get_wording(
        tenant: Tenant,
        version: Annotated[
            str, Path(pattern=r"^\d{4}-\d{2}-\d{2}$", description="A wording version (a date)")
        ],
    ) -> JSONResponse:
        """A policy wording's text and its SHA-256 (equal to a quote's disclosure.wording_sha256)."""
        return JSONResponse(engine.get_wording(tenant, version))

    # -- exposure checks (DESIGN §7.5) ------------------------------------------------------
    @app.post("/v1/exposure_checks", **_doc(ExposureCheck, "exposure"))
    async def check_exposure(
        params: ExposureCheckParams, tenant: Tenant, fingerprint: Fingerprint, key: IdemKey = None
    ) -> JSONResponse:
        """How much more a borrower may be insured for: the limit, what active policies use, what is left."""
        return idempotent(tenant, key, fingerprint, lambda: engine.check_exposure(tenant, params))

    # -- settlement (DESIGN §7.6) ---------------------------------------------------------------
    @app.get("/v1/balance_transactions", **_doc(ListBody, "settlement"))
    def list_balance_transactions(
        tenant: Tenant,
        type: Literal["premium", "premium_refund", "claim_payment"] | None = None,
        policy_id: Annotated[str | None, Query(max_length=64)] = None,
        created_gte: Timestamp | None = None,
        created_lt: Timestamp | None = None,
        limit: Limit = 20,
        starting_after: Cursor = None,
    ) -> JSONResponse:
        """Every movement of money between you and the insurer, in the order the operations ran:
        premiums (+), premium refunds and claims paid to you (−)."""
        return JSONResponse(
            engine.list_balance_transactions(
                tenant,
                type=type,
                policy_id=policy_id,
                created_gte=created_gte,
                created_lt=created_lt,
                limit=limit,
                starting_after=starting_after,
            )
        )

    @app.get("/v1/statements/{month}", **_doc(Statement, "settlement"))
    def get_statement(
        tenant: Tenant,
        month: Annotated[str, Path(max_length=16, description='A UTC calendar month "YYYY-MM"')],
    ) -> JSONResponse:
        """A month's statement: its balance transactions and totals; open until the month is over
        on your clock, then final and unchanging."""
        return JSONResponse(engine.get_statement(tenant, month))

    # -- the web dashboard (DESIGN §7.9): the same engine calls, for a browser ------------------
    from .dashboard import dashboard_router

    app.include_router(dashboard_router(engine, webhooks))

    app.state.engine = engine
    app.state.delivery = webhooks
    return app


def openapi_json(app: FastAPI) -> str:
    """The app's OpenAPI document as committed in docs/openapi.json (stable key order)."""
    return json.dumps(app.openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
