"""``client.quotes``: underwrite and price a purchase or loan."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from typing_extensions import Unpack

from .._request import APIRequest
from ..errors import ParameterError, describe_problems
from ..types._base import attach_response
from ..types.product_rules import quote_rule_violation
from ..types.quote import Decision, ProductName, Quote, QuoteCreateParams
from ..types.quote_batch import QUOTE_BATCH_MAX_ITEMS, QuoteBatch, QuoteBatchCreateParams, QuoteBatchError
from ..types.quote_params import (
    BeneficiaryParam,
    BorrowerParam,
    ContractParam,
    GuarantorParam,
    LoanParam,
    VehicleParam,
)
from ._resource import (
    AsyncAPIResource,
    RequestOptions,
    SyncAPIResource,
    async_list,
    async_method,
    aware,
    metadata_params,
    options,
    page_limit,
    path_id,
    sync_list,
    sync_method,
    validate_params,
)

__all__ = ["Quotes", "AsyncQuotes"]

R = TypeVar("R")


def create(
    *,
    product: ProductName,
    merchant_order_id: str,
    borrower: BorrowerParam | Mapping[str, object],
    loan: LoanParam | Mapping[str, object],
    beneficiary: BeneficiaryParam | Mapping[str, object] | None = None,
    vehicle: VehicleParam | Mapping[str, object] | None = None,
    guarantor: GuarantorParam | Mapping[str, object] | None = None,
    contract: ContractParam | Mapping[str, object] | None = None,
    metadata: Mapping[str, str] | None = None,
    **opts: Unpack[RequestOptions],
) -> APIRequest[Quote]:
    """Underwrite and price one installment purchase or loan.

    ``merchant_order_id`` is your order or loan id, 1-64 characters of any script (``"订单-1"``),
    with no whitespace and no control or invisible characters.

    ``borrower`` is ``{"type": "individual", "name", "id_number", "phone", "credit_score"}`` or
    ``{"type": "enterprise", "name", "uscc", "credit_score"}`` (``types.BorrowerParam``);
    ``loan`` is ``{"principal": Money, "term_months", "annual_rate": "0.12", "first_due_date":
    "2026-12-25", "repayment_method"?}`` (``types.LoanParam``). Any mapping is taken too, for dicts
    built step by step.

    ``beneficiary`` is who the insurer pays on a claim (代偿): ``{"type": "bank", "name", "uscc"}``
    (or ``consumer_finance_company``, ``microloan_company``, ``trust_company``), required by the
    products for licensed lenders (platform_loan, sme_loan, enterprise_loan, guaranteed_loan);
    ``{"type": "enterprise", ...}``, the creditor, for contract_performance; ``{"type":
    "merchant"}`` (yourself), the default of consumer_installment and auto_installment.
    ``vehicle={"vin": ...}`` (auto_installment), ``guarantor={"name", "uscc"}`` (guaranteed_loan)
    and ``contract={"number"}`` (contract_performance) are required by their products only.

    ``metadata`` is your own key-value pairs (at most 50 keys of 1-40 characters of
    ``A-Z a-z 0-9 _ . -``, string values of at most 500 characters), copied to the policy at bind
    and to a claim when it opens; a bad one is a ``ParameterError`` naming the key.

    Identity numbers, VINs, money and dates are checked here, before anything is sent, and so are
    the product's rules (``types.products``): the borrower type, the repayment method offered, the
    objects required, the beneficiary.
    """
    given = {
        "beneficiary": beneficiary,
        "vehicle": vehicle,
        "guarantor": guarantor,
        "contract": contract,
        "metadata": metadata,
    }
    body = quote_params(
        {
            "product": product,
            "merchant_order_id": merchant_order_id,
            "borrower": borrower,
            "loan": loan,
            **{name: value for name, value in given.items() if value is not None},
        },
    )
    return APIRequest("POST", "/v1/quotes", Quote, body=body, **options(opts))


def quote_params(data: Mapping[str, Any]) -> QuoteCreateParams:
    """The body of one quote, checked as ``create`` checks it: the model, then the product's rules
    (a ``ParameterError`` naming the field)."""
    body = validate_params(QuoteCreateParams, data)
    violation = quote_rule_violation(body)
    if violation is not None:
        raise ParameterError(violation.message, param=violation.param, code=violation.code)
    return body


@dataclass
class BatchPlan:
    """A batch checked before sending: the request for its valid items (None when there are none)
    and the errors of the others, by their index in the list given."""

    request: APIRequest[QuoteBatch] | None
    sent: list[int]
    """The indexes of the items sent, in order."""
    refused: dict[int, QuoteBatchError]

    def merge(self, answer: QuoteBatch | None) -> QuoteBatch:
        """One result per item given, in order: the insurer's answer for the items sent (their
        error indexes made indexes of the list given) and the SDK's errors for the others."""
        if answer is not None and not self.refused:
            return answer
        merged = QuoteBatch(data=self.ordered(None if answer is None else answer.data))
        if answer is not None and answer.last_response is not None:
            attach_response(merged, answer.last_response)
        return merged

    def ordered(self, answered: Sequence[R] | None) -> list[R | QuoteBatchError]:
        """``merge`` for results of any type: ``answered`` (the insurer's results for the items
        sent, in order; its errors' indexes made indexes of the list given) at the places of the
        items sent, and the SDK's errors at the others. ``yangguang quote-batch`` reads each quote
        as the few fields a CSV line needs (``request_as``) and places them with this."""
        data: list[R | QuoteBatchError | None] = [None] * (len(self.sent) + len(self.refused))
        for index, error in self.refused.items():
            data[index] = error
        if answered is not None:
            for index, result in zip(self.sent, answered, strict=True):
                if isinstance(result, QuoteBatchError) and result.index != index:
                    result = result.model_copy(update={"index": index})
                data[index] = result
        return [result for result in data if result is not None]

    def request_as(self, cast_to: type[R]) -> APIRequest[R] | None:
        """The same call (body, idempotency key, options), its answer read as ``cast_to``: a view
        of a quote batch with fewer fields costs a fraction of the typed ``QuoteBatch``."""
        if self.request is None:
            return None
        return cast("APIRequest[R]", dataclasses.replace(self.request, cast_to=cast_to))


def create_batch(items: Sequence[Mapping[str, Any]], **opts: Unpack[RequestOptions]) -> BatchPlan:
    """Check a batch of up to 1,000 quote bodies (each a dict of ``create``'s arguments) and describe
    the call that quotes the valid ones (see ``Quotes.create_batch``)."""
    if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Sequence):
        raise ParameterError(
            "must be a list of quote bodies (dicts of quotes.create's arguments)", param="items"
        )
    if not 1 <= len(items) <= QUOTE_BATCH_MAX_ITEMS:
        raise ParameterError(
            f"must hold 1 to {QUOTE_BATCH_MAX_ITEMS:,} quote bodies (got {len(items):,}); split a "
            "longer list into several batches",
            param="items",
        )
    call_options = options(opts)
    bodies: list[QuoteCreateParams] = []
    sent: list[int] = []
    refused: dict[int, QuoteBatchError] = {}
    for index, item in enumerate(items):
        try:
            if not isinstance(item, Mapping):
                raise ParameterError("must be a dict of quotes.create's arguments", param=None)
            bodies.append(quote_params(item))
            sent.append(index)
        except ParameterError as exc:
            first, *rest = exc.errors
            refused[index] = QuoteBatchError(
                index=index,
                type="invalid_request_error",
                code=exc.code,
                message=describe_problems([{"param": None, "message": first["message"]}, *rest]),
                param=exc.param,
            )
    request: APIRequest[QuoteBatch] | None = None
    if bodies:
        body = QuoteBatchCreateParams.model_construct(items=bodies)
        request = APIRequest("POST", "/v1/quote_batches", QuoteBatch, body=body, **call_options)
    return BatchPlan(request, sent, refused)


def retrieve(quote_id: str, **opts: Unpack[RequestOptions]) -> APIRequest[Quote]:
    """A quote by id (referred quotes change once decided)."""
    return APIRequest("GET", f"/v1/quotes/{path_id(quote_id, 'quote_id', 'quo_')}", Quote, **options(opts))


def list_(
    *,
    merchant_order_id: str | None = None,
    decision: Decision | None = None,
    product: ProductName | None = None,
    created_gte: dt.datetime | None = None,
    created_lt: dt.datetime | None = None,
    metadata: Mapping[str, str] | None = None,
    limit: int | None = None,
    **opts: Unpack[RequestOptions],
) -> APIRequest[Quote]:
    """Quotes, oldest first, filtered by order id, decision, product, creation time and metadata
    (every pair given); iterate the result to walk every page."""
    query = {
        "merchant_order_id": merchant_order_id,
        "decision": decision,
        "product": product,
        "created_gte": aware(created_gte, "created_gte"),
        "created_lt": aware(created_lt, "created_lt"),
        **metadata_params(metadata),
        "limit": page_limit(limit),
    }
    return APIRequest("GET", "/v1/quotes", Quote, query=query, **options(opts))


_BATCH_DOC = """Quote up to 1,000 loans in one call: one result per item, in order, a ``Quote`` or a
    ``QuoteBatchError`` (partial success is normal, not an exception).

    Each item is a dict of ``create``'s arguments (``product``, ``merchant_order_id``, ``borrower``,
    ``loan``, ...). Each is checked as ``create`` checks it, before anything is sent: an invalid item
    is not sent, and its result is a ``QuoteBatchError`` with the code, ``param`` (the field within
    the item) and message ``create`` would have raised, and its ``index``. The valid items go in one
    ``POST /v1/quote_batches``, priced by the insurer in one transaction; an item it refuses is a
    ``QuoteBatchError`` the same way. No items, more than 1,000, or a list that is not one is a
    ``ParameterError`` naming ``items``; an error of the call as a whole (auth, connection, a 5xx
    after retries) raises as for ``create``.

    The call is idempotent as a whole: ``idempotency_key`` (one is generated by default) makes a
    retry, or a repeat within 24 h, return the same quotes.
    """


class Quotes(SyncAPIResource):
    create = sync_method(create)
    retrieve = sync_method(retrieve)
    list = sync_list(list_)

    def create_batch(self, items: Sequence[Mapping[str, Any]], **opts: Unpack[RequestOptions]) -> QuoteBatch:
        plan = create_batch(items, **opts)
        return plan.merge(None if plan.request is None else self._client.execute(plan.request))

    create_batch.__doc__ = _BATCH_DOC


class AsyncQuotes(AsyncAPIResource):
    create = async_method(create)
    retrieve = async_method(retrieve)
    list = async_list(list_)

    async def create_batch(
        self, items: Sequence[Mapping[str, Any]], **opts: Unpack[RequestOptions]
    ) -> QuoteBatch:
        plan = create_batch(items, **opts)
        answer = None
        if plan.request is not None:
            answer = await self._client.execute(plan.request)
        return plan.merge(answer)

    create_batch.__doc__ = _BATCH_DOC
