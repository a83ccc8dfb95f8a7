"""``client.wordings``: the policy wording (保险条款) a quote's disclosure refers to."""

from __future__ import annotations

import re

from typing_extensions import Unpack

from .._request import APIRequest
from ..errors import ParameterError
from ..types.disclosure import Wording
from ._resource import AsyncAPIResource, RequestOptions, SyncAPIResource, async_method, options, sync_method

__all__ = ["Wordings", "AsyncWordings"]

_VERSION = re.compile(r"\d{4}-\d{2}-\d{2}")


def retrieve(version: str, **opts: Unpack[RequestOptions]) -> APIRequest[Wording]:
    """A wording by version (``quote.disclosure.wording_version``): its full text and the hex
    SHA-256 of the text, equal to the quote's ``disclosure.wording_sha256``."""
    if not isinstance(version, str) or not _VERSION.fullmatch(version):
        raise ParameterError('must be a wording version such as "2026-11-29"', param="version")
    return APIRequest("GET", f"/v1/wordings/{version}", Wording, **options(opts))


class Wordings(SyncAPIResource):
    retrieve = sync_method(retrieve)


class AsyncWordings(AsyncAPIResource):
    retrieve = async_method(retrieve)
