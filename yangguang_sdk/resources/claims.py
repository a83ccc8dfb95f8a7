"""``client.claims``: claims open themselves when a borrower defaults (代偿)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from typing_extensions import Unpack

from .._request import APIRequest
from ..types.claim import Claim, ClaimStatus
from ..types.quote import ProductName
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
)

__all__ = ["Claims", "AsyncClaims"]


def retrieve(claim_id: str, **opts: Unpack[RequestOptions]) -> APIRequest[Claim]:
    """A claim by id."""
    return APIRequest("GET", f"/v1/claims/{path_id(claim_id, 'claim_id', 'clm_')}", Claim, **options(opts))


def list_(
    *,
    policy_id: str | None = None,
    status: ClaimStatus | None = None,
    merchant_order_id: str | None = None,
    product: ProductName | None = None,
    created_gte: dt.datetime | None = None,
    created_lt: dt.datetime | None = None,
    metadata: Mapping[str, str] | None = None,
    limit: int | None = None,
    **opts: Unpack[RequestOptions],
) -> APIRequest[Claim]:
    """Claims, oldest first, filtered by policy, status, order id, product, when they opened
    (``created_gte`` / ``created_lt`` on ``opened_at``) and metadata (every pair given)."""
    if policy_id is not None:
        path_id(policy_id, "policy_id", "pol_")
    query = {
        "policy_id": policy_id,
        "status": status,
        "merchant_order_id": merchant_order_id,
        "product": product,
        "created_gte": aware(created_gte, "created_gte"),
        "created_lt": aware(created_lt, "created_lt"),
        **metadata_params(metadata),
        "limit": page_limit(limit),
    }
    return APIRequest("GET", "/v1/claims", Claim, query=query, **options(opts))


class Claims(SyncAPIResource):
    retrieve = sync_method(retrieve)
    list = sync_list(list_)


class AsyncClaims(AsyncAPIResource):
    retrieve = async_method(retrieve)
    list = async_list(list_)
