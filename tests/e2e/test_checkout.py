"""The checkout path end to end: the SDK against the sandbox, in-process and over real HTTP."""

from __future__ import annotations

import asyncio
import socket
import uuid
from typing import Any

import httpx
import pytest

import yangguang_sdk as yg
from yangguang_sdk import AsyncClient, Client
from yangguang_sdk.sandbox import Sandbox

from .conftest import START, borrower, loan


def _checkout(client: Client, order: str) -> yg.types.Policy:
    quote = client.quotes.create(
        product="consumer_installment", merchant_order_id=order, borrower=borrower(), loan=loan()
    )
    assert quote.decision == "approved"
    assert quote.premium is not None and quote.premium.amount > 0
    assert len(quote.schedule) == 12
    assert sum((i.amount for i in quote.schedule), yg.Money.cny(0)) == quote.sum_insured
    policy = client.policies.bind(
        consent=yg.consent(client, reference="CR-test"), quote_id=quote.id, idempotency_key=order
    )
    assert policy.status == "active" and policy.quote_id == quote.id
    assert client.policies.retrieve(policy.id).id == policy.id
    return policy


async def _acheckout(client: AsyncClient, order: str) -> yg.types.Policy:
    quote = await client.quotes.create(
        product="consumer_installment", merchant_order_id=order, borrower=borrower(), loan=loan()
    )
    assert quote.decision == "approved"
    policy = await client.policies.bind(
        consent=await yg.async_consent(client, reference="CR-test"), quote_id=quote.id, idempotency_key=order
    )
    assert (await client.policies.retrieve(policy.id)).status == "active"
    return policy


def test_sync_checkout_in_process(client: Client) -> None:
    policy = _checkout(client, "ORD-1")
    listed = [p.id for p in client.policies.list(status="active")]
    assert listed == [policy.id]
    cancelled = client.policies.cancel(policy.id, reason="order_refunded")
    assert cancelled.status == "cancelled" and cancelled.refund == cancelled.premium


def test_a_cancel_retried_under_a_new_key_reads_as_already_cancelled(client: Client) -> None:
    policy = _checkout(client, "ORD-RETRY")
    first = client.policies.cancel(policy.id, reason="order_refunded", idempotency_key="cancel-1")
    replay = client.policies.cancel(policy.id, reason="order_refunded", idempotency_key="cancel-1")
    assert replay.last_response is not None and replay.last_response.replayed
    assert replay.refund == first.refund
    with pytest.raises(yg.ConflictError) as err:
        client.policies.cancel(policy.id, reason="order_refunded", idempotency_key="cancel-2")
    assert err.value.code == "policy_already_cancelled" and policy.id in err.value.message


async def test_async_checkout_in_process(sandbox: Sandbox) -> None:
    async with sandbox.async_client() as client:
        policy = await _acheckout(client, "ORD-A1")
        ids = [p.id async for p in client.policies.list()]
        assert ids == [policy.id]
        first_page = await client.policies.list(limit=1)
        assert [p.id for p in first_page.data] == [policy.id]


def test_in_process_sandbox_opens_no_tcp_connection(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[Any] = []

    def refuse(self: socket.socket, address: Any) -> None:
        attempts.append(address)
        raise AssertionError(f"a TCP connection was attempted to {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    with sandbox.client() as client:
        _checkout(client, "ORD-NOTCP")
    assert attempts == []


def test_pagination_walks_every_page(client: Client) -> None:
    ids = [_checkout(client, f"ORD-P{i}").id for i in range(5)]
    page = client.policies.list(limit=2)
    assert len(page.data) == 2 and page.has_more
    assert [p.id for p in client.policies.list(limit=2)] == ids


def test_tenants_see_only_their_own_objects(sandbox: Sandbox) -> None:
    mine, theirs = sandbox.client(), sandbox.client(api_key="yg_test_another_merchant")
    policy = _checkout(mine, "ORD-T1")
    with pytest.raises(yg.NotFoundError):
        theirs.policies.retrieve(policy.id)
    with pytest.raises(yg.NotFoundError):
        theirs.policies.cancel(policy.id)
    assert list(theirs.policies.list()) == []
    assert list(theirs.events.list()) == []


class DropResponseOnce(httpx.BaseTransport):
    """Lets the server commit a request, then loses its response (the first time for each path)."""

    def __init__(self, inner: httpx.BaseTransport, path: str) -> None:
        self.inner, self.path, self.dropped = inner, path, 0
        self.keys: list[str | None] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.method == "POST" and request.url.path == self.path:
            self.keys.append(request.headers.get("idempotency-key"))
            if not self.dropped:
                self.dropped += 1
                raise httpx.ReadError("connection reset after the server committed", request=request)
        return response


def test_bind_whose_response_is_lost_is_retried_into_exactly_one_policy(sandbox: Sandbox) -> None:
    transport = DropResponseOnce(sandbox.transport(), "/v1/policies")
    with sandbox.client(transport=transport) as client:
        client._retry_delay = lambda attempt, outcome: 0.0  # type: ignore[method-assign]
        quote = client.quotes.create(
            product="consumer_installment", merchant_order_id="ORD-LOST", borrower=borrower(), loan=loan()
        )
        policy = client.policies.bind(consent=yg.consent(client, reference="CR-test"), quote_id=quote.id)
        assert transport.dropped == 1
        assert len(transport.keys) == 2 and transport.keys[0] == transport.keys[1]
        assert policy.last_response is not None and policy.last_response.replayed
        assert [p.id for p in client.policies.list(merchant_order_id="ORD-LOST")] == [policy.id]


async def test_fifty_concurrent_binds_with_one_key_make_one_policy(sandbox: Sandbox) -> None:
    async with sandbox.async_client() as client:
        quote = await client.quotes.create(
            product="consumer_installment", merchant_order_id="ORD-50", borrower=borrower(), loan=loan()
        )
        consent = await yg.async_consent(client, reference="CR-test")  # one body for every attempt
        policies = await asyncio.gather(
            *(
                client.policies.bind(
                    consent=consent,
                    quote_id=quote.id,
                    idempotency_key="ORD-50",
                )
                for _ in range(50)
            )
        )
        assert len({p.id for p in policies}) == 1
        assert len([p async for p in client.policies.list()]) == 1


async def test_fifty_concurrent_binds_with_different_keys_make_one_policy_and_49_conflicts(
    sandbox: Sandbox,
) -> None:
    async with sandbox.async_client() as client:
        quote = await client.quotes.create(
            product="consumer_installment", merchant_order_id="ORD-50B", borrower=borrower(), loan=loan()
        )
        consent = await yg.async_consent(client, reference="CR-test")
        results = await asyncio.gather(
            *(client.policies.bind(consent=consent, quote_id=quote.id) for _ in range(50)),
            return_exceptions=True,
        )
        policies = [r for r in results if isinstance(r, yg.types.Policy)]
        conflicts = [r for r in results if isinstance(r, yg.ConflictError)]
        assert len(policies) == 1 and len(conflicts) == 49
        assert all(c.code == "quote_already_bound" and policies[0].id in c.message for c in conflicts)


def test_bind_errors_are_typed(client: Client, sandbox: Sandbox) -> None:
    declined = client.quotes.create(
        product="consumer_installment", merchant_order_id="ORD-D", borrower=borrower(score=500), loan=loan()
    )
    assert declined.decision == "declined" and declined.decline_reason == "credit_score_below_threshold"
    with pytest.raises(yg.ConflictError) as info:
        client.policies.bind(consent=yg.consent(client, reference="CR-test"), quote_id=declined.id)
    assert info.value.code == "quote_not_bindable" and info.value.request_id

    quote = client.quotes.create(
        product="consumer_installment", merchant_order_id="ORD-E", borrower=borrower(), loan=loan()
    )
    client.test_clock.advance(minutes=31)
    with pytest.raises(yg.ConflictError) as expired:
        client.policies.bind(consent=yg.consent(client, reference="CR-test"), quote_id=quote.id)
    assert expired.value.code == "quote_expired"


def test_referred_quote_is_decided_thirty_minutes_later(client: Client) -> None:
    quote = client.quotes.create(
        product="consumer_installment",
        merchant_order_id="ORD-R",
        borrower=borrower(score=None),
        loan=loan("3999.00"),
    )
    assert quote.decision == "referred"
    client.test_clock.advance(minutes=29)
    assert client.quotes.retrieve(quote.id).decision == "referred"
    client.test_clock.advance(minutes=1)
    decided = client.quotes.retrieve(quote.id)
    assert decided.decision == "approved"
    assert [e.type for e in client.events.list(type="quote.decided")] == ["quote.decided"]


def test_cancel_preview_changes_nothing_and_settle_refunds(client: Client) -> None:
    policy = _checkout(client, "ORD-S")
    client.test_clock.advance(days=25)  # past cooling-off, before the first due date
    preview = client.policies.cancel(policy.id, preview=True)
    assert preview.status == "active" and preview.refund is not None
    assert 0 < preview.refund.amount < preview.premium.amount
    assert client.policies.retrieve(policy.id).status == "active"
    settled = client.policies.settle(policy.id)
    assert settled.status == "completed" and settled.refund == preview.refund


def test_clock_is_aware_utc(client: Client) -> None:
    now = client.test_clock.retrieve().now
    assert now == START and now.utcoffset() is not None
    assert client.test_clock.advance(days=1, hours=2).now - now == __import__("datetime").timedelta(
        days=1, hours=2
    )


def test_sqlite_sandbox_survives_reopen(tmp_path: Any) -> None:
    path = str(tmp_path / "sb.sqlite")
    sb = Sandbox(path, now=START)
    with sb.client() as client:
        policy = _checkout(client, "ORD-DUR")
        client.test_clock.advance(hours=3)  # idempotency keys live 24 clock-hours
        events = [e.id for e in client.events.list()]
    sb.close()
    sb2 = Sandbox(path)
    with sb2.client() as client:
        assert client.policies.retrieve(policy.id).status == "active"
        assert [e.id for e in client.events.list()] == events
        assert client.test_clock.retrieve().now == START + __import__("datetime").timedelta(hours=3)
        assert policy.consent is not None  # a replay sends the body of the first call
        again = client.policies.bind(
            consent=yg.consent(
                client, reference="CR-test", acknowledged_at=policy.consent.disclosure_acknowledged_at
            ),
            quote_id=policy.quote_id,
            idempotency_key="ORD-DUR",
        )
        assert again.id == policy.id and again.last_response is not None and again.last_response.replayed
    sb2.close()


# -- over real HTTP ---------------------------------------------------------------------------


def _tenant() -> str:
    return "yg_test_" + uuid.uuid4().hex


def test_sync_checkout_over_http(served_sandbox: str) -> None:
    with Client(api_key=_tenant(), base_url=served_sandbox) as client:
        policy = _checkout(client, "ORD-H1")
        assert policy.last_response is not None and (policy.last_response.request_id or "").startswith("req_")
        assert [p.id for p in client.policies.list()] == [policy.id]


async def test_async_checkout_over_http(served_sandbox: str) -> None:
    async with AsyncClient(api_key=_tenant(), base_url=served_sandbox) as client:
        policies = await asyncio.gather(*(_acheckout(client, f"ORD-HA{i}") for i in range(10)))
        assert len({p.id for p in policies}) == 10


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        ({"product": "consumer_installment"}, 422, "merchant_order_id"),
        (
            {
                "product": "consumer_installment",
                "merchant_order_id": "X",
                "borrower": {
                    "type": "individual",
                    "name": "a",
                    "id_number": "11010519491231003X",
                    "credit_score": 700,
                },
                "loan": {
                    "principal": {"amount": 100000, "currency": "CNY"},
                    "term_months": 12,
                    "annual_rate": "0.1",
                    "first_due_date": "2026-12-25",
                },
            },
            422,
            "borrower.id_number",
        ),
        (
            {
                "product": "consumer_installment",
                "merchant_order_id": "X",
                "borrower": {
                    "type": "individual",
                    "name": "a",
                    "id_number": "11010519491231002X",
                    "credit_score": 700,
                },
                "loan": {
                    "principal": {"amount": 1000.5, "currency": "CNY"},
                    "term_months": 12,
                    "annual_rate": "0.1",
                    "first_due_date": "2026-12-25",
                },
            },
            422,
            "loan.principal",
        ),
        (
            {
                "product": "consumer_installment",
                "merchant_order_id": "X",
                "borrower": {
                    "type": "individual",
                    "name": "a",
                    "id_number": "11010519491231002X",
                    "credit_score": 700,
                },
                "loan": {
                    "principal": {"amount": 100000, "currency": "CNY"},
                    "term_months": 12,
                    "annual_rate": "0.1",
                    "first_due_date": "2026-12-25",
                },
                "surprise": 1,
            },
            422,
            "surprise",
        ),
    ],
)
def test_bad_input_over_http_gets_a_typed_error_naming_the_field(
    served_sandbox: str, body: dict[str, Any], status: int, param: str
) -> None:
    response = httpx.post(
        f"{served_sandbox}/v1/quotes", json=body, headers={"Authorization": f"Bearer {_tenant()}"}
    )
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["param"] == param and error["request_id"] == response.headers["request-id"]
    assert "11010519491231" not in response.text


def test_malformed_json_and_live_keys_over_http(served_sandbox: str) -> None:
    bad = httpx.post(
        f"{served_sandbox}/v1/quotes",
        content=b"{not json",
        headers={"Authorization": f"Bearer {_tenant()}", "Content-Type": "application/json"},
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_json"
    live = httpx.get(f"{served_sandbox}/v1/policies", headers={"Authorization": "Bearer yg_live_abcdefgh"})
    assert live.status_code == 401
    assert live.headers["yangguang-version"] == "2026-11-29"


def test_closing_one_sandbox_client_leaves_the_others_working(sandbox: Sandbox) -> None:
    first, second = sandbox.client(), sandbox.client()
    _checkout(first, "ORD-C1")
    shared = sandbox.transport()
    loop = shared._thread._loop  # type: ignore[attr-defined]
    first.close()
    assert shared._thread._loop is loop is not None  # type: ignore[attr-defined]  # still running
    assert [p.merchant_order_id for p in second.policies.list()] == ["ORD-C1"]
    second.close()


def test_events_list_resumes_after_a_given_event(client: Client) -> None:
    _checkout(client, "ORD-EV1")
    _checkout(client, "ORD-EV2")
    events = [e.id for e in client.events.list()]
    assert len(events) >= 2
    assert [e.id for e in client.events.list(starting_after=events[0])] == events[1:]
    with pytest.raises(yg.ParameterError) as info:
        client.events.list(starting_after="pol_123")
    assert info.value.param == "starting_after"


def test_an_unexpected_sandbox_failure_is_a_typed_500_not_a_raw_exception(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug in the sandbox")

    monkeypatch.setattr(sandbox.engine, "get_quote", broken)
    with sandbox.client(max_retries=0) as client, pytest.raises(yg.InternalServerError) as info:
        client.quotes.retrieve("quo_abc")
    assert info.value.status_code == 500 and info.value.code == "internal_error"
    assert info.value.request_id and info.value.request_id.startswith("req_")


def test_sdk_child_loggers_mask_personal_data(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from yangguang_sdk._logs import get_logger

    with caplog.at_level(logging.INFO):
        get_logger("yangguang_sdk.webhooks").info("phone 13800138000 id 11010519491231002X")
    assert "13800138000" not in caplog.text and "11010519491231002X" not in caplog.text
    assert "138****8000" in caplog.text
