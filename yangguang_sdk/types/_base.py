"""Base classes of the wire models: responses tolerate new fields, requests forbid unknown ones."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict
from pydantic_core import PydanticCustomError

if TYPE_CHECKING:
    from ._response_info import ResponseInfo

__all__ = [
    "attach_response",
    "APIObject",
    "NestedObject",
    "RequestModel",
    "CalendarDate",
    "Timestamp",
    "EARLIEST_DATE",
    "LATEST_DATE",
    "DATE_RANGE",
    "in_date_range",
    "error_param",
]

_UNION_TAGS = frozenset({"individual", "enterprise"})


def error_param(loc: tuple[int | str, ...] | list[int | str]) -> str | None:
    """The dotted field name of a pydantic error location: ``borrower.id_number``, not
    ``borrower.individual.id_number`` (union tags and pydantic's function markers are dropped)."""
    parts = [str(p) for p in loc if str(p) not in _UNION_TAGS and "[" not in str(p)]
    return ".".join(parts) or None


EARLIEST_DATE = dt.date(2000, 1, 1)
"""The first day the API takes in a date or a time (any earlier one is refused, 422)."""
LATEST_DATE = dt.date(2199, 12, 31)
"""The last day the API takes in a date or a time (UTC); no clock moves past it either."""
DATE_RANGE = f"from {EARLIEST_DATE.isoformat()} to {LATEST_DATE.isoformat()}"


def in_date_range(value: dt.date | dt.datetime) -> bool:
    """Whether a date, or the UTC day of an aware datetime, is within the API's range."""
    if not EARLIEST_DATE.year - 1 <= value.year <= LATEST_DATE.year + 1:
        return False  # far out (also: no UTC conversion of year 1 or 9999, which could overflow)
    if isinstance(value, dt.datetime):
        value = value.astimezone(dt.timezone.utc).date()
    return EARLIEST_DATE <= value <= LATEST_DATE


def _date_in_range(value: dt.date) -> dt.date:
    if not in_date_range(value):
        raise PydanticCustomError("date_out_of_range", f"must be a date {DATE_RANGE}")
    return value


def _instant_in_range(value: dt.datetime) -> dt.datetime:
    if not in_date_range(value):
        raise PydanticCustomError("datetime_out_of_range", f"must be a time {DATE_RANGE} (UTC)")
    return value


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _calendar_date(value: object) -> object:
    """A date field takes a ``datetime.date`` or ``"YYYY-MM-DD"``, nothing that only converts to one."""
    if isinstance(value, dt.datetime):
        # pydantic would take a midnight datetime silently; a due date is a day, not an instant
        raise PydanticCustomError(
            "date_type",
            "must be a date, not a datetime: pass a datetime.date or a 'YYYY-MM-DD' string "
            "(value.date() if that is the day you mean)",
        )
    if isinstance(value, dt.date) or (isinstance(value, str) and _ISO_DATE.fullmatch(value)):
        return value
    raise PydanticCustomError("date_type", "must be a date: a datetime.date or a 'YYYY-MM-DD' string")


CalendarDate = Annotated[dt.date, BeforeValidator(_calendar_date), AfterValidator(_date_in_range)]
"""A request's date field: a ``datetime.date`` or ``"YYYY-MM-DD"`` from 2000-01-01 to 2199-12-31;
datetimes, timestamps and date-time strings are refused rather than cut to a day."""
Timestamp = Annotated[AwareDatetime, AfterValidator(_instant_in_range)]
"""A request's instant: a timezone-aware datetime whose UTC day is from 2000-01-01 to 2199-12-31."""


class NestedObject(BaseModel):
    """A part of a response object (an installment line, ...): unknown fields kept, never fatal."""

    model_config = ConfigDict(extra="allow", hide_input_in_errors=True, defer_build=True)

    def to_dict(self) -> dict[str, Any]:
        """The object as JSON-ready data, as on the wire."""
        return self.model_dump(mode="json")


class APIObject(BaseModel):
    """A response object. Unknown fields are kept but never break parsing, so an old SDK keeps
    working when the insurer adds a field. ``last_response`` holds the status and headers of the
    HTTP response it came from."""

    model_config = ConfigDict(extra="allow", frozen=False, hide_input_in_errors=True, defer_build=True)
    # No declared private attribute: pydantic would then run its private-attribute set-up for every
    # object parsed, nested ones included (about a fifth of parsing a policy.bound event). The
    # response is kept in pydantic's own private slot, set only on the object a call returns.

    @property
    def last_response(self) -> ResponseInfo | None:
        """Status, headers and request id of the response this object was read from."""
        private = self.__pydantic_private__
        return private.get("_last_response") if private else None

    def to_dict(self) -> dict[str, Any]:
        """The object as JSON-ready data, as on the wire."""
        return self.model_dump(mode="json")


def attach_response(obj: APIObject, info: ResponseInfo) -> None:
    """Record on ``obj`` the response it was read from (its ``last_response``); the client calls
    it once for the object a call returns."""
    object.__setattr__(obj, "__pydantic_private__", {"_last_response": info})


class RequestModel(BaseModel):
    """A request body. Unknown fields are an error before anything is sent: a typo is caught early."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True, str_max_length=10_000)
