"""``client.balance_transactions``: every movement of money between the merchant and the insurer."""

from __future__ import annotations

import datetime as dt

from typing_extensions import Unpack

from .._request import APIRequest
from ..errors import ParameterError
from ..types.statement import BALANCE_TRANSACTION_TYPES, BalanceTransaction, BalanceTransactionType
from ._resource import (
    AsyncAPIResource,
    RequestOptions,
    SyncAPIResource,
    async_list,
    aware,
    options,
    page_limit,
    path_id,
    sync_list,
)

__all__ = ["BalanceTransactions", "AsyncBalanceTransactions"]


def list_(
    *,
    type: BalanceTransactionType | None = None,
    policy_id: str | None = None,
    created_gte: dt.datetime | None = None,
    created_lt: dt.datetime | None = None,
    limit: int | None = None,
    **opts: Unpack[RequestOptions],
) -> APIRequest[BalanceTransaction]:
    """Balance transactions in the order the operations ran, filtered by type (``premium``,
    ``premium_refund``, ``claim_payment``), policy and when they were created (``created_gte`` /
    ``created_lt``, aware datetimes). Amounts are signed: + owed to the insurer, − owed to you."""
    if type is not None and type not in BALANCE_TRANSACTION_TYPES:
        raise ParameterError(f"must be one of {', '.join(BALANCE_TRANSACTION_TYPES)}", param="type")
    if policy_id is not None:
        path_id(policy_id, "policy_id", "pol_")
    query = {
        "type": type,
        "policy_id": policy_id,
        "created_gte": aware(created_gte, "created_gte"),
        "created_lt": aware(created_lt, "created_lt"),
        "limit": page_limit(limit),
    }
    return APIRequest("GET", "/v1/balance_transactions", BalanceTransaction, query=query, **options(opts))


class BalanceTransactions(SyncAPIResource):
    list = sync_list(list_)


class AsyncBalanceTransactions(AsyncAPIResource):
    list = async_list(list_)
