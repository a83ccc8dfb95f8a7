"""Exposure checks: how much more one borrower may be insured for (DESIGN §7.5)."""

from __future__ import annotations

from typing import Literal

from ._base import APIObject, RequestModel
from .money import Money
from .quote import Borrower

__all__ = ["ExposureCheck", "ExposureCheckParams"]


class ExposureCheckParams(RequestModel):
    """The body of ``POST /v1/exposure_checks``: the borrower, as on a quote (its credit score is
    not needed and not used)."""

    borrower: Borrower


class ExposureCheck(APIObject):
    """A borrower's exposure: ``used`` is the outstanding principal of the borrower's active
    policies (the rounded principal parts of their unpaid installments), ``available`` = ``limit``
    − ``used`` (never below zero). A quote is declined ``borrower_exposure_limit`` when ``used`` +
    its principal is above ``limit``."""

    object: Literal["exposure_check"] = "exposure_check"
    limit: Money
    used: Money
    available: Money
