"""``client.quotes``: underwrite and price a purchase or loan."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from typing_extensions import Unpack

from .._request import APIRequest
from ..errors import ParameterError
from ..types.product_rules import quote_rule_violation
from ..types.quote import Decision, ProductName, Quote, QuoteCreateParams
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
    body = validate_params(
        QuoteCreateParams,
        {
            "product": product,
            "merchant_order_id": merchant_order_id,
            "borrower": borrower,
            "loan": loan,
            **{name: value for name, value in given.items() if value is not None},
        },
    )
    violation = quote_rule_violation(body)
    if violation is not None:
        raise ParameterError(violation.message, param=violation.param, code=violation.code)
    return APIRequest("POST", "/v1/quotes", Quote, body=body, **options(opts))


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


class Quotes(SyncAPIResource):
    create = sync_method(create)
    retrieve = sync_method(retrieve)
    list = sync_list(list_)


class AsyncQuotes(AsyncAPIResource):
    create = async_method(create)
    retrieve = async_method(retrieve)
    list = async_list(list_)
