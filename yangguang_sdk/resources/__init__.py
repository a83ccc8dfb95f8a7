"""The API's resources, each a thin sync class and async class over one set of request builders."""

from __future__ import annotations

from .balance_transactions import AsyncBalanceTransactions, BalanceTransactions
from .claims import AsyncClaims, Claims
from .event_types import AsyncEventTypes, EventTypes
from .events import AsyncEvents, Events
from .exposure import AsyncExposure, Exposure
from .policies import AsyncPolicies, Policies
from .quotes import AsyncQuotes, Quotes
from .repayments import AsyncRepayments, Repayments
from .statements import AsyncStatements, Statements
from .test_clock import AsyncTestClock, TestClock
from .webhook_endpoints import AsyncWebhookEndpoints, WebhookEndpoints
from .wordings import AsyncWordings, Wordings

__all__ = [
    "AsyncBalanceTransactions",
    "AsyncClaims",
    "AsyncEvents",
    "AsyncEventTypes",
    "AsyncExposure",
    "AsyncPolicies",
    "AsyncQuotes",
    "AsyncRepayments",
    "AsyncStatements",
    "AsyncTestClock",
    "AsyncWebhookEndpoints",
    "AsyncWordings",
    "BalanceTransactions",
    "Claims",
    "Events",
    "EventTypes",
    "Exposure",
    "Policies",
    "Quotes",
    "Repayments",
    "Statements",
    "TestClock",
    "WebhookEndpoints",
    "Wordings",
]
