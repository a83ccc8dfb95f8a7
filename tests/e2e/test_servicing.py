"""Servicing and claims through the SDK: repayments, overdue and cure, default, claims, events."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import httpx
import pytest

import yangguang_sdk as yg
from yangguang_sdk import Client, Money, testing
from yangguang_sdk.sandbox import Sandbox
from yangguang_sdk.types import ClaimEvent, Installment, Policy, Quote, StatementEvent
from yangguang_sdk.types.quote import ProductName

from .conftest import borrower, loan

UTC = dt.timezone.utc
DAY = dt.timedelta(days=1)
FIRST_DUE = "2027-01-15"
WAITING: dict[str, int] = {"platform_loan": 80, "sme_loan": 90}
DEDUCTIBLE = {"platform_loan": Decimal("0"), "sme_loan": Decimal("0.10")}
LGD = {"platform_loan": Decimal("0.80"), "sme_loan": Decimal("0.60")}


def company(score: int = 700) -> dict[str, object]:
    return {
        "type": "enterprise",
        "name": "北京晨光科技有限公司",
        "uscc": "91110000600037341L",
        "credit_score": score,
    }


def quote_and_bind(
    client: Client,
    order: str,
    *,
    product: ProductName = "platform_loan",
    principal: str = "12000.00",
    months: int = 12,
    rate: str = "0.10",
    first_due: str = FIRST_DUE,
) -> tuple[Quote, Policy]:
    quote = client.quotes.create(
        product=product,
        merchant_order_id=order,
        borrower=company() if product == "sme_loan" else borrower(),
        beneficiary=testing.BANK,
        loan=loan(principal, months, rate, first_due),
    )
    assert quote.decision == "approved", quote.decline_reason
    return quote, client.policies.bind(
        consent=yg.consent(client, reference="CR-test"), quote_id=quote.id, idempotency_key=order
    )


def pay(client: Client, policy: Policy, number: int) -> yg.types.Repayment:
    return client.repayments.create(
        policy_id=policy.id,
        installment=number,
        amount=policy.installments[number - 1].amount,
        paid_at=client.test_clock.retrieve().now,
    )


def advance_to(client: Client, when: dt.datetime) -> None:
    delta = when - client.test_clock.retrieve().now
    minutes, rest = divmod(int(delta.total_seconds()), 60)
    assert rest == 0 and minutes > 0, delta
    client.test_clock.advance(minutes=minutes)


def midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=UTC)


def expected_claim(schedule: list[Installment], paid: int, day_d: dt.date, deductible: Decimal) -> Money:
    """DESIGN §4 written out again: the principal of every unpaid installment, plus the interest of
    those due on or before D, × (1 − deductible), capped at the sum insured, half-up to the fen."""
    unpaid = schedule[paid:]
    base = sum(i.principal.amount for i in unpaid) + sum(
        i.interest.amount for i in unpaid if i.due_date <= day_d
    )
    sum_insured = sum(i.amount.amount for i in schedule)
    amount = min(Decimal(base) * (1 - deductible), Decimal(sum_insured))
    return Money(int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP)))


def event_types(client: Client) -> list[str]:
    return [e.type for e in client.events.list(limit=100)]


# --- repayments -------------------------------------------------------------------------------------


def test_a_repayment_marks_its_installment_paid(client: Client) -> None:
    _, policy = quote_and_bind(client, "L-1")
    repayment = pay(client, policy, 1)
    assert repayment.id.startswith("rep_") and repayment.policy_id == policy.id
    assert repayment.installment == 1 and repayment.amount == policy.installments[0].amount
    after = client.policies.retrieve(policy.id)
    assert after.installments[0].status == "paid" and after.installments[0].paid_at is not None
    assert [i.status for i in after.installments[1:]] == ["scheduled"] * 11
    assert after.version == policy.version + 1
    assert [r.id for r in client.repayments.list(policy_id=policy.id)] == [repayment.id]
    assert event_types(client) == ["policy.bound", "repayment.created"]


def test_a_retried_repayment_is_recorded_once(client: Client) -> None:
    _, policy = quote_and_bind(client, "L-1")
    first = client.repayments.create(
        policy_id=policy.id,
        installment=1,
        amount=policy.installments[0].amount,
        paid_at=dt.datetime(2026, 12, 1, 9, tzinfo=UTC),
        idempotency_key="L-1-01",
    )
    again = client.repayments.create(
        policy_id=policy.id,
        installment=1,
        amount=policy.installments[0].amount,
        paid_at=dt.datetime(2026, 12, 1, 9, tzinfo=UTC),
        idempotency_key="L-1-01",
    )
    assert again.id == first.id and again.last_response is not None and again.last_response.replayed
    assert len(list(client.repayments.list())) == 1


def _nothing_recorded(client: Client, policy: Policy, events_before: list[str]) -> None:
    assert list(client.repayments.list(policy_id=policy.id)) == []
    assert event_types(client) == events_before
    current = client.policies.retrieve(policy.id)
    assert [i.status for i in current.installments] == [i.status for i in policy.installments]


def test_a_wrong_amount_is_a_typed_422_and_records_nothing(client: Client) -> None:
    _, policy = quote_and_bind(client, "L-1")
    before = event_types(client)
    due = policy.installments[0].amount
    with pytest.raises(yg.InvalidRequestError) as err:
        client.repayments.create(
            policy_id=policy.id, installment=1, amount=due + Money(1), paid_at=dt.datetime.now(UTC)
        )
    assert (err.value.status_code, err.value.code, err.value.param) == (422, "amount_mismatch", "amount")
    assert str(due) in str(err.value)  # the message says what is due
    _nothing_recorded(client, policy, before)


def test_an_unknown_installment_is_a_typed_422_and_records_nothing(client: Client) -> None:
    _, policy = quote_and_bind(client, "L-1", months=6)
    before = event_types(client)
    with pytest.raises(yg.InvalidRequestError) as err:
        client.repayments.create(
            policy_id=policy.id,
            installment=7,
            amount=policy.installments[0].amount,
            paid_at=dt.datetime.now(UTC),
        )
    assert (err.value.status_code, err.value.code, err.value.param) == (
        422,
        "installment_not_found",
        "installment",
    )
    with pytest.raises(yg.ParameterError) as bad:  # caught by the SDK, nothing sent
        client.repayments.create(
            policy_id=policy.id,
            installment=0,
            amount=policy.installments[0].amount,
            paid_at=dt.datetime.now(UTC),
        )
    assert bad.value.param == "installment"
    _nothing_recorded(client, policy, before)


class CountingTransport(httpx.BaseTransport):
    """The sandbox's transport, counting the requests that reach it."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner, self.requests = inner, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        return self.inner.handle_request(request)


@pytest.mark.parametrize("paid_at", [dt.datetime(2027, 1, 15, 9), "2027-01-15T09:00:00", "2027-01-15"])
def test_a_naive_paid_at_is_refused_before_sending(sandbox: Sandbox, paid_at: object) -> None:
    counting = CountingTransport(sandbox.transport())
    with sandbox.client(transport=counting) as client:
        _, policy = quote_and_bind(client, "L-1")
        sent = counting.requests
        with pytest.raises(yg.ParameterError) as err:
            client.repayments.create(
                policy_id=policy.id,
                installment=1,
                amount=policy.installments[0].amount,
                paid_at=paid_at,  # type: ignore[arg-type]
            )
        assert err.value.param == "paid_at" and counting.requests == sent
        assert list(client.repayments.list()) == []


def test_an_unknown_policy_is_a_404(client: Client) -> None:
    with pytest.raises(yg.NotFoundError) as err:
        client.repayments.create(
            policy_id="pol_doesnotexist",
            installment=1,
            amount=Money.cny("100.00"),
            paid_at=dt.datetime.now(UTC),
        )
    assert (err.value.status_code, err.value.param) == (404, "policy_id")
    assert list(client.repayments.list()) == []


def test_paying_an_installment_twice_is_a_409(client: Client) -> None:
    _, policy = quote_and_bind(client, "L-1")
    pay(client, policy, 1)
    before = event_types(client)
    with pytest.raises(yg.ConflictError) as err:
        pay(client, policy, 1)
    assert (err.value.status_code, err.value.code) == (409, "installment_already_paid")
    assert len(list(client.repayments.list(policy_id=policy.id))) == 1
    assert event_types(client) == before


def test_a_cancelled_policy_takes_no_repayments(client: Client) -> None:
    _, policy = quote_and_bind(client, "L-1")
    client.policies.cancel(policy.id, reason="loan_not_disbursed")
    before = event_types(client)
    with pytest.raises(yg.ConflictError) as err:
        pay(client, policy, 1)
    assert (err.value.status_code, err.value.code) == (409, "policy_not_active")
    _nothing_recorded(client, policy, before)


def test_paying_every_installment_completes_the_policy(client: Client) -> None:
    _, policy = quote_and_bind(client, "L-1", months=6)
    for number in range(1, 7):
        pay(client, policy, number)
    done = client.policies.retrieve(policy.id)
    assert done.status == "completed" and done.refund is None and done.completed_at is not None
    assert all(i.status == "paid" and i.days_past_due == 0 for i in done.installments)
    assert event_types(client)[-1] == "policy.completed"
    client.test_clock.advance(days=400)  # nothing is left to go overdue
    assert list(client.claims.list(policy_id=policy.id)) == []
    assert client.policies.retrieve(policy.id).status == "completed"
    with pytest.raises(yg.ConflictError):
        client.policies.cancel(policy.id, reason="too_late")


# --- overdue, cure, default -------------------------------------------------------------------------


def test_installments_show_status_and_days_past_due(client: Client) -> None:
    _, policy = quote_and_bind(client, "L-1")
    first_due = policy.installments[0].due_date
    advance_to(client, midnight(first_due + DAY) - dt.timedelta(minutes=1))
    line = client.policies.retrieve(policy.id).installments[0]
    assert (line.status, line.days_past_due) == ("scheduled", 0)
    client.test_clock.advance(minutes=1)
    line = client.policies.retrieve(policy.id).installments[0]
    assert (line.status, line.days_past_due) == ("overdue", 1)
    client.test_clock.advance(days=9)
    current = client.policies.retrieve(policy.id)
    assert (current.installments[0].status, current.installments[0].days_past_due) == ("overdue", 10)
    assert current.installments[1].status == "scheduled"
    [overdue] = client.events.list(type="installment.overdue")
    assert isinstance(overdue, yg.types.InstallmentEvent)
    assert overdue.installment == 1 and overdue.timestamp == midnight(first_due + DAY)
    assert overdue.data.installments[0].days_past_due == 1  # as of the event's time

    pay(client, policy, 1)  # late: cures it
    cured = client.policies.retrieve(policy.id)
    assert (cured.installments[0].status, cured.installments[0].days_past_due) == ("paid", 0)
    [event] = client.events.list(type="installment.cured")
    assert isinstance(event, yg.types.InstallmentEvent) and event.installment == 1


@pytest.mark.parametrize(
    ("product", "principal", "months", "rate", "paid"),
    [
        ("platform_loan", "12000.00", 12, "0.10", 3),
        ("platform_loan", "5000.00", 6, "0.15", 0),
        # due 2027-01-15 + 90 days = 2027-04-15, the due date of installment 4: its interest counts
        ("sme_loan", "300000.00", 12, "0.08", 0),
        # the claim before rounding is 76,869.225 yuan: half-up gives 76,869.23
        ("sme_loan", "100016.00", 12, "0.08", 2),
    ],
)
def test_a_borrower_who_stops_after_installment_k_is_claimed_on_day_d(
    client: Client, product: ProductName, principal: str, months: int, rate: str, paid: int
) -> None:
    quote, policy = quote_and_bind(
        client, "L-1", product=product, principal=principal, months=months, rate=rate
    )
    assert sum((i.amount for i in quote.schedule), Money.zero()) == quote.sum_insured
    for number in range(1, paid + 1):
        pay(client, policy, number)
    day_d = quote.schedule[paid].due_date + dt.timedelta(days=WAITING[product])
    expected = expected_claim(quote.schedule, paid, day_d, DEDUCTIBLE[product])

    advance_to(client, midnight(day_d) - dt.timedelta(minutes=1))  # the last minute of D − 1
    assert list(client.claims.list(policy_id=policy.id)) == []
    client.test_clock.advance(minutes=1)  # 00:00 on D
    [claim] = client.claims.list(policy_id=policy.id)
    assert claim.status == "open" and claim.opened_at == midnight(day_d)
    assert claim.amount == expected
    assert claim.beneficiary is not None and claim.beneficiary.type == "bank" and claim.paid_to is None
    defaulted = client.policies.retrieve(policy.id)
    assert defaulted.status == "active"  # until the claim is paid
    assert defaulted.installments[paid].days_past_due == WAITING[product]

    client.test_clock.advance(days=4)
    paid_claim = client.claims.retrieve(claim.id)
    assert paid_claim.status == "paid" and paid_claim.paid_at == midnight(day_d + 4 * DAY)
    assert paid_claim.paid_to == paid_claim.beneficiary  # 代偿: the bank named on the quote was paid
    assert paid_claim.paid_to is not None and paid_claim.paid_to.uscc is not None
    assert paid_claim.paid_to.uscc.value == testing.BANK["uscc"]
    assert client.policies.retrieve(policy.id).status == "claimed"
    client.test_clock.advance(days=30)
    recovered = client.claims.retrieve(claim.id)
    recovery = (Decimal(expected.amount) * (1 - LGD[product])).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    assert recovered.recovered == Money(int(recovery))
    assert recovered.recovered_at == midnight(day_d + 34 * DAY)


def test_no_repayment_is_taken_once_the_loan_has_defaulted(client: Client) -> None:
    _, policy = quote_and_bind(client, "L-1", months=6)
    advance_to(client, midnight(policy.installments[0].due_date + dt.timedelta(days=81)))  # D + 1
    [claim] = client.claims.list(policy_id=policy.id)
    assert client.policies.retrieve(policy.id).status == "active"  # defaulted, claim not paid yet
    before = event_types(client)
    with pytest.raises(yg.ConflictError) as err:
        pay(client, policy, 1)
    assert err.value.code == "policy_not_active" and claim.id in str(err.value)
    with pytest.raises(yg.ConflictError) as cancel:
        client.policies.cancel(policy.id, reason="too_late")
    assert cancel.value.code == "policy_claimed" and policy.id in cancel.value.message
    with pytest.raises(yg.ConflictError) as settle:
        client.policies.settle(policy.id)
    assert settle.value.code == "policy_claimed"
    assert event_types(client) == before


def test_a_cure_on_the_last_day_prevents_the_default(client: Client) -> None:
    _, policy = quote_and_bind(client, "L-1", months=6)
    first_due = policy.installments[0].due_date
    day_d = first_due + dt.timedelta(days=80)
    advance_to(client, midnight(day_d) - dt.timedelta(hours=1))  # 23:00 on D − 1
    pay(client, policy, 1)
    client.test_clock.advance(hours=1)
    assert list(client.claims.list(policy_id=policy.id)) == []
    assert "loan.defaulted" not in event_types(client)
    current = client.policies.retrieve(policy.id)
    assert current.status == "active" and current.installments[0].status == "paid"
    # installment 2 was never paid: its own day D comes 80 days after its due date
    second_d = policy.installments[1].due_date + dt.timedelta(days=80)
    advance_to(client, midnight(second_d))
    [claim] = client.claims.list(policy_id=policy.id)
    assert claim.opened_at == midnight(second_d)


# --- events -----------------------------------------------------------------------------------------


def test_claim_events_come_in_order_with_increasing_versions(client: Client) -> None:
    _, policy = quote_and_bind(client, "L-1", months=6)
    pay(client, policy, 1)
    day_d = policy.installments[1].due_date + dt.timedelta(days=80)
    client.test_clock.advance(days=400)
    [claim] = client.claims.list(policy_id=policy.id)
    events = list(client.events.list(limit=7))  # several pages
    about_claim = [e for e in events if isinstance(e, ClaimEvent) and e.data.id == claim.id]
    assert [(e.type, e.data.version, e.timestamp) for e in about_claim] == [
        ("claim.opened", 1, midnight(day_d)),
        ("claim.approved", 2, midnight(day_d + DAY)),
        ("claim.paid", 3, midnight(day_d + 4 * DAY)),
        ("recovery.received", 4, midnight(day_d + 34 * DAY)),
    ]
    assert client.claims.retrieve(claim.id).version == 4
    stamps = [e.timestamp for e in events]
    assert stamps == sorted(stamps)
    last: dict[str, int] = {}
    for event in events:  # every event about an object carries a newer version of it
        if isinstance(event, StatementEvent):  # a month's statement: once, never versioned
            continue
        data = event.data
        object_id = data["id"] if isinstance(data, dict) else data.id
        version = event.object_version
        assert version is not None and version > last.get(object_id, 0), event.type
        last[object_id] = version
    kinds = [e.type for e in events if e.type.startswith(("installment.", "loan.", "claim.", "recovery."))]
    assert kinds[-6:] == [
        "installment.overdue",
        "loan.defaulted",
        "claim.opened",
        "claim.approved",
        "claim.paid",
        "recovery.received",
    ]
    assert client.events.retrieve(about_claim[2].id).type == "claim.paid"


def test_events_filter_by_type_and_time(client: Client) -> None:
    _, early = quote_and_bind(client, "L-1", months=6)
    _, late = quote_and_bind(client, "L-2", months=6, first_due="2027-03-15")
    client.test_clock.advance(days=300)
    claims = {c.policy_id: c for c in client.claims.list()}
    assert set(claims) == {early.id, late.id}
    first_paid, second_paid = claims[early.id].paid_at, claims[late.id].paid_at
    assert first_paid is not None and second_paid is not None and first_paid < second_paid

    every = list(client.events.list(type="claim.paid"))
    assert [e.data.id for e in every if isinstance(e, ClaimEvent)] == [
        claims[early.id].id,
        claims[late.id].id,
    ]
    since = list(client.events.list(type="claim.paid", created_gte=first_paid + dt.timedelta(seconds=1)))
    assert [e.id for e in since] == [every[1].id]
    inclusive = list(client.events.list(type="claim.paid", created_gte=second_paid))  # >=, not >
    assert [e.id for e in inclusive] == [every[1].id]
    assert list(client.events.list(type="claim.paid", created_gte=second_paid + DAY)) == []
    with pytest.raises(yg.ParameterError):
        client.events.list(created_gte=dt.datetime(2027, 1, 1))  # naive: refused before sending


# --- tenants ----------------------------------------------------------------------------------------


def test_claims_and_repayments_are_invisible_to_other_tenants(sandbox: Sandbox, client: Client) -> None:
    _, policy = quote_and_bind(client, "L-1", months=6)
    pay(client, policy, 1)
    client.test_clock.advance(days=200)
    [claim] = client.claims.list()
    with sandbox.client(api_key="yg_test_another_platform") as other:
        with pytest.raises(yg.NotFoundError):
            other.claims.retrieve(claim.id)
        assert list(other.claims.list()) == []
        assert list(other.claims.list(policy_id=policy.id)) == []
        assert list(other.repayments.list()) == []
        assert list(other.repayments.list(policy_id=policy.id)) == []
        assert list(other.events.list()) == []
        with pytest.raises(yg.NotFoundError) as err:
            other.repayments.create(
                policy_id=policy.id,
                installment=2,
                amount=policy.installments[1].amount,
                paid_at=dt.datetime.now(UTC),
            )
        assert err.value.param == "policy_id"
    assert len(list(client.repayments.list())) == 1  # the owner's view is unchanged


# --- async ------------------------------------------------------------------------------------------


async def test_async_servicing_from_repayment_to_recovery(sandbox: Sandbox) -> None:
    async with sandbox.async_client() as client:
        quote = await client.quotes.create(
            product="sme_loan",
            merchant_order_id="SME-1",
            borrower=company(),
            beneficiary=testing.BANK,
            loan=loan("200000.00", 12, "0.08"),
        )
        policy = await client.policies.bind(
            consent=await yg.async_consent(client, reference="CR-test"),
            quote_id=quote.id,
            idempotency_key="SME-1",
        )
        now = (await client.test_clock.retrieve()).now
        await client.repayments.create(
            policy_id=policy.id, installment=1, amount=policy.installments[0].amount, paid_at=now
        )
        with pytest.raises(yg.ConflictError):
            await client.repayments.create(
                policy_id=policy.id, installment=1, amount=policy.installments[0].amount, paid_at=now
            )
        assert [r.installment async for r in client.repayments.list(policy_id=policy.id)] == [1]
        await client.test_clock.advance(days=200)
        claims = [c async for c in client.claims.list(policy_id=policy.id)]
        assert len(claims) == 1
        day_d = quote.schedule[1].due_date + dt.timedelta(days=90)
        assert claims[0].amount == expected_claim(quote.schedule, 1, day_d, Decimal("0.10"))
        assert claims[0].status == "paid" and claims[0].recovered is not None
        types = [e.type async for e in client.events.list(created_gte=midnight(day_d))]
        assert types == [
            "loan.defaulted",
            "claim.opened",
            "claim.approved",
            "claim.paid",
            "recovery.received",
        ]
