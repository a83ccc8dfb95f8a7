"""Disclosure and consent (承保可回溯, DESIGN §7.3) through the SDK, against the in-process sandbox."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import ROUND_HALF_UP, Decimal

import pytest

import yangguang_sdk as yg
from yangguang_sdk import Client, testing
from yangguang_sdk.sandbox import Sandbox

from .conftest import START, borrower, loan


def approved(client: Client, order: str = "ORD-D1") -> yg.types.Quote:
    quote = client.quotes.create(
        product="consumer_installment", merchant_order_id=order, borrower=borrower(), loan=loan()
    )
    assert quote.decision == "approved"
    return quote


def test_an_offered_quote_discloses_its_cost_and_key_facts(client: Client) -> None:
    quote = approved(client)
    facts = quote.disclosure
    assert facts is not None and quote.premium is not None and quote.comprehensive_cost is not None
    assert facts.annual_cost_rate == quote.comprehensive_cost.quantize(Decimal("0.0001"), ROUND_HALF_UP)
    assert facts.annual_cost_rate.as_tuple().exponent == -4
    total_interest = sum((line.interest for line in quote.schedule), yg.Money.cny(0))
    assert facts.total_interest == total_interest
    assert facts.total_cost == total_interest + quote.premium
    premium_yuan = f"{quote.premium.amount // 100:,}.{quote.premium.amount % 100:02d}"
    assert f"保险费：人民币{premium_yuan}元" in facts.key_facts
    assert f"综合年化成本：{facts.annual_cost_rate * 100:.2f}%" in facts.key_facts
    assert "犹豫期：15天" in facts.key_facts
    assert "被保险人（受益人）：销售商户" in facts.key_facts
    wording = client.wordings.retrieve(facts.wording_version)
    assert wording.version == facts.wording_version == "2026-11-29"
    assert wording.sha256 == facts.wording_sha256 == hashlib.sha256(wording.text.encode("utf-8")).hexdigest()


def test_key_facts_name_a_lender_beneficiary_and_no_cooling_off() -> None:
    sb = Sandbox(now=START)
    try:
        with sb.client() as client:
            quote = client.quotes.create(
                product="sme_loan",
                merchant_order_id="SME-1",
                borrower={
                    "type": "enterprise",
                    "name": "阳光五金有限公司",
                    "uscc": "91110000600037341L",
                    "credit_score": 700,
                },
                loan=loan(principal="200000.00", months=12),
                beneficiary=testing.BANK,
            )
            assert quote.decision == "approved" and quote.disclosure is not None
            assert f"{testing.BANK['name']}（银行）" in quote.disclosure.key_facts
            assert "犹豫期：无" in quote.disclosure.key_facts
            # an enterprise borrower needs no consent
            assert client.policies.bind(quote_id=quote.id).consent is None
    finally:
        sb.close()


def test_declined_quotes_disclose_nothing_also_a_referral_declined_later(client: Client) -> None:
    declined = client.quotes.create(
        product="consumer_installment", merchant_order_id="ORD-D2", borrower=borrower(score=500), loan=loan()
    )
    assert declined.decision == "declined" and declined.disclosure is None and declined.premium is None
    referred = client.quotes.create(
        product="consumer_installment",
        merchant_order_id="ORD-D3",
        borrower=borrower(score=None),
        loan=loan(principal="60000.00"),
    )
    assert referred.decision == "referred" and referred.disclosure is not None
    client.test_clock.advance(minutes=30)
    later = client.quotes.retrieve(referred.id)
    assert later.decision == "declined" and later.disclosure is None and later.premium is None
    assert later.comprehensive_cost == referred.comprehensive_cost


def test_binding_for_an_individual_needs_consent_and_the_policy_keeps_it(client: Client) -> None:
    quote = approved(client)
    with pytest.raises(yg.InvalidRequestError) as missing:
        client.policies.bind(quote_id=quote.id)
    assert (missing.value.code, missing.value.param) == ("consent_required", "consent")
    assert list(client.policies.list()) == []
    client.test_clock.advance(minutes=5)
    consent = yg.consent(client, reference="CONSENT-9")
    assert consent["disclosure_acknowledged_at"] == START + dt.timedelta(minutes=5)  # the sandbox's clock
    policy = client.policies.bind(quote_id=quote.id, consent=consent)
    assert policy.consent is not None and quote.disclosure is not None
    assert policy.consent.reference == "CONSENT-9"
    assert policy.consent.disclosure_acknowledged_at == START + dt.timedelta(minutes=5)
    assert policy.consent.wording_version == quote.disclosure.wording_version
    assert policy.consent.wording_sha256 == quote.disclosure.wording_sha256
    [bound] = client.events.list(type="policy.bound")
    assert isinstance(bound.data, yg.types.Policy) and bound.data.consent == policy.consent


@pytest.mark.parametrize(
    "when",
    [START - dt.timedelta(seconds=1), START + dt.timedelta(minutes=1)],
    ids=["before-decision", "future"],
)
def test_consent_outside_decision_to_now_is_refused(client: Client, when: dt.datetime) -> None:
    quote = approved(client)
    with pytest.raises(yg.InvalidRequestError) as err:
        client.policies.bind(
            quote_id=quote.id, consent=yg.consent(client, reference="C-1", acknowledged_at=when)
        )
    assert (err.value.code, err.value.param) == ("consent_required", "consent")
    assert list(client.policies.list()) == []


@pytest.fixture
def offline() -> Client:
    """A client whose every request would fail to connect: a ParameterError proves nothing was sent."""
    return yg.Client(api_key="yg_test_offline", base_url="http://127.0.0.1:9", max_retries=0)


def test_bad_consent_is_refused_before_sending(offline: Client) -> None:
    with pytest.raises(yg.ParameterError) as long_ref:
        offline.policies.bind(
            quote_id="quo_1", consent={"disclosure_acknowledged_at": START, "reference": "R" * 65}
        )
    assert long_ref.value.param == "consent.reference"
    with pytest.raises(yg.ParameterError) as naive:
        offline.policies.bind(
            quote_id="quo_1",
            consent={"disclosure_acknowledged_at": dt.datetime(2026, 11, 25, 2, 0), "reference": "R"},
        )
    assert naive.value.param == "consent.disclosure_acknowledged_at"
    for bad in ("", "R" * 65):
        with pytest.raises(yg.ParameterError) as helper:
            yg.consent(offline, reference=bad)
        assert helper.value.param == "reference"
    with pytest.raises(yg.ParameterError) as helper_naive:
        yg.consent(offline, reference="R", acknowledged_at=dt.datetime(2026, 1, 1))
    assert helper_naive.value.param == "acknowledged_at"
    with pytest.raises(yg.ParameterError) as version:
        offline.wordings.retrieve("latest")
    assert version.value.param == "version"


def test_a_live_key_dates_consent_by_the_real_clock_without_a_request() -> None:
    live = yg.Client(api_key="yg_live_" + "a" * 24, base_url="https://127.0.0.1:9", max_retries=0)
    assert live.livemode
    before = dt.datetime.now(dt.timezone.utc)
    made = yg.consent(live, reference="R-LIVE")
    assert before <= made["disclosure_acknowledged_at"] <= dt.datetime.now(dt.timezone.utc)


def test_an_unknown_wording_version_is_not_found(client: Client) -> None:
    with pytest.raises(yg.NotFoundError):
        client.wordings.retrieve("1999-01-01")


async def test_async_consent_and_wording(sandbox: Sandbox) -> None:
    async with sandbox.async_client() as aclient:
        quote = await aclient.quotes.create(
            product="consumer_installment", merchant_order_id="ORD-AD", borrower=borrower(), loan=loan()
        )
        assert quote.disclosure is not None
        wording = await aclient.wordings.retrieve(quote.disclosure.wording_version)
        assert wording.sha256 == quote.disclosure.wording_sha256
        consent = await yg.async_consent(aclient, reference="CONSENT-A")
        assert consent["disclosure_acknowledged_at"] == START
        policy = await aclient.policies.bind(quote_id=quote.id, consent=consent)
        assert policy.consent is not None and policy.consent.reference == "CONSENT-A"


# --- endorsements through the SDK (DESIGN §7.4; the rules are tested in tests/sandbox) -----------


def test_endorse_through_the_sdk_sync_and_async(sandbox: Sandbox) -> None:
    with sandbox.client() as client:
        quote = approved(client, "ORD-E1")
        policy = client.policies.bind(quote_id=quote.id, consent=yg.consent(client, reference="C-E1"))
        preview = client.policies.endorse(
            policy.id, principal_reduction=yg.Money.cny("2000.00"), preview=True
        )
        assert preview.preview and preview.id is None
        assert client.policies.retrieve(policy.id).version == policy.version
        done = client.policies.endorse(policy.id, principal_reduction=yg.Money.cny("2000.00"))
        assert (
            done.id is not None
            and done.id.startswith("end_")
            and done.premium_refund == preview.premium_refund
        )
        [event] = client.events.list(type="policy.endorsed")
        assert isinstance(event.data, yg.types.Policy) and event.data.refunded_total == done.premium_refund
        with pytest.raises(yg.InvalidRequestError) as too_much:
            client.policies.endorse(policy.id, principal_reduction=yg.Money.cny("20000.00"))
        assert too_much.value.param == "principal_reduction"

    async def run() -> None:
        async with sandbox.async_client() as aclient:
            done = await aclient.policies.endorse(policy.id, principal_reduction=yg.Money.cny("1000.00"))
            assert done.policy_id == policy.id

    import asyncio

    asyncio.run(run())


def test_a_non_positive_reduction_is_refused_before_sending(offline: Client) -> None:
    for amount in (0, -100):
        with pytest.raises(yg.ParameterError) as err:
            offline.policies.endorse("pol_1", principal_reduction=yg.Money(amount))
        assert err.value.param == "principal_reduction"
