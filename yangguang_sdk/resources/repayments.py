"""``client.repayments``: report installments the borrower paid."""

from __future__ import annotations

import datetime as dt

from typing_extensions import Unpack

from .._request import APIRequest
from ..types.money import Money
from ..types.policy import Repayment, RepaymentCreateParams
from ._resource import (
    AsyncAPIResource,
    RequestOptions,
    SyncAPIResource,
    async_list,
    async_method,
    options,
    page_limit,
    path_id,
    sync_list,
    sync_method,
    validate_params,
)

__all__ = ["Repayments", "AsyncRepayments"]


def create(
    *, policy_id: str, installment: int, amount: Money, paid_at: dt.datetime, **opts: Unpack[RequestOptions]
) -> APIRequest[Repayment]:
    """Report installment ``installment`` (1-based) paid; ``amount`` must equal what is due.
    A late repayment cures an overdue installment."""
    path_id(policy_id, "policy_id", "pol_")
    body = validate_params(
        RepaymentCreateParams,
        {"policy_id": policy_id, "installment": installment, "amount": amount, "paid_at": paid_at},
    )
    return APIRequest("POST", "/v1/repayments", Repayment, body=body, **options(opts))


def list_(
    *, policy_id: str | None = None, limit: int | None = None, **opts: Unpack[RequestOptions]
) -> APIRequest[Repayment]:
    """Repayments, oldest first, optionally of one policy."""
    if policy_id is not None:
        path_id(policy_id, "policy_id", "pol_")
    query = {"policy_id": policy_id, "limit": page_limit(limit)}
    return APIRequest("GET", "/v1/repayments", Repayment, query=query, **options(opts))


class Repayments(SyncAPIResource):
    create = sync_method(create)
    list = sync_list(list_)


class AsyncRepayments(AsyncAPIResource):
    create = async_method(create)
    list = async_list(list_)
