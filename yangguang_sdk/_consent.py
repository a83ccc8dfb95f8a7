"""``yangguang_sdk.consent``: the one-liner that records a borrower's consent for a bind (承保可回溯,
DESIGN §7.3), dated now on the clock the insurer checks it against.

A test key's "now" is the sandbox's clock (``client.test_clock``), which tests move; a live key's is
the real time. Pass ``acknowledged_at=`` to record an earlier acknowledgement instead.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from .errors import ParameterError
from .types.disclosure import CONSENT_REFERENCE_MAX
from .types.quote_params import ConsentParam

if TYPE_CHECKING:
    from ._client import AsyncClient, Client

__all__ = ["async_consent", "consent"]


def _checked(reference: str, acknowledged_at: dt.datetime | None) -> None:
    if not isinstance(reference, str) or not 1 <= len(reference) <= CONSENT_REFERENCE_MAX:
        raise ParameterError(
            f"must be your consent record's id, 1-{CONSENT_REFERENCE_MAX} characters", param="reference"
        )
    if acknowledged_at is not None and (
        not isinstance(acknowledged_at, dt.datetime) or acknowledged_at.utcoffset() is None
    ):
        raise ParameterError("must be a timezone-aware datetime", param="acknowledged_at")


def _made(reference: str, at: dt.datetime) -> ConsentParam:
    return {"disclosure_acknowledged_at": at, "reference": reference}


def consent(client: Client, *, reference: str, acknowledged_at: dt.datetime | None = None) -> ConsentParam:
    """The ``consent=`` of ``client.policies.bind`` for an individual borrower: acknowledged now
    (the sandbox's clock for a test key, one GET; the real time for a live key), or at
    ``acknowledged_at``, under your consent record's ``reference``.

    >>> policy = client.policies.bind(quote_id=q.id, consent=yg.consent(client, reference="CR-1"))  # doctest: +SKIP
    """
    _checked(reference, acknowledged_at)
    if acknowledged_at is None:
        acknowledged_at = (
            dt.datetime.now(dt.timezone.utc) if client.livemode else client.test_clock.retrieve().now
        )
    return _made(reference, acknowledged_at)


async def async_consent(
    client: AsyncClient, *, reference: str, acknowledged_at: dt.datetime | None = None
) -> ConsentParam:
    """``consent`` for an ``AsyncClient``: ``await yg.async_consent(client, reference="CR-1")``."""
    _checked(reference, acknowledged_at)
    if acknowledged_at is None:
        if client.livemode:
            acknowledged_at = dt.datetime.now(dt.timezone.utc)
        else:
            acknowledged_at = (await client.test_clock.retrieve()).now
    return _made(reference, acknowledged_at)
