"""``client.exposure``: how much more a borrower may be insured for (DESIGN §7.5)."""

from __future__ import annotations

from collections.abc import Mapping

from typing_extensions import Unpack

from .._request import APIRequest
from ..types.exposure import ExposureCheck, ExposureCheckParams
from ..types.quote_params import BorrowerParam
from ._resource import (
    AsyncAPIResource,
    RequestOptions,
    SyncAPIResource,
    async_method,
    options,
    sync_method,
    validate_params,
)

__all__ = ["Exposure", "AsyncExposure"]


def check(
    *, borrower: BorrowerParam | Mapping[str, object], **opts: Unpack[RequestOptions]
) -> APIRequest[ExposureCheck]:
    """The borrower's exposure limit, what their active policies use of it, and what is left:
    ``{limit, used, available}``. The borrower is identified by resident ID number or USCC,
    checked here before sending; nothing is created."""
    body = validate_params(ExposureCheckParams, {"borrower": borrower})
    return APIRequest("POST", "/v1/exposure_checks", ExposureCheck, body=body, **options(opts))


class Exposure(SyncAPIResource):
    check = sync_method(check)


class AsyncExposure(AsyncAPIResource):
    check = async_method(check)
