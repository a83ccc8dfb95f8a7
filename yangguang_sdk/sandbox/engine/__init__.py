"""The sandbox insurer's engine: underwriting, policies, servicing, claims, the ledger and the clock.

The engine knows nothing of HTTP. Every public method takes the tenant (the API key) first, returns
JSON-ready dicts in the wire shape of ``yangguang_sdk.types`` and raises the domain errors of
``sandbox/errors.py`` (not found, conflict, invalid), which carry no HTTP status. Inside, the
domain is typed records converted to and from JSON at the store boundary.

- ``_core``: the lock, store transactions, the clock's timers, ids, the event log, extension points;
- ``quotes``: underwriting and pricing; ``policies``: bind, cancel, settle;
- ``servicing``: repayments, overdue, default, claims and recovery; ``ledger``: the journal;
- ``statements``: the merchant's balance transactions and monthly statements;
- ``records``: the typed records; ``render``: the one renderer from a record to its wire shape.

``Engine`` puts the parts together; each part is a class the next one builds on.
"""

from __future__ import annotations

from .ledger import ACCOUNTS
from .render import render
from .servicing import Servicing

__all__ = ["Engine", "ACCOUNTS", "render"]


class Engine(Servicing):
    """The sandbox insurer (see the package docstring and those of its parts).

    ``db``: None keeps everything in memory; a path keeps it in SQLite (reopening finds everything,
    including the clock, the id counters and pending transitions; ``now`` is then ignored).
    ``now``: where a new clock starts (aware; default the current UTC time to the second).
    ``realtime``: the clock follows real time from ``now``; due transitions run before each call.
    """
