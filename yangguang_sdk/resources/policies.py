"""``client.policies``: bind a quote, then cancel or settle (提前结清) the cover."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from typing_extensions import Unpack

from .._request import APIRequest
from ..types.money import Money
from ..types.policy import (
    CancelReason,
    Endorsement,
    EndorsementCreateParams,
    Policy,
    PolicyBindParams,
    PolicyCancelParams,
    PolicySettleParams,
    PolicyStatus,
    PolicyUpdateParams,
)
from ..types.quote import ProductName
from ..types.quote_params import ConsentParam
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

__all__ = ["Policies", "AsyncPolicies"]


def bind(
    *,
    quote_id: str,
    consent: ConsentParam | Mapping[str, object] | None = None,
    **opts: Unpack[RequestOptions],
) -> APIRequest[Policy]:
    """Bind an approved quote into a policy. Safe to retry: pass your order id as
    ``idempotency_key`` and a repeated call returns the same policy.

    ``consent`` is required when the borrower is an individual (else 422 ``consent_required``):
    ``{"disclosure_acknowledged_at": <aware datetime, after the quote's decision, not in the
    future>, "reference": <your consent record id, 1-64 characters>}``;
    ``yangguang_sdk.consent(client, reference=...)`` builds one at the current time."""
    path_id(quote_id, "quote_id", "quo_")
    fields: dict[str, object] = {"quote_id": quote_id}
    if consent is not None:
        fields["consent"] = consent
    body = validate_params(PolicyBindParams, fields)
    return APIRequest("POST", "/v1/policies", Policy, body=body, **options(opts))


def retrieve(policy_id: str, **opts: Unpack[RequestOptions]) -> APIRequest[Policy]:
    """A policy by id, with its installments."""
    return APIRequest(
        "GET", f"/v1/policies/{path_id(policy_id, 'policy_id', 'pol_')}", Policy, **options(opts)
    )


def list_(
    *,
    status: PolicyStatus | None = None,
    merchant_order_id: str | None = None,
    product: ProductName | None = None,
    created_gte: dt.datetime | None = None,
    created_lt: dt.datetime | None = None,
    metadata: Mapping[str, str] | None = None,
    limit: int | None = None,
    **opts: Unpack[RequestOptions],
) -> APIRequest[Policy]:
    """Policies, oldest first; iterate the result to walk every page. ``metadata={"cart": "c-77"}``
    keeps the policies whose metadata has every pair given."""
    query = {
        "status": status,
        "merchant_order_id": merchant_order_id,
        "product": product,
        "created_gte": aware(created_gte, "created_gte"),
        "created_lt": aware(created_lt, "created_lt"),
        **metadata_params(metadata),
        "limit": page_limit(limit),
    }
    return APIRequest("GET", "/v1/policies", Policy, query=query, **options(opts))


def update(
    policy_id: str, *, metadata: Mapping[str, str | None], **opts: Unpack[RequestOptions]
) -> APIRequest[Policy]:
    """Change a policy's metadata: the keys given are merged into the existing ones, and a key set
    to ``""`` or ``None`` is removed. Keys and values are checked before sending."""
    pid = path_id(policy_id, "policy_id", "pol_")
    body = validate_params(PolicyUpdateParams, {"metadata": metadata})
    return APIRequest("POST", f"/v1/policies/{pid}", Policy, body=body, **options(opts))


def cancel(
    policy_id: str,
    *,
    reason: CancelReason | str = "requested_by_customer",
    preview: bool = False,
    **opts: Unpack[RequestOptions],
) -> APIRequest[Policy]:
    """Cancel a policy: a full refund inside the cooling-off period, the unearned premium after it.
    ``preview=True`` returns the refund without cancelling.

    ``reason`` is one of ``types.CANCEL_REASONS`` (``order_refunded``, ``order_cancelled``, ...) or
    your own code of 1-200 characters. A policy already cancelled or completed, or with a claim,
    is a ``ConflictError`` (``policy_already_cancelled``, ``policy_already_completed``,
    ``policy_claimed``); one with an overdue installment ``policy_not_cancellable``."""
    pid = path_id(policy_id, "policy_id", "pol_")
    body = validate_params(PolicyCancelParams, {"reason": reason, "preview": preview})
    return APIRequest("POST", f"/v1/policies/{pid}/cancel", Policy, body=body, **options(opts))


def settle(
    policy_id: str,
    *,
    settled_on: dt.date | str | None = None,
    preview: bool = False,
    **opts: Unpack[RequestOptions],
) -> APIRequest[Policy]:
    """Early full repayment (提前结清): the policy completes and the unearned premium is refunded."""
    pid = path_id(policy_id, "policy_id", "pol_")
    body = validate_params(PolicySettleParams, {"settled_on": settled_on, "preview": preview})
    return APIRequest("POST", f"/v1/policies/{pid}/settle", Policy, body=body, **options(opts))


def endorse(
    policy_id: str,
    *,
    principal_reduction: Money,
    preview: bool = False,
    **opts: Unpack[RequestOptions],
) -> APIRequest[Endorsement]:
    """Lower the loan after a partial return (部分退货, 批改): the remaining installments are
    re-amortised on the lower balance, the unearned premium of the returned share is refunded, and
    the sum insured and schedule change. ``preview=True`` computes the same endorsement and changes
    nothing. Refused with ``ConflictError`` ``policy_not_endorsable`` unless the policy is active,
    claim-free and every installment due so far is paid."""
    pid = path_id(policy_id, "policy_id", "pol_")
    body = validate_params(
        EndorsementCreateParams, {"principal_reduction": principal_reduction, "preview": preview}
    )
    return APIRequest("POST", f"/v1/policies/{pid}/endorsements", Endorsement, body=body, **options(opts))


class Policies(SyncAPIResource):
    bind = sync_method(bind)
    retrieve = sync_method(retrieve)
    list = sync_list(list_)
    update = sync_method(update)
    endorse = sync_method(endorse)
    cancel = sync_method(cancel)
    settle = sync_method(settle)


class AsyncPolicies(AsyncAPIResource):
    bind = async_method(bind)
    retrieve = async_method(retrieve)
    list = async_list(list_)
    update = async_method(update)
    endorse = async_method(endorse)
    cancel = async_method(cancel)
    settle = async_method(settle)
