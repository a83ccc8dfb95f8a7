"""Balance transactions and statements through the SDK (DESIGN §7.6): in-process, async, with the
finalized statement delivered as a signed webhook, and over real HTTP."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

import httpx
import pytest

import yangguang_sdk as yg
from yangguang_sdk import Client
from yangguang_sdk.sandbox import Sandbox
from yangguang_sdk.types import BalanceTransaction, Statement, StatementEvent

from .conftest import START, borrower, loan

UTC = dt.timezone.utc


def _bind(client: Client, order: str, first_due: str = "2026-12-25") -> yg.types.Policy:
    quote = client.quotes.create(
        product="consumer_installment",
        merchant_order_id=order,
        borrower=borrower(),
        loan=loan(first_due=first_due),
    )
    return client.policies.bind(quote_id=quote.id, consent=yg.consent(client, reference=f"CR-{order}"))


def test_the_month_in_process_from_bind_to_the_final_statement_and_its_webhook() -> None:
    delivered: list[tuple[bytes, dict[str, str]]] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        delivered.append((request.content, dict(request.headers)))
        return httpx.Response(200)

    with Sandbox(now=START, webhook_transport=httpx.MockTransport(receiver)) as sandbox:
        client = sandbox.client()
        endpoint = client.webhook_endpoints.create(
            url="https://shop.example/hooks", events=["statement.finalized"]
        )
        kept = _bind(client, "订单-甲")
        returned = _bind(client, "ORD-乙")
        cancelled = client.policies.cancel(returned.id, reason="order_refunded")
        lines = list(client.balance_transactions.list(limit=1))  # auto-paging, one per page
        assert all(isinstance(x, BalanceTransaction) for x in lines)
        assert [(x.type, x.amount, x.policy_id, x.merchant_order_id) for x in lines] == [
            ("premium", kept.premium, kept.id, "订单-甲"),
            ("premium", returned.premium, returned.id, "ORD-乙"),
            ("premium_refund", -cancelled.refund, returned.id, "ORD-乙"),  # type: ignore[operator]
        ]
        assert [x.id for x in client.balance_transactions.list(type="premium_refund")] == [lines[2].id]
        assert len(list(client.balance_transactions.list(policy_id=kept.id))) == 1
        assert list(client.balance_transactions.list(created_gte=START + dt.timedelta(days=1))) == []

        november = client.statements.retrieve("2026-11")
        assert isinstance(november, Statement) and november.status == "open"
        assert november.premiums == kept.premium + returned.premium
        assert november.refunds == cancelled.refund
        assert [line.id for line in november.lines] == [x.id for x in lines]
        assert delivered == []

        client.test_clock.advance(days=6)  # 2026-12-01 02:00: November is over
        final = client.statements.retrieve("2026-11")
        assert final.status == "final" and final.to_dict() | {"status": "open"} == november.to_dict()
        [(body, headers)] = delivered
        event = sandbox.webhook(endpoint.secret or "").verify(body, headers)
        assert isinstance(event, StatementEvent)
        assert event.data.month == "2026-11" and event.data.net_due == final.net_due
        assert event.timestamp == dt.datetime(2026, 12, 1, tzinfo=UTC)
        client.close()


def test_async_lists_and_retrieves() -> None:
    async def run() -> None:
        with Sandbox(now=START) as sandbox:
            sync = sandbox.client()
            policies = [_bind(sync, f"ORD-{n}") for n in range(3)]
            async with sandbox.async_client() as client:
                ids = [x.policy_id async for x in client.balance_transactions.list(limit=2)]
                assert ids == [p.id for p in policies]
                statement = await client.statements.retrieve("2026-11")
                assert len(statement.lines) == 3 and statement.status == "open"
                with pytest.raises(yg.ParameterError) as exc:
                    await client.statements.retrieve("2026-13")
                assert exc.value.param == "month"
            sync.close()

    asyncio.run(run())


def _refusing(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"nothing should be sent: {request.url}")


@pytest.mark.parametrize(
    ("call", "param"),
    [
        (lambda c: c.statements.retrieve("2027-1"), "month"),
        (lambda c: c.statements.retrieve("1999-12"), "month"),
        (lambda c: c.statements.retrieve(202701), "month"),
        (lambda c: list(c.balance_transactions.list(type="payout")), "type"),
        (lambda c: list(c.balance_transactions.list(policy_id="clm_1")), "policy_id"),
        (lambda c: list(c.balance_transactions.list(created_gte=dt.datetime(2027, 1, 1))), "created_gte"),
        (
            lambda c: list(c.balance_transactions.list(created_lt=dt.datetime(1999, 1, 1, tzinfo=UTC))),
            "created_lt",
        ),
        (lambda c: list(c.balance_transactions.list(limit=0)), "limit"),
    ],
)
def test_bad_filters_are_refused_before_sending(call: Any, param: str) -> None:
    with Client(
        api_key="yg_test_settle", base_url="http://nowhere.test", transport=httpx.MockTransport(_refusing)
    ) as client:
        with pytest.raises(yg.ParameterError) as exc:
            call(client)
    assert exc.value.param == param


@pytest.mark.parametrize("month", ["2027-13", "2027-1", "1999-12", "2200-01", "now"])
def test_the_api_refuses_a_bad_month_naming_it(sandbox: Sandbox, month: str) -> None:
    with httpx.Client(transport=sandbox.transport(), base_url="http://sandbox.test") as http:
        answer = http.get(f"/v1/statements/{month}", headers={"Authorization": f"Bearer {sandbox.api_key}"})
        assert answer.status_code == 422
        assert answer.json()["error"]["code"] == "invalid_parameter"
        assert answer.json()["error"]["param"] == "month"
        answer = http.get(
            "/v1/balance_transactions?type=payout", headers={"Authorization": f"Bearer {sandbox.api_key}"}
        )
        assert answer.status_code == 422 and answer.json()["error"]["param"] == "type"


def test_statements_over_http(served_sandbox: str) -> None:
    with Client(api_key=f"yg_test_{uuid.uuid4().hex[:12]}", base_url=served_sandbox) as client:
        now = client.test_clock.retrieve().now
        first_due = (now + dt.timedelta(days=40)).date().isoformat()
        policy = _bind(client, "订单-served", first_due=first_due)
        month = f"{now.year:04d}-{now.month:02d}"
        [line] = list(client.balance_transactions.list())
        assert line.source_id == policy.id and line.created == policy.bound_at
        statement = client.statements.retrieve(month)
        assert statement.status == "open" and [x.id for x in statement.lines] == [line.id]
        commission = (policy.premium.amount * 15 + 50) // 100
        assert statement.commission.amount == commission
        assert statement.net_due.amount == policy.premium.amount - commission
        next_month = dt.datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=UTC)
        client.test_clock.advance(minutes=int((next_month - now).total_seconds() // 60) + 2)
        final = client.statements.retrieve(month)
        assert final.status == "final" and final.net_due == statement.net_due
        [event] = list(client.events.list(type="statement.finalized"))
        assert isinstance(event, StatementEvent) and event.data.month == month


def test_a_final_statement_is_byte_identical_after_later_operations(sandbox: Sandbox) -> None:
    client = sandbox.client()
    policy = _bind(client, "ORD-bytes")
    client.test_clock.advance(days=7)  # into December
    headers = {"Authorization": f"Bearer {sandbox.api_key}"}
    with httpx.Client(transport=sandbox.transport(), base_url="http://sandbox.test") as http:
        before = http.get("/v1/statements/2026-11", headers=headers).content
        client.policies.cancel(policy.id, reason="order_refunded")
        _bind(client, "ORD-later", first_due="2027-01-25")
        client.test_clock.advance(days=40)
        after = http.get("/v1/statements/2026-11", headers=headers).content
        december = client.statements.retrieve("2026-12")
    assert after == before and b'"status":"final"' in before.replace(b" ", b"")
    assert [line.type for line in december.lines] == ["premium_refund", "premium"]
    client.close()
