"""Metadata and list filters (DESIGN §7.3) through the SDK, against the in-process sandbox."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import yangguang_sdk as yg
from yangguang_sdk import Client
from yangguang_sdk.sandbox import Sandbox

from .conftest import START, borrower, loan


def checkout(client: Client, order: str, **kwargs: Any) -> yg.types.Policy:
    quote = client.quotes.create(
        product="consumer_installment",
        merchant_order_id=order,
        borrower=borrower(),
        loan=loan(principal="3000.00"),
        **kwargs,
    )
    return client.policies.bind(consent=yg.consent(client, reference="CR-test"), quote_id=quote.id)


def test_quote_metadata_is_copied_to_the_policy_at_bind_and_carried_in_events(client: Client) -> None:
    quote = client.quotes.create(
        product="consumer_installment",
        merchant_order_id="ORD-M1",
        borrower=borrower(),
        loan=loan(),
        metadata={"cart": "c-77", "channel": "app", "empty": ""},
    )
    assert quote.metadata == {"cart": "c-77", "channel": "app"}  # "" sets nothing
    policy = client.policies.bind(consent=yg.consent(client, reference="CR-test"), quote_id=quote.id)
    assert policy.metadata == {"cart": "c-77", "channel": "app"}
    [bound] = client.events.list(type="policy.bound")
    assert isinstance(bound.data, yg.types.Policy)
    assert bound.data.metadata == {"cart": "c-77", "channel": "app"}


def test_update_merges_keys_and_removes_those_set_to_empty_or_none(client: Client) -> None:
    policy = checkout(client, "ORD-M2", metadata={"cart": "c-1", "a": "1", "b": "2"})
    updated = client.policies.update(policy.id, metadata={"cart": "c-2", "a": "", "b": None, "new": "x"})
    assert updated.metadata == {"cart": "c-2", "new": "x"}
    assert updated.version == policy.version + 1
    assert client.policies.retrieve(policy.id).metadata == {"cart": "c-2", "new": "x"}
    # no event of its own (DESIGN §5 / §7.7 list none); the next event carries the new metadata
    assert [e.type for e in client.events.list()] == ["policy.bound"]
    cancelled = client.policies.cancel(policy.id, reason="order_refunded")
    assert cancelled.metadata == {"cart": "c-2", "new": "x"}
    [event] = client.events.list(type="policy.cancelled")
    assert isinstance(event.data, yg.types.Policy)
    assert event.data.metadata == {"cart": "c-2", "new": "x"}


def test_update_refuses_to_grow_metadata_past_50_keys(client: Client) -> None:
    policy = checkout(client, "ORD-M3", metadata={f"k{n}": "v" for n in range(50)})
    with pytest.raises(yg.InvalidRequestError) as err:
        client.policies.update(policy.id, metadata={"one_more": "v"})
    assert (err.value.code, err.value.param) == ("invalid_parameter", "metadata")
    same = client.policies.update(policy.id, metadata={"one_more": "v", "k0": None})
    assert len(same.metadata) == 50 and "k0" not in same.metadata


def test_a_claim_takes_its_policys_order_product_and_metadata_and_lists_by_them(client: Client) -> None:
    policy = checkout(client, "ORD-M4", metadata={"cart": "c-9"})
    client.policies.update(policy.id, metadata={"loan_book": "2026-Q4"})
    client.test_clock.advance(days=120)  # the first installment's waiting period runs out
    [claim] = client.claims.list(policy_id=policy.id)
    assert (claim.merchant_order_id, claim.product) == ("ORD-M4", "consumer_installment")
    assert claim.metadata == {"cart": "c-9", "loan_book": "2026-Q4"}
    opened = claim.opened_at
    assert [c.id for c in client.claims.list(metadata={"cart": "c-9"})] == [claim.id]
    assert [c.id for c in client.claims.list(merchant_order_id="ORD-M4", product="consumer_installment")] == [
        claim.id
    ]
    assert list(client.claims.list(product="sme_loan")) == []
    assert [c.id for c in client.claims.list(created_gte=opened)] == [claim.id]
    assert list(client.claims.list(created_lt=opened)) == []
    [event] = client.events.list(type="claim.opened")
    assert isinstance(event.data, yg.types.Claim)
    assert event.data.metadata == {"cart": "c-9", "loan_book": "2026-Q4"}


def test_list_filters_on_quotes_and_policies(client: Client) -> None:
    a = checkout(client, "ORD-A", metadata={"cart": "c-1", "shop": "north"})
    client.test_clock.advance(hours=1)
    b = checkout(client, "ORD-B", metadata={"cart": "c-2", "shop": "north"})
    declined = client.quotes.create(
        product="consumer_installment",
        merchant_order_id="ORD-C",
        borrower=borrower(score=500),
        loan=loan(),
        metadata={"shop": "south"},
    )
    assert declined.decision == "declined"
    north = {"shop": "north"}
    assert [p.id for p in client.policies.list(metadata=north)] == [a.id, b.id]
    assert [p.id for p in client.policies.list(metadata={"shop": "north", "cart": "c-2"})] == [b.id]
    assert list(client.policies.list(metadata={"shop": "north", "cart": "c-3"})) == []
    assert [p.id for p in client.policies.list(merchant_order_id="ORD-B")] == [b.id]
    assert [p.id for p in client.policies.list(created_lt=START + dt.timedelta(minutes=30))] == [a.id]
    assert [p.id for p in client.policies.list(created_gte=START + dt.timedelta(minutes=30))] == [b.id]
    assert [p.id for p in client.policies.list(product="consumer_installment", status="active")] == [
        a.id,
        b.id,
    ]
    assert [q.id for q in client.quotes.list(decision="declined")] == [declined.id]
    assert [q.merchant_order_id for q in client.quotes.list(metadata={"shop": "south"})] == ["ORD-C"]
    assert [q.merchant_order_id for q in client.quotes.list(metadata=north, decision="approved")] == [
        "ORD-A",
        "ORD-B",
    ]
    client.policies.update(a.id, metadata={"shop": "east"})  # the index follows an update
    assert [p.id for p in client.policies.list(metadata=north)] == [b.id]
    assert [p.id for p in client.policies.list(metadata={"shop": "east"})] == [a.id]


def test_metadata_filters_page_through_every_match(client: Client) -> None:
    ids = [checkout(client, f"ORD-P{n}", metadata={"batch": "b1" if n % 2 else "b2"}).id for n in range(7)]
    page = client.policies.list(metadata={"batch": "b1"}, limit=2)
    assert len(page.data) == 2 and page.has_more
    assert [p.id for p in client.policies.list(metadata={"batch": "b1"}, limit=2)] == ids[1::2]


async def test_async_list_takes_metadata_and_pages(sandbox: Sandbox) -> None:
    with sandbox.client() as client:
        ids = [checkout(client, f"ORD-AS{n}", metadata={"cart": "same"}).id for n in range(3)]
    async with sandbox.async_client() as aclient:
        found = [p.id async for p in aclient.policies.list(metadata={"cart": "same"}, limit=1)]
        assert found == ids
        quotes = [q.id async for q in aclient.quotes.list(metadata={"cart": "same"})]
        assert len(quotes) == 3
        updated = await aclient.policies.update(ids[0], metadata={"cart": None})
        assert updated.metadata == {}


# --- bad metadata is refused before any request ---------------------------------------------------

BAD = [
    ({f"k{n}": "v" for n in range(51)}, "metadata"),
    ({"k" * 41: "v"}, "metadata." + "k" * 41),
    ({"cart": "v" * 501}, "metadata.cart"),
    ({"cart": 7}, "metadata.cart"),
    ({"cart id": "v"}, "metadata.cart id"),
    ({"": "v"}, "metadata."),
]


@pytest.fixture
def offline() -> Client:
    """A client whose every request would fail to connect: a ParameterError proves nothing was sent."""
    return yg.Client(api_key="yg_test_offline", base_url="http://127.0.0.1:9", max_retries=0)


@pytest.mark.parametrize(("metadata", "param"), BAD)
def test_bad_metadata_is_a_parameter_error_naming_the_key(
    offline: Client, metadata: dict[str, Any], param: str
) -> None:
    with pytest.raises(yg.ParameterError) as created:
        offline.quotes.create(
            product="consumer_installment",
            merchant_order_id="ORD-X",
            borrower=borrower(),
            loan=loan(),
            metadata=metadata,
        )
    assert created.value.param == param.rstrip(".") or created.value.param == param
    with pytest.raises(yg.ParameterError) as updated:
        offline.policies.update("pol_123", metadata=metadata)
    assert updated.value.param == created.value.param
    for lister in (offline.policies.list, offline.quotes.list, offline.claims.list):
        with pytest.raises(yg.ParameterError) as listed:
            lister(metadata=metadata)
        assert listed.value.param == created.value.param


def test_the_api_refuses_bad_metadata_with_422_naming_the_key(sandbox: Sandbox) -> None:
    import httpx

    with httpx.Client(transport=sandbox.transport(), base_url="http://sandbox.yangguang.invalid") as http:
        headers = {"Authorization": "Bearer yg_test_raw_http"}
        bad = http.get("/v1/policies", params={"metadata[cart id]": "x"}, headers=headers)
        assert bad.status_code == 422
        assert bad.json()["error"]["code"] == "invalid_parameter"
        assert bad.json()["error"]["param"] == "metadata.cart id"
        ok = http.get("/v1/claims", params={"metadata[cart]": "x"}, headers=headers)
        assert ok.status_code == 200 and ok.json()["data"] == []
