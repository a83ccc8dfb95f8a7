"""Hostile client inputs: floats for money, naive datetimes, huge strings, wrong checksums, typos,
path tricks, out-of-range limits. What the SDK can check is refused with a ``ParameterError``
naming the field and nothing is sent; what only the insurer knows comes back as a typed API error
naming the field. Sent raw, past the SDK, the same inputs get 400/422 naming the field, never a 5xx,
and nothing is written on the insurer's side.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

import yangguang_sdk as yg
from yangguang_sdk import Client, Money
from yangguang_sdk.sandbox import Sandbox
from yangguang_sdk.sandbox.app import SANDBOX_BASE_URL
from yangguang_sdk.testing import BANK

from .conftest import (
    API_KEY,
    ID_NUMBER,
    START,
    USCC,
    RecordingTransport,
    SecretGuard,
    borrower,
    enterprise,
    loan,
)

UTC = dt.timezone.utc
BAD_CHECKSUM_ID = ID_NUMBER[:-1] + "3"  # 11010519491231003: the check character does not match
BAD_BIRTH_DATE_ID = "110105194902300020"  # a valid check character, but 1949-02-30
BAD_CHECKSUM_USCC = USCC[:-1] + "M"


@dataclass
class World:
    """A sandbox holding one bound policy and one approved, unbound quote."""

    sb: Sandbox
    policy: yg.types.Policy
    open_quote_id: str

    @property
    def due(self) -> Money:
        return self.policy.installments[0].amount


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    sb = Sandbox(now=START, api_key=API_KEY)
    with sb.client() as client:
        bound = client.quotes.create(
            product="consumer_installment", merchant_order_id="ORD-BOUND", borrower=borrower(), loan=loan()
        )
        policy = client.policies.bind(consent=yg.consent(client, reference="CR-test"), quote_id=bound.id)
        open_quote = client.quotes.create(
            product="consumer_installment", merchant_order_id="ORD-OPEN", borrower=borrower(), loan=loan()
        )
    yield World(sb, policy, open_quote.id)
    sb.close()


def _snapshot(sb: Sandbox) -> dict[str, Any]:
    """Everything the tenant has on the insurer's side: records as stored, and the public lists."""
    store = sb.engine._store
    stored = {
        table: json.dumps(store.scan(table, API_KEY), sort_keys=True, default=str)
        for table in ("quotes", "policies", "repayments", "claims", "events", "journal")
    }
    with sb.client() as clean:
        listed = {
            "policies": [p.id for p in clean.policies.list(limit=100)],
            "repayments": [r.id for r in clean.repayments.list(limit=100)],
            "claims": [c.id for c in clean.claims.list(limit=100)],
            "events": [e.id for e in clean.events.list(limit=100)],
            "webhook_endpoints": [w.id for w in clean.webhook_endpoints.list(limit=100)],
        }
    return {"stored": stored, "listed": listed}


def _quote(client: Client, **over: Any) -> Any:
    args: dict[str, Any] = {
        "product": "consumer_installment",
        "merchant_order_id": "ORD-HOSTILE",
        "borrower": borrower(),
        "loan": loan(),
    }
    args.update(over)
    return client.quotes.create(**args)


def _repay(client: Client, w: World, **over: Any) -> Any:
    args: dict[str, Any] = {
        "policy_id": w.policy.id,
        "installment": 1,
        "amount": w.due,
        "paid_at": dt.datetime(2026, 12, 20, 10, 0, tzinfo=UTC),
    }
    args.update(over)
    return client.repayments.create(**args)


Call = Callable[[Client, World], Any]


def case(call: Call, param: str, id: str) -> Any:
    return pytest.param(call, param, id=id)


# -- what the SDK refuses before sending ----------------------------------------------------------

CLIENT_SIDE = [
    # money
    case(lambda c, w: _quote(c, loan=loan(principal=1299.0)), "loan.principal", "float-principal"),
    case(lambda c, w: _quote(c, loan=loan(principal={"amount": 12.5})), "loan.principal", "float-amount"),
    case(
        lambda c, w: _quote(c, loan=loan(principal={"amount": 1299.0, "currency": "CNY"})),
        "loan.principal",
        "whole-float-amount",
    ),
    case(lambda c, w: _quote(c, loan=loan(principal="1299.00")), "loan.principal", "string-principal"),
    case(lambda c, w: _quote(c, loan=loan(principal=Money.cny(0))), "loan.principal", "zero-principal"),
    case(
        lambda c, w: _quote(c, loan=loan(principal=Money.cny("-1299.00"))),
        "loan.principal",
        "negative-principal",
    ),
    case(lambda c, w: _quote(c, loan=loan(annual_rate=0.12)), "loan.annual_rate", "float-rate"),
    case(lambda c, w: _repay(c, w, amount=1154.95), "amount", "float-repayment"),
    # types: the models are strict
    case(lambda c, w: _quote(c, loan=loan(term_months="12")), "loan.term_months", "string-term"),
    case(lambda c, w: _quote(c, loan=loan(term_months=True)), "loan.term_months", "bool-term"),
    case(lambda c, w: _quote(c, loan=loan(term_months=12.0)), "loan.term_months", "float-term"),
    case(lambda c, w: _quote(c, borrower=borrower(credit_score=True)), "borrower.credit_score", "bool-score"),
    case(
        lambda c, w: _quote(c, borrower=borrower(credit_score="720")), "borrower.credit_score", "string-score"
    ),
    case(lambda c, w: _quote(c, borrower=borrower(credit_score=900)), "borrower.credit_score", "score-900"),
    case(lambda c, w: _repay(c, w, installment=True), "installment", "bool-installment"),
    case(lambda c, w: _repay(c, w, installment=0), "installment", "installment-0"),
    case(lambda c, w: _quote(c, borrower="张三"), "borrower", "borrower-not-an-object"),
    # naive datetimes
    case(lambda c, w: _repay(c, w, paid_at=dt.datetime(2026, 12, 20, 10, 0)), "paid_at", "naive-paid_at"),
    case(lambda c, w: _repay(c, w, paid_at="2026-12-20T10:00:00"), "paid_at", "naive-paid_at-string"),
    case(
        lambda c, w: list(c.policies.list(created_gte=dt.datetime(2026, 11, 1))),
        "created_gte",
        "naive-created_gte",
    ),
    case(
        lambda c, w: list(c.events.list(created_gte=dt.datetime(2026, 11, 1))),
        "created_gte",
        "naive-events-gte",
    ),
    case(lambda c, w: list(c.events.list(created_gte="2026-11-01")), "created_gte", "string-created_gte"),  # type: ignore[arg-type]
    # huge and odd strings
    case(lambda c, w: _quote(c, merchant_order_id="O" * 10**6), "merchant_order_id", "order-id-1e6"),
    case(lambda c, w: _quote(c, merchant_order_id=""), "merchant_order_id", "order-id-empty"),
    case(lambda c, w: _quote(c, merchant_order_id="ORD\n1"), "merchant_order_id", "order-id-newline"),
    case(lambda c, w: _quote(c, borrower=borrower(name="张" * 10**5)), "borrower.name", "name-1e5"),
    case(lambda c, w: _quote(c, borrower=borrower(name="")), "borrower.name", "name-empty"),
    case(lambda c, w: c.policies.cancel(w.policy.id, reason="r" * 10**5), "reason", "reason-1e5"),
    case(lambda c, w: c.policies.cancel(w.policy.id, reason=""), "reason", "reason-empty"),
    # the product table's rules (types/products.py), known to the SDK
    case(
        lambda c, w: _quote(c, product="sme_loan", beneficiary=BANK, loan=loan(principal=Money.cny(50_000))),
        "borrower.type",
        "individual-for-sme_loan",
    ),
    case(
        lambda c, w: _quote(c, borrower=enterprise()), "borrower.type", "enterprise-for-consumer_installment"
    ),
    case(
        lambda c, w: _quote(
            c, product="sme_loan", borrower=enterprise(), loan=loan(principal=Money.cny(50_000))
        ),
        "beneficiary",
        "sme_loan-without-beneficiary",
    ),
    case(
        lambda c, w: _quote(c, loan=loan(repayment_method="interest_first")),
        "loan.repayment_method",
        "method",
    ),
    case(
        lambda c, w: _quote(c, product="auto_installment", loan=loan(principal=Money.cny(50_000))),
        "vehicle",
        "auto-without-vehicle",
    ),
    case(
        lambda c, w: _quote(
            c,
            product="auto_installment",
            vehicle={"vin": "LSVAU2181N2183294"},
            loan=loan(principal=Money.cny(50_000)),
        ),
        "vehicle.vin",
        "vin-check-digit",
    ),
    case(
        lambda c, w: _quote(c, beneficiary={"type": "enterprise", "name": "x", "uscc": USCC}),
        "beneficiary.type",
        "creditor-off-contract",
    ),
    # identity numbers
    case(
        lambda c, w: _quote(c, borrower=borrower(id_number=BAD_CHECKSUM_ID)),
        "borrower.id_number",
        "id-checksum",
    ),
    case(
        lambda c, w: _quote(c, borrower=borrower(id_number=BAD_BIRTH_DATE_ID)),
        "borrower.id_number",
        "id-birth-date",
    ),
    case(
        lambda c, w: _quote(c, borrower=borrower(id_number=ID_NUMBER[:-1])),
        "borrower.id_number",
        "id-17-chars",
    ),
    case(
        lambda c, w: _quote(c, product="sme_loan", borrower=enterprise(uscc=BAD_CHECKSUM_USCC)),
        "borrower.uscc",
        "uscc-checksum",
    ),
    case(
        lambda c, w: _quote(c, product="sme_loan", borrower=enterprise(uscc="O" + USCC[1:])),
        "borrower.uscc",
        "uscc-letter-O",
    ),
    case(lambda c, w: _quote(c, borrower=borrower(phone="1380013800")), "borrower.phone", "phone-10-digits"),
    # unknown names and typos
    case(lambda c, w: _quote(c, product="car_loan"), "product", "unknown-product"),
    case(lambda c, w: _quote(c, idempotencykey="ORD-1"), "idempotencykey", "unknown-option"),
    case(
        lambda c, w: _quote(c, borrower={**borrower(credit_score=None), "credit_scor": 720}),
        "borrower.credit_scor",
        "borrower-typo",
    ),
    case(
        lambda c, w: _quote(
            c, loan={**{k: v for k, v in loan().items() if k != "principal"}, "principle": Money.cny(1)}
        ),
        "loan.principle",
        "loan-typo",
    ),
    case(lambda c, w: _quote(c, borrower=borrower(type="company")), "borrower", "borrower-type-unknown"),
    case(
        lambda c, w: _quote(c, loan=loan(first_due_date="2026-02-30")),
        "loan.first_due_date",
        "due-date-feb-30",
    ),
    case(
        lambda c, w: c.policies.settle(w.policy.id, settled_on="2026-13-01"), "settled_on", "settle-month-13"
    ),
    # dates and times outside 2000-01-01 ... 2199-12-31 (the models' range, DESIGN §7.2)
    case(
        lambda c, w: _quote(c, loan=loan(first_due_date="9999-12-31")),
        "loan.first_due_date",
        "first-due-date-year-9999",
    ),
    case(lambda c, w: c.policies.settle(w.policy.id, settled_on="1999-12-31"), "settled_on", "settle-1999"),
    case(
        lambda c, w: c.repayments.create(
            policy_id=w.policy.id, installment=1, amount=w.due, paid_at=dt.datetime(999, 1, 1, tzinfo=UTC)
        ),
        "paid_at",
        "paid-at-year-999",
    ),
    case(
        lambda c, w: _repay(c, w, paid_at=dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))),
        "paid_at",
        "paid_at-before-year-1-in-utc",
    ),
    case(lambda c, w: c.webhook_endpoints.create(url="javascript:alert(1)"), "url", "webhook-url-scheme"),
    case(
        lambda c, w: c.webhook_endpoints.create(url="https://x.test/h", signing="rsa"),  # type: ignore[arg-type]
        "signing",
        "webhook-signing",
    ),
    # ids in paths
    case(lambda c, w: c.policies.retrieve("../../etc"), "policy_id", "path-traversal"),
    case(lambda c, w: c.policies.retrieve(""), "policy_id", "empty-id"),
    case(lambda c, w: c.policies.retrieve(w.open_quote_id), "policy_id", "quote-id-for-policy"),
    case(lambda c, w: c.policies.cancel(f"{w.policy.id}/../../quotes"), "policy_id", "cancel-traversal"),
    case(lambda c, w: c.policies.settle(w.policy.id + "?preview=true"), "policy_id", "settle-query-in-id"),
    case(
        lambda c, w: c.policies.bind(quote_id=w.policy.id),
        "quote_id",
        "policy-id-for-quote",
    ),
    case(lambda c, w: c.claims.retrieve("clm_a?b=c"), "claim_id", "claim-id-query"),
    case(lambda c, w: c.events.retrieve("evt_%2e%2e"), "event_id", "event-id-escaped"),
    case(lambda c, w: c.quotes.retrieve("quo_" + "a" * 100), "quote_id", "id-too-long"),
    case(lambda c, w: list(c.repayments.list(policy_id="../x")), "policy_id", "filter-traversal"),
    # list limits
    case(lambda c, w: c.policies.list(limit=0), "limit", "limit-0"),
    case(lambda c, w: c.policies.list(limit=101), "limit", "limit-101"),
    case(lambda c, w: c.events.list(limit=True), "limit", "limit-bool"),
    case(lambda c, w: c.claims.list(limit="10"), "limit", "limit-string"),  # type: ignore[arg-type]
    # per-call options
    case(lambda c, w: _quote(c, idempotency_key=""), "idempotency_key", "empty-key"),
    case(lambda c, w: _quote(c, idempotency_key="k" * 256), "idempotency_key", "key-256"),
    case(lambda c, w: _quote(c, deadline=0), "deadline", "deadline-0"),
    case(lambda c, w: c.test_clock.advance(days=-1), "days", "advance-negative"),
    case(lambda c, w: c.test_clock.advance(days=1.5), "days", "advance-float"),  # type: ignore[arg-type]
]


@pytest.fixture
def recorder(world: World) -> Iterator[tuple[Client, RecordingTransport]]:
    transport = RecordingTransport(world.sb.transport())
    client = world.sb.client(transport=transport, max_retries=0)
    yield client, transport
    client.close()


@pytest.mark.parametrize(("call", "param"), CLIENT_SIDE)
def test_client_side_checkable_input_is_refused_before_anything_is_sent(
    world: World,
    recorder: tuple[Client, RecordingTransport],
    secret_guard: SecretGuard,
    call: Call,
    param: str,
) -> None:
    client, transport = recorder
    before = _snapshot(world.sb)
    with pytest.raises(yg.ParameterError) as info:
        call(client, world)
    assert info.value.param == param
    assert isinstance(info.value, yg.YangguangError) and isinstance(info.value, ValueError)
    assert transport.requests == []
    secret_guard.assert_clean(str(info.value), repr(info.value))
    assert len(str(info.value)) < 500  # a message, not the input echoed back
    assert _snapshot(world.sb) == before


@pytest.mark.parametrize(
    "make",
    [
        lambda: Money.cny(1.5),  # type: ignore[arg-type]
        lambda: Money.cny(1299.0),  # type: ignore[arg-type]
        lambda: Money(12.5),  # type: ignore[arg-type]
        lambda: Money.of(0.1, "CNY"),  # type: ignore[arg-type]
        lambda: Money.from_decimal(1.5),  # type: ignore[arg-type]
    ],
    ids=["cny-1.5", "cny-whole-float", "minor-units-float", "of-float", "from_decimal-float"],
)
def test_money_cannot_even_be_built_from_a_float(make: Callable[[], Money]) -> None:
    """Money refuses floats at construction, with a TypeError saying what to pass instead (this is
    Money's own contract, outside the YangguangError tree; nothing can be sent with it)."""
    with pytest.raises(TypeError, match="float"):
        make()


# -- what only the insurer can tell ---------------------------------------------------------------

SERVER_SIDE = [
    pytest.param(
        lambda c, w: _quote(c, loan=loan(first_due_date="2026-11-01")),
        yg.InvalidRequestError,
        "loan.first_due_date",
        id="first-due-date-in-the-past",
    ),
    pytest.param(
        lambda c, w: _quote(c, loan=loan(principal=Money(10**300))),
        yg.InvalidRequestError,
        "loan.principal",
        id="principal-1e300-fen",
    ),
    pytest.param(
        lambda c, w: _repay(c, w, installment=13),
        yg.InvalidRequestError,
        "installment",
        id="installment-13-of-12",
    ),
    pytest.param(
        lambda c, w: _repay(c, w, amount=Money(w.due.amount + 1)),
        yg.InvalidRequestError,
        "amount",
        id="repayment-amount-off-by-a-fen",
    ),
    pytest.param(
        lambda c, w: c.policies.settle(w.policy.id, settled_on="2026-01-01"),
        yg.InvalidRequestError,
        "settled_on",
        id="settled-before-bind",
    ),
    pytest.param(
        lambda c, w: list(c.policies.list(status="bogus")),
        yg.InvalidRequestError,
        "status",
        id="unknown-status-filter",
    ),
    pytest.param(
        lambda c, w: list(c.events.list(type="policy.exploded")),
        yg.InvalidRequestError,
        "type",
        id="unknown-event-type",
    ),
    pytest.param(
        lambda c, w: list(c.policies.list(merchant_order_id="O" * 1000)),
        yg.InvalidRequestError,
        "merchant_order_id",
        id="huge-order-id-filter",
    ),
    pytest.param(
        lambda c, w: c.policies.bind(quote_id="quo_doesnotexist"),
        yg.NotFoundError,
        "quote_id",
        id="unknown-quote",
    ),
    pytest.param(
        lambda c, w: c.policies.retrieve("pol_doesnotexist"), yg.NotFoundError, None, id="unknown-policy"
    ),
]


@pytest.mark.parametrize(("call", "error", "param"), SERVER_SIDE)
def test_input_only_the_insurer_can_judge_gets_a_typed_error_naming_the_field_and_writes_nothing(
    world: World,
    recorder: tuple[Client, RecordingTransport],
    secret_guard: SecretGuard,
    call: Call,
    error: type[yg.APIStatusError],
    param: str | None,
) -> None:
    client, transport = recorder
    before = _snapshot(world.sb)
    with pytest.raises(error) as info:
        call(client, world)
    assert info.value.param == param
    assert info.value.request_id and info.value.request_id.startswith("req_")
    assert len(transport.requests) == 1  # a 4xx is final: not retried
    secret_guard.assert_clean(str(info.value), repr(info.value))
    assert _snapshot(world.sb) == before


# -- the same, raw, past the SDK ------------------------------------------------------------------

_DROP = object()


def _wire_quote(**changes: Any) -> dict[str, Any]:
    """A valid POST /v1/quotes body with ``changes`` applied (keys like "loan.principal")."""
    body: dict[str, Any] = {
        "product": "consumer_installment",
        "merchant_order_id": "ORD-RAW",
        "borrower": {
            "type": "individual",
            "name": "张三",
            "id_number": ID_NUMBER,
            "phone": "13800138000",
            "credit_score": 720,
        },
        "loan": {
            "principal": {"amount": 1299900, "currency": "CNY"},
            "term_months": 12,
            "annual_rate": "0.12",
            "first_due_date": "2026-12-25",
        },
    }
    for dotted, value in changes.items():
        *parents, name = dotted.split(".")
        target = body
        for part in parents:
            target = target[part]
        if value is _DROP:
            del target[name]
        else:
            target[name] = value
    return body


def _wire_repayment(w: World, **changes: Any) -> dict[str, Any]:
    body = {
        "policy_id": w.policy.id,
        "installment": 1,
        "amount": {"amount": w.due.amount, "currency": "CNY"},
        "paid_at": "2026-12-20T10:00:00Z",
    }
    body.update(changes)
    return body


@dataclass
class Raw:
    """One raw request: method, path (``{policy}`` / ``{quote}`` filled in), JSON body or bytes."""

    method: str
    path: str
    json: Any = None
    content: bytes | None = None
    params: dict[str, str] | None = None
    headers: dict[str, str] | None = None


def raw(request: Callable[[World], Raw], status: int, param: str | None, id: str) -> Any:
    return pytest.param(request, status, param, id=id)


def _q(**changes: Any) -> Callable[[World], Raw]:
    return lambda w: Raw("POST", "/v1/quotes", json=_wire_quote(**changes))


def _r(**changes: Any) -> Callable[[World], Raw]:
    return lambda w: Raw("POST", "/v1/repayments", json=_wire_repayment(w, **changes))


RAW = [
    # money
    raw(_q(**{"loan.principal": 1299.0}), 422, "loan.principal", "float-principal"),
    raw(_q(**{"loan.principal": {"amount": 12.5}}), 422, "loan.principal", "float-amount"),
    raw(
        _q(**{"loan.principal": {"amount": 1299.0, "currency": "CNY"}}), 422, "loan.principal", "whole-float"
    ),
    raw(_q(**{"loan.principal": {"amount": "1299900"}}), 422, "loan.principal", "string-amount"),
    raw(_q(**{"loan.principal": {"amount": 0}}), 422, "loan.principal", "zero-principal"),
    raw(_q(**{"loan.principal": {"amount": -1299900}}), 422, "loan.principal", "negative-principal"),
    raw(_q(**{"loan.principal": {"amount": 10**300}}), 422, "loan.principal", "principal-1e300"),
    raw(
        _q(**{"loan.principal": {"amount": 1, "currency": "BTC"}}), 422, "loan.principal", "unknown-currency"
    ),
    raw(_q(**{"loan.annual_rate": 0.12}), 422, "loan.annual_rate", "float-rate"),
    raw(_q(**{"loan.annual_rate": "NaN"}), 422, "loan.annual_rate", "nan-rate"),
    raw(_q(**{"loan.annual_rate": "1e999999"}), 422, "loan.annual_rate", "huge-rate"),
    raw(_r(amount={"amount": 1154.95}), 422, "amount", "float-repayment"),
    # types
    raw(_q(**{"loan.term_months": "12"}), 422, "loan.term_months", "string-term"),
    raw(_q(**{"loan.term_months": True}), 422, "loan.term_months", "bool-term"),
    raw(_q(**{"loan.term_months": 12.0}), 422, "loan.term_months", "float-term"),
    raw(_q(**{"borrower.credit_score": True}), 422, "borrower.credit_score", "bool-score"),
    raw(_q(**{"borrower.credit_score": "720"}), 422, "borrower.credit_score", "string-score"),
    raw(_q(**{"borrower.credit_score": 900}), 422, "borrower.credit_score", "score-900"),
    raw(_q(borrower="张三"), 422, "borrower", "borrower-not-an-object"),
    raw(_r(installment=True), 422, "installment", "bool-installment"),
    raw(_r(installment=13), 422, "installment", "installment-13-of-12"),
    # datetimes
    raw(_r(paid_at="2026-12-20T10:00:00"), 422, "paid_at", "naive-paid_at"),
    raw(_r(paid_at="0001-01-01T00:00:00+08:00"), 422, "paid_at", "paid_at-out-of-range"),
    raw(
        lambda w: Raw("GET", "/v1/policies", params={"created_gte": "2026-11-01T00:00:00"}),
        422,
        "created_gte",
        "naive-created_gte",
    ),
    raw(
        lambda w: Raw("GET", "/v1/events", params={"created_gte": "2026-11-01T00:00:00"}),
        422,
        "created_gte",
        "naive-events-gte",
    ),
    raw(_q(**{"loan.first_due_date": "2026-02-30"}), 422, "loan.first_due_date", "due-date-feb-30"),
    raw(_q(**{"loan.first_due_date": "9999-12-31"}), 422, "loan.first_due_date", "due-date-9999"),
    raw(_q(**{"loan.first_due_date": "2026-11-01"}), 422, "loan.first_due_date", "due-date-past"),
    # huge strings
    raw(_q(merchant_order_id="O" * 10**6), 422, "merchant_order_id", "order-id-1e6"),
    raw(_q(merchant_order_id=""), 422, "merchant_order_id", "order-id-empty"),
    raw(_q(merchant_order_id="ORD\n1"), 422, "merchant_order_id", "order-id-newline"),
    raw(_q(**{"borrower.name": "张" * 10**5}), 422, "borrower.name", "name-1e5"),
    raw(
        lambda w: Raw("POST", f"/v1/policies/{w.policy.id}/cancel", json={"reason": "r" * 10**5}),
        422,
        "reason",
        "reason-1e5",
    ),
    # identity numbers
    raw(_q(**{"borrower.id_number": BAD_CHECKSUM_ID}), 422, "borrower.id_number", "id-checksum"),
    raw(_q(**{"borrower.id_number": BAD_BIRTH_DATE_ID}), 422, "borrower.id_number", "id-birth-date"),
    raw(_q(**{"borrower.id_number": 110105194912310020}), 422, "borrower.id_number", "id-as-number"),
    raw(
        _q(product="sme_loan", borrower={"type": "enterprise", "name": "x", "uscc": BAD_CHECKSUM_USCC}),
        422,
        "borrower.uscc",
        "uscc-checksum",
    ),
    raw(_q(**{"borrower.phone": "1380013800"}), 422, "borrower.phone", "phone-10-digits"),
    # unknown names, typos, product mismatch
    raw(_q(product="car_loan"), 422, "product", "unknown-product"),
    raw(_q(surprise=1), 422, "surprise", "unknown-field"),
    raw(_q(**{"borrower.credit_scor": 720}), 422, "borrower.credit_scor", "borrower-typo"),
    # the SDK names the typo ("did you mean 'principal'?"); the server names the missing field
    raw(_q(**{"loan.principal": _DROP, "loan.principle": {"amount": 1}}), 422, "loan.principal", "loan-typo"),
    raw(_q(**{"borrower.type": "company"}), 422, "borrower", "borrower-type-unknown"),
    raw(_q(product="sme_loan"), 422, "borrower.type", "individual-for-sme_loan"),
    raw(
        _q(product="sme_loan", borrower={"type": "enterprise", "name": "x", "uscc": USCC}),
        422,
        "beneficiary",
        "sme_loan-without-beneficiary",
    ),
    raw(
        _q(**{"loan.repayment_method": "interest_first"}), 422, "loan.repayment_method", "method-not-offered"
    ),
    raw(
        _q(product="auto_installment", vehicle={"vin": "LSVAU2181N2183294"}), 422, "vehicle.vin", "vin-check"
    ),
    # structure
    raw(lambda w: Raw("POST", "/v1/quotes", json=[1, 2]), 400, None, "array-body"),
    raw(lambda w: Raw("POST", "/v1/quotes", json="quote"), 400, None, "string-body"),
    raw(lambda w: Raw("POST", "/v1/quotes", content=b"{not json"), 400, None, "not-json"),
    raw(lambda w: Raw("POST", "/v1/quotes", content=b""), 400, None, "empty-body"),
    raw(
        lambda w: Raw("POST", "/v1/quotes", content=b"[" * 100_000 + b"]" * 100_000),
        400,
        None,
        "deep-nesting",
    ),
    raw(
        lambda w: Raw(
            "POST", "/v1/quotes", content=b'{"loan": {"principal": {"amount": 1' + b"0" * 5000 + b"}}}"
        ),
        400,
        None,
        "5000-digit-int",
    ),
    raw(
        lambda w: Raw("POST", "/v1/quotes", json=_wire_quote(), headers={"Idempotency-Key": "k" * 300}),
        422,
        "Idempotency-Key",
        "key-300",
    ),
    # paths and queries
    raw(lambda w: Raw("GET", "/v1/policies/..%2F..%2Fetc"), 404, None, "path-traversal"),
    raw(lambda w: Raw("GET", f"/v1/policies/{w.open_quote_id}"), 404, None, "quote-id-for-policy"),
    raw(
        lambda w: Raw("POST", f"/v1/policies/{w.open_quote_id}/cancel", json={}), 404, None, "cancel-a-quote"
    ),
    raw(lambda w: Raw("GET", "/v1/policies/pol_" + "a" * 100), 422, "policy_id", "id-too-long"),
    raw(lambda w: Raw("GET", "/v1/policies/pol-semicolon;drop"), 422, "policy_id", "id-bad-characters"),
    raw(lambda w: Raw("GET", "/v1/policies", params={"limit": "0"}), 422, "limit", "limit-0"),
    raw(lambda w: Raw("GET", "/v1/policies", params={"limit": "101"}), 422, "limit", "limit-101"),
    raw(lambda w: Raw("GET", "/v1/policies", params={"limit": "true"}), 422, "limit", "limit-bool"),
    raw(lambda w: Raw("GET", "/v1/events", params={"limit": "1e2"}), 422, "limit", "limit-exponent"),
    raw(lambda w: Raw("GET", "/v1/policies", params={"status": "bogus"}), 422, "status", "unknown-status"),
    raw(lambda w: Raw("GET", "/v1/events", params={"type": "policy.exploded"}), 422, "type", "unknown-type"),
    raw(
        lambda w: Raw("GET", "/v1/policies", params={"starting_after": "pol_nope"}),
        422,
        "starting_after",
        "unknown-cursor",
    ),
    raw(
        lambda w: Raw("POST", f"/v1/policies/{w.policy.id}/settle", json={"settled_on": "2026-13-01"}),
        422,
        "settled_on",
        "settle-month-13",
    ),
    raw(
        lambda w: Raw("POST", "/v1/test_clock/advance", json={"days": -1}),
        422,
        "days",
        "advance-negative",
    ),
]


@pytest.fixture
def raw_http(world: World) -> Iterator[httpx.Client]:
    with httpx.Client(
        transport=world.sb.transport(),
        base_url=SANDBOX_BASE_URL,
        headers={"Authorization": f"Bearer {API_KEY}"},
    ) as http:
        yield http


@pytest.mark.parametrize(("request_for", "status", "param"), RAW)
def test_raw_hostile_requests_get_4xx_naming_the_field_never_5xx_and_write_nothing(
    world: World,
    raw_http: httpx.Client,
    request_for: Callable[[World], Raw],
    status: int,
    param: str | None,
) -> None:
    spec = request_for(world)
    before = _snapshot(world.sb)
    headers = dict(spec.headers or {})
    if spec.content is not None:
        headers["Content-Type"] = "application/json"
    response = raw_http.request(
        spec.method, spec.path, json=spec.json, content=spec.content, params=spec.params, headers=headers
    )
    assert response.status_code < 500
    assert response.status_code == status, response.text[:300]
    error = response.json()["error"]
    assert error["param"] == param
    assert error["request_id"] == response.headers["request-id"]
    assert error["type"] and error["code"] and error["message"]
    assert _snapshot(world.sb) == before
