"""The sandbox's own clock and its time conventions.

Conventions used by every rule of the engine:

- All instants are aware UTC datetimes; on the wire ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``.
- Business dates are UTC dates: a policy bound at 2027-01-05T23:59Z was bound on 2027-01-05.
- A transition tied to a date fires at 00:00 UTC of that date. An installment due on date X is
  overdue at 00:00 of X + 1 (it could be paid all through X); the default of day D happens at 00:00
  of D, so a repayment at any time on D − 1 still prevents it.
- Each tenant has its own clock: the base clock plus the tenant's skew, which only its own
  ``advance`` moves. The base clock is frozen (manual mode) or follows the machine's wall clock from
  where it started (real-time mode). A tenant's clock never goes backwards.
"""

from __future__ import annotations

import datetime as dt
import time

__all__ = [
    "UTC",
    "business_date",
    "format_ts",
    "from_micros",
    "midnight",
    "parse_ts",
    "to_micros",
    "wall",
]

UTC = dt.timezone.utc
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)


def format_ts(value: dt.datetime) -> str:
    """ISO 8601 in UTC ending in ``Z``; microseconds only when there are some."""
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    return text + "Z"


def parse_ts(text: str) -> dt.datetime:
    """The aware UTC datetime of a ``format_ts`` string."""
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def to_micros(value: dt.datetime) -> int:
    """Microseconds since the Unix epoch (an integer that sorts like the instant)."""
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(micros: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=micros)


def business_date(value: dt.datetime) -> dt.date:
    """The UTC date of an instant."""
    return value.astimezone(UTC).date()


def midnight(day: dt.date) -> dt.datetime:
    """00:00 UTC of ``day``: when transitions tied to that date fire."""
    return dt.datetime(day.year, day.month, day.day, tzinfo=UTC)


def wall() -> float:
    """The machine's wall clock, Unix seconds (a module function so tests can replace it). A
    real-time sandbox's base clock follows it; webhook signatures carry it."""
    return time.time()
