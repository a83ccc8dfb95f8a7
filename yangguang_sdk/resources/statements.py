"""``client.statements``: the monthly statement (对账单) the merchant settles with the insurer."""

from __future__ import annotations

from typing_extensions import Unpack

from .._request import APIRequest
from ..errors import ParameterError
from ..types.statement import Statement, month_problem
from ._resource import AsyncAPIResource, RequestOptions, SyncAPIResource, async_method, options, sync_method

__all__ = ["Statements", "AsyncStatements"]


def retrieve(month: str, **opts: Unpack[RequestOptions]) -> APIRequest[Statement]:
    """The statement of ``month`` ("2027-01", a UTC calendar month): its lines (balance
    transactions) and totals; ``status`` is ``open`` until the month is over on your clock, then
    ``final`` and it never changes."""
    problem = month_problem(month)
    if problem is not None:
        raise ParameterError(problem, param="month")
    return APIRequest("GET", f"/v1/statements/{month}", Statement, **options(opts))


class Statements(SyncAPIResource):
    retrieve = sync_method(retrieve)


class AsyncStatements(AsyncAPIResource):
    retrieve = async_method(retrieve)
