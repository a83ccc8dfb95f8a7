"""Security: tenants are walled off from each other (404 / empty lists, never 403), the sandbox
refuses live and malformed keys, and secrets, API keys, ID numbers, phone numbers and USCCs never
appear in logs, output, reprs or error messages. Every test here also runs under the package's
secret guard (``conftest.secret_guard``), which scans all logging at DEBUG plus stdout/stderr.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

import yangguang_sdk as yg
from yangguang_sdk import AsyncClient, Client, _logs
from yangguang_sdk.sandbox import Sandbox
from yangguang_sdk.sandbox.app import SANDBOX_BASE_URL
from yangguang_sdk.testing import BANK
from yangguang_sdk.types import IndividualBorrower, QuoteCreateParams
from yangguang_sdk.types.quote import EnterpriseBorrower
from yangguang_sdk.webhooks import Webhook, WebhookVerificationError, generate_ed25519_keypair

from .conftest import (
    API_KEY,
    ID_NUMBER,
    OTHER_API_KEY,
    PHONE,
    USCC,
    WEBHOOK_SECRET,
    FaultPlan,
    FaultyTransport,
    RecordingTransport,
    SecretGuard,
    _ScanningHandler,
    borrower,
    enterprise,
    loan,
)

QUIET_URL = "http://127.0.0.1:9/hook"
"""Endpoints here subscribe only to an event these flows never emit: nothing is delivered."""
QUIET_EVENTS = ["webhook_endpoint.disabled"]


# -- tenant isolation -----------------------------------------------------------------------------


@dataclass
class Estate:
    """Tenant A's objects, one of each kind."""

    open_quote: yg.types.Quote
    policy: yg.types.Policy
    policy_key: str
    repaid: yg.types.Policy
    defaulting: yg.types.Policy
    endpoint: yg.types.WebhookEndpoint


def _estate(client: Client) -> Estate:
    def bound(order: str) -> yg.types.Policy:
        quote = client.quotes.create(
            product="consumer_installment", merchant_order_id=order, borrower=borrower(), loan=loan()
        )
        return client.policies.bind(
            consent=yg.consent(client, reference="CR-test"), quote_id=quote.id, idempotency_key=order
        )

    policy, repaid, defaulting = bound("ORD-A1"), bound("ORD-A2"), bound("ORD-A3")
    client.repayments.create(
        policy_id=repaid.id,
        installment=1,
        amount=repaid.installments[0].amount,
        paid_at=dt.datetime(2026, 11, 26, tzinfo=dt.timezone.utc),
    )
    open_quote = client.quotes.create(
        product="sme_loan",
        merchant_order_id="ORD-A4",
        beneficiary=BANK,
        borrower=enterprise(),
        loan=loan(principal=yg.Money.cny(200_000), term_months=24),
    )
    endpoint = client.webhook_endpoints.create(url=QUIET_URL, events=QUIET_EVENTS, signing="hmac-sha256")
    return Estate(open_quote, policy, "ORD-A1", repaid, defaulting, endpoint)


def _state(sb: Sandbox, tenant: str) -> str:
    store = sb.engine._store
    tables = ("quotes", "policies", "repayments", "claims", "events", "journal")
    return json.dumps({t: store.scan(t, tenant) for t in tables}, sort_keys=True, default=str)


def _not_found(call: Callable[[], Any]) -> yg.NotFoundError:
    with pytest.raises(yg.NotFoundError) as info:
        call()
    assert info.value.status_code == 404
    return info.value


def test_a_tenant_can_neither_read_nor_change_another_tenants_objects(
    sandbox: Sandbox, secret_guard: SecretGuard
) -> None:
    owner = sandbox.client()
    intruder = sandbox.client(api_key=OTHER_API_KEY)
    estate = _estate(owner)
    secret_guard.add(estate.endpoint.secret)
    p = estate.policy
    before = _state(sandbox, API_KEY)

    # quotes and policies: read, bind, cancel, settle, repay
    _not_found(lambda: intruder.quotes.retrieve(estate.open_quote.id))
    bind = _not_found(
        lambda: intruder.policies.bind(
            consent=yg.consent(intruder, reference="CR-test"), quote_id=estate.open_quote.id
        )
    )
    assert bind.param == "quote_id"
    # Idempotency keys are per tenant: the owner's key does not replay the owner's policy.
    _not_found(
        lambda: intruder.policies.bind(
            consent=yg.consent(intruder, reference="CR-test"),
            quote_id=p.quote_id,
            idempotency_key=estate.policy_key,
        )
    )
    _not_found(lambda: intruder.policies.retrieve(p.id))
    _not_found(lambda: intruder.policies.cancel(p.id, reason="order_refunded"))
    _not_found(lambda: intruder.policies.cancel(p.id, preview=True))
    _not_found(lambda: intruder.policies.settle(p.id))
    _not_found(lambda: intruder.policies.settle(p.id, preview=True))
    repay = _not_found(
        lambda: intruder.repayments.create(
            policy_id=p.id,
            installment=1,
            amount=p.installments[0].amount,
            paid_at=dt.datetime(2026, 11, 26, tzinfo=dt.timezone.utc),
        )
    )
    assert repay.param == "policy_id"
    # webhook endpoints and events
    e = estate.endpoint
    _not_found(lambda: intruder.webhook_endpoints.retrieve(e.id))
    _not_found(lambda: intruder.webhook_endpoints.rotate_secret(e.id))
    _not_found(lambda: intruder.webhook_endpoints.delete(e.id))
    owner_events = list(owner.events.list(limit=100))
    assert owner_events
    _not_found(lambda: intruder.events.retrieve(owner_events[0].id))
    _not_found(lambda: intruder.events.redeliver(owner_events[0].id))
    assert _state(sandbox, API_KEY) == before  # none of it changed anything of the owner's
    assert owner.webhook_endpoints.retrieve(e.id).status == "enabled"

    # Let the third loan default: a claim opens, is approved and paid (代偿).
    owner.test_clock.advance(days=115)
    claims = list(owner.claims.list())
    assert [c.policy_id for c in claims if c.policy_id == estate.defaulting.id]
    for claim in claims:
        _not_found(functools.partial(intruder.claims.retrieve, claim.id))

    # lists: empty, whatever the filter
    assert list(intruder.policies.list()) == []
    assert list(intruder.policies.list(merchant_order_id="ORD-A1")) == []
    assert list(intruder.repayments.list()) == []
    assert list(intruder.repayments.list(policy_id=estate.repaid.id)) == []
    assert list(intruder.claims.list()) == []
    assert list(intruder.claims.list(policy_id=estate.defaulting.id)) == []
    assert list(intruder.events.list()) == []
    assert list(intruder.events.list(type="claim.paid")) == []
    assert list(intruder.webhook_endpoints.list()) == []

    # All that time the intruder owned nothing, and its ledger has no entry.
    assert _state(sandbox, OTHER_API_KEY) == _state(sandbox, "yg_test_nobody_at_all")
    assert sandbox.engine.ledger(OTHER_API_KEY)["entries"] == []
    owner.close()
    intruder.close()


def test_another_tenants_object_is_indistinguishable_from_one_that_never_existed(sandbox: Sandbox) -> None:
    with sandbox.client() as owner, sandbox.client(api_key=OTHER_API_KEY) as intruder:
        policy = _estate(owner).policy
        theirs = _not_found(lambda: intruder.policies.retrieve(policy.id))
        missing_id = "pol_" + "z" * (len(policy.id) - 4)
        never = _not_found(lambda: intruder.policies.retrieve(missing_id))
    assert (theirs.code, theirs.param, type(theirs)) == (never.code, never.param, type(never))
    assert theirs.message.replace(policy.id, "ID") == never.message.replace(missing_id, "ID")


# -- keys -----------------------------------------------------------------------------------------


def test_the_sandbox_refuses_live_keys_with_401(sandbox: Sandbox, secret_guard: SecretGuard) -> None:
    live_key = "yg_live_reliabilityLiveKey_9e8d7c"
    secret_guard.add(live_key)
    # The SDK sends a live key only over https; through the in-process transport the sandbox sees it.
    with yg.Client(
        api_key=live_key, base_url="https://sandbox.yangguang.invalid", transport=sandbox.transport()
    ) as live:
        for call in (
            lambda: live.policies.list(),
            lambda: live.quotes.create(
                product="consumer_installment", merchant_order_id="ORD-L", borrower=borrower(), loan=loan()
            ),
            lambda: live.test_clock.retrieve(),
        ):
            with pytest.raises(yg.AuthenticationError) as info:
                call()
            assert info.value.status_code == 401
            secret_guard.assert_clean(str(info.value), repr(info.value), json.dumps(info.value.body))
    assert _state(sandbox, live_key) == _state(sandbox, "yg_test_nobody_at_all")
    # And the SDK will not send a live key over plain http at all.
    with pytest.raises(yg.ConfigurationError) as refused:
        yg.Client(api_key=live_key, base_url=SANDBOX_BASE_URL, transport=sandbox.transport())
    secret_guard.assert_clean(str(refused.value))


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer ",
        "Bearer yg_test_",
        "Bearer yg_test_abc",  # too short
        "Bearer yg_test_" + "a" * 300,  # too long
        "Bearer yg_test_has-dash!",
        "Bearer yg_live_reliabilityLiveKey_9e8d7c",
        "Bearer sk_test_4eC39HqLyjWDarjtT1zdp7dc",
        "Basic " + "eWdfdGVzdF9yZWxpYWJpbGl0eTo=",
        "yg_test_reliabilityGuard_4f9c2a71",  # no scheme
        "bearer yg_test_reliabilityGuard_4f9c2a71",
        "Bearer  yg_test_reliabilityGuard_4f9c2a71 extra",
    ],
)
def test_the_sandbox_answers_401_to_missing_and_malformed_keys_without_echoing_them(
    sandbox: Sandbox, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    with httpx.Client(transport=sandbox.transport(), base_url=SANDBOX_BASE_URL) as http:
        for method, path in (("GET", "/v1/policies"), ("POST", "/v1/quotes"), ("GET", "/v1/test_clock")):
            response = http.request(method, path, headers=headers, json={} if method == "POST" else None)
            assert response.status_code == 401, (authorization, path, response.text)
            error = response.json()["error"]
            assert error["type"] == "authentication_error" and error["code"] == "invalid_api_key"
            presented = (authorization or "").split()[-1:] or [""]
            if len(presented[0]) > len("yg_test_"):
                assert presented[0] not in response.text


@pytest.mark.parametrize(
    "key",
    [
        "yg_test_",
        "yg_test_ab",
        "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
        "yg_test_has space",
        "Bearer yg_test_abcd",
    ],
)
def test_the_sdk_refuses_a_malformed_key_before_sending_anything(sandbox: Sandbox, key: str) -> None:
    transport = RecordingTransport(sandbox.transport())
    with pytest.raises(yg.ConfigurationError) as info:
        sandbox.client(api_key=key, transport=transport)
    assert transport.requests == []
    if len(key) > len("yg_test_"):  # the message may say what keys look like, never repeat this one
        assert key not in str(info.value)


# -- nothing secret in reprs, strings and messages ------------------------------------------------


async def test_clients_show_neither_key_nor_authorization_header(
    sandbox: Sandbox, secret_guard: SecretGuard
) -> None:
    async with sandbox.async_client(api_key=OTHER_API_KEY) as aclient:
        with sandbox.client(max_retries=1) as client:
            texts = [
                repr(client),
                str(client),
                repr(client.with_options(timeout=3)),
                repr(aclient),
                str(aclient),
            ]
            texts += [repr(client.quotes), repr(client.policies.list()), repr(await aclient.policies.list())]
        secret_guard.assert_clean(*texts)
        assert all("yg_test_****" in t for t in texts[:5])


def test_models_show_identity_numbers_and_phones_masked(client: Client, secret_guard: SecretGuard) -> None:
    params = QuoteCreateParams.model_validate(
        {
            "product": "consumer_installment",
            "merchant_order_id": "ORD-R",
            "borrower": borrower(),
            "loan": loan(),
        }
    )
    person = IndividualBorrower.model_validate(borrower())
    company = EnterpriseBorrower.model_validate(enterprise())
    quote = client.quotes.create(
        product="consumer_installment", merchant_order_id="ORD-R", borrower=borrower(), loan=loan()
    )
    policy = client.policies.bind(consent=yg.consent(client, reference="CR-test"), quote_id=quote.id)
    sme = client.quotes.create(
        product="sme_loan",
        merchant_order_id="ORD-S",
        beneficiary=BANK,
        borrower=enterprise(),
        loan=loan(principal=yg.Money.cny(200_000), term_months=24),
    )
    texts = [repr(x) for x in (params, person, company, quote, policy, sme, policy.last_response)]
    texts += [str(x) for x in (params, person, company, quote, policy, sme)]
    texts += [json.dumps(e.to_dict(), ensure_ascii=False) for e in client.events.list()]
    secret_guard.assert_clean(*texts)
    assert "110105********002X" in repr(params) and "138****8000" in repr(person)
    assert "911100********341L" in repr(company)
    # The real values are still there for the wire.
    assert params.model_dump(mode="json")["borrower"]["id_number"] == ID_NUMBER


def test_parameter_errors_never_repeat_the_value(client: Client, secret_guard: SecretGuard) -> None:
    bad: list[dict[str, Any]] = [
        {"borrower": borrower(id_number=ID_NUMBER[:-1] + "3")},
        {"borrower": borrower(phone=PHONE[:-1])},
        {"borrower": borrower(phone=PHONE + "0")},
        {"borrower": borrower(id_number=PHONE)},
        {"product": "sme_loan", "borrower": enterprise(uscc=USCC[:-1] + "M")},
        {"borrower": borrower(id_number=USCC)},
    ]
    for over in bad:
        args: dict[str, Any] = {
            "product": "consumer_installment",
            "merchant_order_id": "ORD-P",
            "borrower": borrower(),
            "loan": loan(),
        }
        with pytest.raises(yg.ParameterError) as info:
            client.quotes.create(**{**args, **over})
        texts = [str(info.value), repr(info.value), *map(str, info.value.args)]
        secret_guard.assert_clean(*texts)
        for value in (ID_NUMBER[:-1] + "3", PHONE[:-1], PHONE + "0", USCC[:-1] + "M"):
            assert all(value not in t for t in texts)


def test_api_errors_from_a_server_echoing_the_input_are_redacted(
    sandbox: Sandbox, client: Client, secret_guard: SecretGuard
) -> None:
    # The sandbox itself echoes some inputs (unknown ids, filter values) in its messages.
    echoes: list[Callable[[], Any]] = [
        lambda: list(client.events.list(type=ID_NUMBER)),
        lambda: list(client.events.list(type=f"{PHONE} {USCC}")),
        lambda: client.policies.retrieve(f"pol_{ID_NUMBER}"),
        lambda: list(client.policies.list(limit=5, merchant_order_id=USCC)),  # fine: an empty list
    ]
    for call in echoes[:3]:
        with pytest.raises(yg.APIStatusError) as info:
            call()
        secret_guard.assert_clean(str(info.value), repr(info.value), info.value.message)
    assert echoes[3]() == []

    # A server that echoes everything it was sent, key and secrets included.
    def echo(request: httpx.Request) -> httpx.Response:
        said = f"{request.headers['authorization']} sent {request.content.decode()} {WEBHOOK_SECRET}"
        return httpx.Response(
            422,
            json={
                "error": {
                    "type": "invalid_request_error",
                    "code": "bad",
                    "message": said,
                    "param": "borrower",
                }
            },
            headers={"request-id": "req_echo"},
        )

    with yg.Client(api_key=API_KEY, base_url="http://echo.test", transport=httpx.MockTransport(echo)) as c:
        with pytest.raises(yg.InvalidRequestError) as info:
            c.quotes.create(
                product="consumer_installment", merchant_order_id="ORD-E", borrower=borrower(), loan=loan()
            )
    err = info.value
    secret_guard.assert_clean(str(err), repr(err), err.message, *map(str, err.args))
    assert "110105********002X" in err.message and "Bearer ****" in err.message
    # Logging the error, traceback included, shows nothing either (the guard scans this record).
    try:
        raise err
    except yg.APIStatusError:
        logging.getLogger("merchant.checkout").exception("binding failed")


def test_webhook_objects_never_show_their_secrets(client: Client, secret_guard: SecretGuard) -> None:
    signing_key, public_key = generate_ed25519_keypair()
    secret_guard.add(signing_key)
    hooks = [Webhook(WEBHOOK_SECRET), Webhook(signing_key), Webhook([WEBHOOK_SECRET, public_key])]
    secret_guard.assert_clean(*(repr(h) for h in hooks), *(str(h) for h in hooks))

    hmac_endpoint = client.webhook_endpoints.create(url=QUIET_URL, events=QUIET_EVENTS, signing="hmac-sha256")
    ed_endpoint = client.webhook_endpoints.create(url=QUIET_URL, events=QUIET_EVENTS)
    rotated = client.webhook_endpoints.rotate_secret(hmac_endpoint.id)
    assert hmac_endpoint.secret and ed_endpoint.secret and rotated.secret
    secrets = [hmac_endpoint.secret, ed_endpoint.secret, rotated.secret]
    assert secrets[0] != secrets[2]
    assert secrets[0].startswith("whsec_") and secrets[1].startswith("whpk_")
    secret_guard.add(*secrets)
    shown = [repr(x) for x in (hmac_endpoint, ed_endpoint, rotated)] + [
        str(x) for x in (hmac_endpoint, rotated)
    ]
    shown += [repr(list(client.webhook_endpoints.list()))]
    secret_guard.assert_clean(*shown)
    assert client.webhook_endpoints.retrieve(hmac_endpoint.id).secret is None  # shown once only

    # Failed verifications explain themselves without the secret.
    hook = Webhook(rotated.secret)
    body = b'{"type":"claim.paid"}'
    headers = hook.build_headers("evt_1", body)
    for tampered in (
        {**headers, "webhook-signature": "v1," + rotated.secret},
        {**headers, "webhook-signature": rotated.secret},
        {**headers, "webhook-id": "evt_2"},
    ):
        with pytest.raises(WebhookVerificationError) as info:
            hook.verify(body, tampered)
        secret_guard.assert_clean(str(info.value), repr(info.value))
    with pytest.raises(WebhookVerificationError) as wrong:
        Webhook(WEBHOOK_SECRET).verify(body, headers)
    secret_guard.assert_clean(str(wrong.value))


# -- the logs of whole flows ----------------------------------------------------------------------


@pytest.fixture
def sdk_debug_log_to_stderr(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``YANGGUANG_LOG=debug``: the SDK's own stderr handler, as a merchant would switch it on."""
    sdk_logger = logging.getLogger("yangguang_sdk")
    handlers, level = list(sdk_logger.handlers), sdk_logger.level
    monkeypatch.setenv("YANGGUANG_LOG", "debug")
    monkeypatch.setattr(_logs, "_configured", False)
    yield
    for handler in sdk_logger.handlers[:]:
        if handler not in handlers:
            sdk_logger.removeHandler(handler)
    sdk_logger.setLevel(level)


def test_debug_logs_and_output_of_a_faulty_checkout_hold_no_secret(
    sandbox: Sandbox,
    secret_guard: SecretGuard,
    sdk_debug_log_to_stderr: None,
    capfd: pytest.CaptureFixture[str],
) -> None:
    plan = FaultPlan(seed=7, rate=0.5)
    client = sandbox.client(transport=FaultyTransport(sandbox.transport(), plan), max_retries=10)
    client._retry_delay = lambda attempt, outcome: 0.0  # type: ignore[method-assign]
    for i in range(10):
        quote = client.quotes.create(
            product="consumer_installment",
            merchant_order_id=f"ORD-LOG{i}",
            borrower=borrower(),
            loan=loan(),
            idempotency_key=f"ORD-LOG{i}/quote",
        )
        policy = client.policies.bind(
            consent=yg.consent(client, reference="CR-test"), quote_id=quote.id, idempotency_key=f"ORD-LOG{i}"
        )
        client.policies.cancel(policy.id, preview=True)
    for call in (
        lambda: client.quotes.create(  # a first due date in the past: only the insurer can tell
            product="consumer_installment",
            merchant_order_id="ORD-X",
            borrower=borrower(),
            loan=loan(first_due_date="2026-11-01"),
        ),
        lambda: client.policies.retrieve(f"pol_{ID_NUMBER}"),
    ):
        with pytest.raises(yg.APIStatusError):
            call()
    client.close()

    out, err = capfd.readouterr()
    assert "POST /v1/policies" in err and "attempt=" in err  # the SDK did log, to stderr
    assert sum(plan.injected.values()) > 5
    secret_guard.scan("stderr", err)
    secret_guard.scan("stdout", out)
    sys.stderr.write(err)  # and the guard reads it again at teardown


def test_the_guard_sees_a_leak_in_the_logs() -> None:
    """The guard itself works: a record carrying an ID number, in its message, its arguments, its
    traceback or an extra field, is reported, and the report does not repeat the value."""
    guard = SecretGuard()
    handler = _ScanningHandler(guard)
    log = logging.getLogger("reliability.guard.selftest")
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    log.propagate = False
    try:
        log.debug("plain %s", "text")
        assert guard.leaks == []
        log.debug("borrower %s", ID_NUMBER)
        log.info("phone", extra={"phone": PHONE})
        try:
            raise ValueError(f"key {API_KEY}")
        except ValueError:
            log.exception("failed")
    finally:
        log.removeHandler(handler)
        log.propagate = True
    assert len(guard.leaks) == 3
    assert not any(ID_NUMBER in leak or PHONE in leak or API_KEY in leak for leak in guard.leaks)


async def test_async_client_flows_log_nothing_secret(sandbox: Sandbox, secret_guard: SecretGuard) -> None:
    async with sandbox.async_client() as client, sandbox.async_client(api_key=OTHER_API_KEY) as other:
        assert isinstance(client, AsyncClient)
        quote = await client.quotes.create(
            product="consumer_installment", merchant_order_id="ORD-AS", borrower=borrower(), loan=loan()
        )
        policy = await client.policies.bind(
            consent=await yg.async_consent(client, reference="CR-test"), quote_id=quote.id
        )
        with pytest.raises(yg.NotFoundError):
            await other.policies.retrieve(policy.id)
        assert [p async for p in other.policies.list()] == []
        with pytest.raises(yg.ParameterError):
            await client.quotes.create(
                product="consumer_installment",
                merchant_order_id="ORD-AS2",
                borrower=borrower(id_number=ID_NUMBER[:-1] + "3"),
                loan=loan(),
            )
        secret_guard.assert_clean(repr(client), repr(quote), repr(policy))
