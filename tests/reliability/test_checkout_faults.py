"""Checkout under faults: quote + bind through a network that refuses connections, loses responses
after the insurer committed, answers 500, 429 and 409 idempotency_request_in_progress. However the
faults fall, every order ends with exactly one policy, nothing is duplicated, every failure the
caller sees is typed, and the insurer's ledger balances.

300 sync / 120 async checkouts under ``make test``; 10,000 / 2,000 with ``YANGGUANG_SOAK=1``.
"""

from __future__ import annotations

import asyncio
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

import yangguang_sdk as yg
from yangguang_sdk import AsyncClient, Client, testing
from yangguang_sdk.sandbox import Sandbox
from yangguang_sdk.types import Policy, Quote

from .conftest import (
    API_KEY,
    FAULTS,
    AsyncFaultyTransport,
    FakeClock,
    FaultPlan,
    FaultyTransport,
    borrower,
    loan,
    sized,
)

N_SYNC = sized(300, 10_000)
N_ASYNC = sized(120, 2_000)
CHUNK = 40
MAX_RETRIES = 8
RECALLS = 5
"""How often the caller re-runs a checkout whose call failed (typed) after all its retries."""


@dataclass
class Tally:
    """What the caller saw, per SDK call."""

    succeeded: int = 0
    typed: Counter[str] = field(default_factory=Counter)
    untyped: list[str] = field(default_factory=list)
    replayed: int = 0

    def failed(self, exc: BaseException) -> None:
        if isinstance(exc, yg.YangguangError):
            self.typed[type(exc).__name__] += 1
        else:
            self.untyped.append(repr(exc))


def _order(prefix: str, i: int) -> str:
    return f"{prefix}-{i:05d}"


def _call(tally: Tally, fn: Any, **kwargs: Any) -> Any:
    try:
        result = fn(**kwargs)
    except Exception as exc:
        tally.failed(exc)
        return None
    tally.succeeded += 1
    if result.last_response is not None and result.last_response.replayed:
        tally.replayed += 1
    return result


def _checkout(client: Client, order: str, tally: Tally) -> Policy:
    """Quote and bind one order, re-running it (same keys) after a typed failure, as a merchant's
    job queue would."""
    for _ in range(RECALLS):
        quote: Quote | None = _call(
            tally,
            client.quotes.create,
            product="consumer_installment",
            merchant_order_id=order,
            # a person per order: one person's orders would reach the exposure limit (¥500,000)
            borrower=borrower(id_number=testing.resident_id_number(zlib.crc32(order.encode()))),
            loan=loan(),
            idempotency_key=f"{order}/quote",
        )
        if quote is None:
            continue
        assert quote.decision == "approved" and quote.merchant_order_id == order
        # consent dated at the decision: no request of its own, the same body on every recall
        assert quote.decided_at is not None
        consent = yg.consent(client, reference=f"CONSENT-{order}", acknowledged_at=quote.decided_at)
        policy: Policy | None = _call(
            tally, client.policies.bind, quote_id=quote.id, consent=consent, idempotency_key=order
        )
        if policy is not None:
            assert policy.quote_id == quote.id and policy.merchant_order_id == order
            return policy
    pytest.fail(f"{order}: no policy after {RECALLS} attempts: {tally.typed} {tally.untyped[-3:]}")


async def _acall(tally: Tally, fn: Any, **kwargs: Any) -> Any:
    try:
        result = await fn(**kwargs)
    except Exception as exc:
        tally.failed(exc)
        return None
    tally.succeeded += 1
    if result.last_response is not None and result.last_response.replayed:
        tally.replayed += 1
    return result


async def _acheckout(client: AsyncClient, order: str, tally: Tally) -> Policy:
    for _ in range(RECALLS):
        quote: Quote | None = await _acall(
            tally,
            client.quotes.create,
            product="consumer_installment",
            merchant_order_id=order,
            # a person per order: one person's orders would reach the exposure limit (¥500,000)
            borrower=borrower(id_number=testing.resident_id_number(zlib.crc32(order.encode()))),
            loan=loan(),
            idempotency_key=f"{order}/quote",
        )
        if quote is None:
            continue
        assert quote.decided_at is not None
        consent = await yg.async_consent(
            client, reference=f"CONSENT-{order}", acknowledged_at=quote.decided_at
        )
        policy: Policy | None = await _acall(
            tally, client.policies.bind, quote_id=quote.id, consent=consent, idempotency_key=order
        )
        if policy is not None:
            assert policy.quote_id == quote.id and policy.merchant_order_id == order
            return policy
    pytest.fail(f"{order}: no policy after {RECALLS} attempts: {tally.typed} {tally.untyped[-3:]}")


def _assert_exactly_one_policy_per_order(sb: Sandbox, orders: list[str], returned: list[Policy]) -> None:
    """The insurer's books, read without faults: one policy per order and a balanced ledger."""
    with sb.client() as clean:
        listed = list(clean.policies.list(limit=100))
        bound_events = sum(1 for _ in clean.events.list(type="policy.bound", limit=100))
    by_order = Counter(p.merchant_order_id for p in listed)
    assert len(listed) == len(orders), f"{len(listed)} policies for {len(orders)} orders"
    assert sorted(by_order) == sorted(orders)
    duplicates = {o: n for o, n in by_order.items() if n > 1}
    assert duplicates == {}
    assert bound_events == len(orders)
    # What each caller got back is the policy the insurer holds for its order.
    assert {p.merchant_order_id: p.id for p in returned} == {p.merchant_order_id: p.id for p in listed}
    # The quotes were not duplicated either (their POSTs are retried too).
    assert len(sb.engine._store.scan("quotes", API_KEY)) == len(orders)

    ledger = sb.engine.ledger(API_KEY)
    balances, totals = ledger["balances"], ledger["totals"]
    assert sum(balances.values()) == 0
    assert (
        totals["premium"] - totals["refunds"] - totals["claims_paid"] + totals["recoveries"]
        == totals["insurer_balance"]
    )
    assert totals["premium"] == sum(p.premium.amount for p in listed)
    assert totals["refunds"] == totals["claims_paid"] == totals["recoveries"] == 0
    assert sum(1 for e in ledger["entries"] if e["kind"] == "premium") == len(orders)


def _assert_faults_were_real(plan: FaultPlan, n: int) -> None:
    """The faults happened, every kind of them, and every retry resent the same request."""
    assert set(plan.injected) == set(FAULTS), plan.injected
    assert plan.injected_by_path[("POST", "/v1/policies")] > 0
    assert plan.injected_by_path[("POST", "/v1/quotes")] > 0
    assert plan.posts_without_key == 0
    assert plan.key_conflicts == []
    # One key per quote and one per bind, each used by one or more attempts.
    assert len(plan.attempts_by_key) == 2 * n
    assert sum(plan.attempts_by_key.values()) > 2 * n
    assert 0.2 < sum(plan.injected.values()) / plan.requests < 0.4


@pytest.mark.slow
def test_checkouts_under_faults_make_exactly_one_policy_each(sandbox: Sandbox, fake_clock: FakeClock) -> None:
    plan = FaultPlan(seed=20261125)
    orders = [_order("ORD", i) for i in range(N_SYNC)]
    tally = Tally()
    with sandbox.client(transport=FaultyTransport(sandbox.transport(), plan)) as base:
        client = base.with_options(max_retries=MAX_RETRIES)
        returned = [_checkout(client, order, tally) for order in orders]
        # Auto-paging through faults: each page is retried on its own.
        through_faults = [p.id for p in client.policies.list(limit=100)]

    # Every call succeeded or failed typed; a typed failure was followed by a re-run of the order
    # with the same keys, which still made exactly one policy (checked below).
    assert tally.untyped == []
    assert tally.succeeded >= 2 * N_SYNC, tally.typed
    assert tally.replayed > 0  # some responses were lost after the commit and replayed on retry
    _assert_faults_were_real(plan, N_SYNC)
    _assert_exactly_one_policy_per_order(sandbox, orders, returned)
    assert through_faults == [p.id for p in returned]  # oldest first, every page despite the faults
    # The real back-off schedule ran (on the fake clock): Retry-After: 0 was honoured as 0 s,
    # no wait exceeded the 8 s cap, and no call outlived its deadline.
    assert 0.0 in fake_clock.sleeps
    assert max(fake_clock.sleeps) <= 8.0
    assert tally.typed.get("APITimeoutError", 0) == 0


@pytest.mark.slow
async def test_async_checkouts_under_faults_make_exactly_one_policy_each(
    sandbox: Sandbox, instant_async_backoff: list[float]
) -> None:
    plan = FaultPlan(seed=1101)
    orders = [_order("AORD", i) for i in range(N_ASYNC)]
    tally = Tally()
    returned: list[Policy] = []
    transport = AsyncFaultyTransport(sandbox.async_transport(), plan)
    async with sandbox.async_client(transport=transport) as base:
        client = base.with_options(max_retries=MAX_RETRIES)
        for start in range(0, N_ASYNC, CHUNK):
            chunk = orders[start : start + CHUNK]
            returned += await asyncio.gather(*(_acheckout(client, order, tally) for order in chunk))
        through_faults = [p.id async for p in client.policies.list(limit=100)]

    # Every call succeeded or failed typed; a typed failure was followed by a re-run of the order
    # with the same keys, which still made exactly one policy (checked below).
    assert tally.untyped == []
    assert tally.succeeded >= 2 * N_ASYNC, tally.typed
    assert tally.replayed > 0
    _assert_faults_were_real(plan, N_ASYNC)
    _assert_exactly_one_policy_per_order(sandbox, orders, returned)
    assert sorted(through_faults) == sorted(p.id for p in returned)
    assert 0.0 in instant_async_backoff


# -- a call that exhausts its retries ----------------------------------------------------------------


class EveryBindLost(httpx.BaseTransport):
    """The insurer commits every bind, and every response to a bind is lost on the way back."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.bind_keys: list[str | None] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.method == "POST" and request.url.path == "/v1/policies":
            self.bind_keys.append(request.headers.get("idempotency-key"))
            response.close()
            raise httpx.ReadError("injected: connection reset after the server committed", request=request)
        return response


def test_bind_that_exhausts_its_retries_is_typed_and_a_recall_with_its_key_yields_the_one_policy(
    sandbox: Sandbox, fake_clock: FakeClock
) -> None:
    lossy = EveryBindLost(sandbox.transport())
    with sandbox.client(transport=lossy, max_retries=3) as client:
        quote = client.quotes.create(
            product="consumer_installment", merchant_order_id="ORD-LOST", borrower=borrower(), loan=loan()
        )
        with pytest.raises(yg.APIConnectionError) as info:
            client.policies.bind(
                consent=yg.consent(client, reference="CR-test"), quote_id=quote.id, idempotency_key="ORD-LOST"
            )
    assert isinstance(info.value, yg.YangguangError)
    assert "4 attempt(s)" in str(info.value)
    assert lossy.bind_keys == ["ORD-LOST"] * 4

    with sandbox.client() as client:
        assert [p.quote_id for p in client.policies.list()] == [quote.id]  # committed once
        again = client.policies.bind(
            consent=yg.consent(client, reference="CR-test"), quote_id=quote.id, idempotency_key="ORD-LOST"
        )
        assert again.last_response is not None and again.last_response.replayed
        assert [p.id for p in client.policies.list()] == [again.id]
    assert sandbox.engine.ledger(API_KEY)["totals"]["premium"] == again.premium.amount


def test_bind_answered_500_every_time_is_typed_writes_nothing_and_a_recall_binds_once(
    sandbox: Sandbox, fake_clock: FakeClock
) -> None:
    plan = FaultPlan(seed=0, rate=1.0, faults=("server_error",))
    with sandbox.client() as client:
        quote = client.quotes.create(
            product="consumer_installment", merchant_order_id="ORD-500", borrower=borrower(), loan=loan()
        )
    with sandbox.client(transport=FaultyTransport(sandbox.transport(), plan), max_retries=2) as client:
        with pytest.raises(yg.InternalServerError) as info:
            client.policies.bind(
                consent=yg.consent(client, reference="CR-test"), quote_id=quote.id, idempotency_key="ORD-500"
            )
    assert info.value.status_code == 500 and plan.requests == 3 and plan.forwarded == 0
    with sandbox.client() as client:
        assert list(client.policies.list()) == []
        policy = client.policies.bind(
            consent=yg.consent(client, reference="CR-test"), quote_id=quote.id, idempotency_key="ORD-500"
        )
        assert [p.id for p in client.policies.list()] == [policy.id]


def test_retries_stop_at_the_call_deadline_with_a_typed_error(
    sandbox: Sandbox, fake_clock: FakeClock
) -> None:
    """max_retries=100 against an insurer that always loses the response: the client's own deadline
    (3 s of back-off on the fake clock) ends the call, typed, and the policy still exists once."""
    lossy = EveryBindLost(sandbox.transport())
    with sandbox.client(transport=lossy, max_retries=100, deadline=3) as client:
        quote = client.quotes.create(
            product="consumer_installment", merchant_order_id="ORD-DL", borrower=borrower(), loan=loan()
        )
        started = fake_clock.now
        with pytest.raises(yg.APIConnectionError):
            client.policies.bind(
                consent=yg.consent(client, reference="CR-test"), quote_id=quote.id, idempotency_key="ORD-DL"
            )
    assert fake_clock.now - started <= 3.0
    assert 2 <= len(lossy.bind_keys) < 10 and set(lossy.bind_keys) == {"ORD-DL"}
    with sandbox.client() as client:
        assert len(list(client.policies.list())) == 1
