"""The engine's quotes, binding, cancellation, settlement, idempotency and tenants (DESIGN §3–4)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from decimal import ROUND_DOWN, Decimal, localcontext
from typing import Any

import pytest

from tests.consent import consent_now
from yangguang_sdk.sandbox.app import error_answer, error_status
from yangguang_sdk.sandbox.engine import Engine
from yangguang_sdk.sandbox.errors import Conflict, Invalid, NotFound
from yangguang_sdk.sandbox.idempotency import Idempotency, JSONText
from yangguang_sdk.types import Policy, Quote, parse_event

from .test_pricing import quote_params, ref_expected_losses

START = dt.datetime(2027, 1, 10, 9, 0, tzinfo=dt.timezone.utc)
T = "yg_test_alice"
OTHER = "yg_test_bob"
DAY = dt.timedelta(days=1)
MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def engine() -> Iterator[Engine]:
    e = Engine(now=START)
    yield e
    e.close()


@pytest.fixture
def keys(engine: Engine) -> Idempotency:
    """The app's HTTP idempotency over the engine (sandbox/idempotency.py)."""
    return Idempotency(engine, error_answer)


def bound_policy(engine: Engine, tenant: str = T, **kwargs: Any) -> dict[str, Any]:
    quote = engine.create_quote(tenant, quote_params(**kwargs))
    assert quote["decision"] == "approved", quote
    return engine.bind_policy(tenant, quote["id"], consent_now(engine, tenant))


def check_ledger(engine: Engine, tenant: str) -> dict[str, Any]:
    """The DESIGN §4 ledger identities; returns the totals."""
    ledger = engine.ledger(tenant)
    for entry in ledger["entries"]:
        assert sum(line["debit"] for line in entry["lines"]) == sum(line["credit"] for line in entry["lines"])
    assert sum(ledger["balances"].values()) == 0
    totals = ledger["totals"]
    assert (
        totals["premium"] - totals["refunds"] - totals["claims_paid"] + totals["recoveries"]
        == totals["insurer_balance"]
    )
    assert totals["insurer_balance"] == ledger["balances"]["cash"]
    return dict(totals)


def ref_refund(premium: int, bind: dt.date, dues: list[dt.date], losses: list[Decimal], on: dt.date) -> int:
    """Exposure-weighted unearned premium on ``on``, written out independently of the engine."""
    with localcontext() as ctx:
        ctx.prec = 60
        starts = [bind, *dues[:-1]]
        earned = Decimal(0)
        for start, due, loss in zip(starts, dues, losses, strict=True):
            if due <= on:
                earned += loss
            elif start <= on < due:
                earned += loss * (on - start).days / (due - start).days
        share = earned / sum(losses)
        return int((premium * (1 - share)).quantize(Decimal(1), rounding=ROUND_DOWN))


# --- quotes ---------------------------------------------------------------------------------------


def test_approved_quote_has_wire_shape_and_expires_in_30_minutes(engine: Engine) -> None:
    quote = engine.create_quote(T, quote_params())
    parsed = Quote.model_validate(quote)
    assert parsed.decision == "approved"
    assert quote["id"].startswith("quo_")
    assert quote["created_at"] == "2027-01-10T09:00:00Z"
    assert quote["expires_at"] == "2027-01-10T09:30:00Z"
    assert quote["version"] == 1
    assert quote["schedule"][0] == {
        "installment": 1,
        "due_date": "2027-02-15",
        "principal": {"amount": 102496, "currency": "CNY"},
        "interest": {"amount": 12999, "currency": "CNY"},
        "amount": {"amount": 115495, "currency": "CNY"},
        "status": "scheduled",
        "days_past_due": 0,
        "paid_at": None,
    }
    assert engine.get_quote(T, quote["id"]) == quote


def test_referred_quote_is_decided_30_minutes_later(engine: Engine) -> None:
    quote = engine.create_quote(T, quote_params(principal="50000.00", months=24, rate="0.10", score=None))
    assert quote["decision"] == "referred"
    assert quote["decided_at"] is None and quote["expires_at"] is None
    assert quote["credit_score_used"] == 600
    with pytest.raises(Conflict) as err:
        engine.bind_policy(T, quote["id"], consent_now(engine, T))
    assert err.value.code == "quote_not_bindable"
    engine.advance(T, 29 * MINUTE)
    assert engine.get_quote(T, quote["id"])["decision"] == "referred"
    engine.advance(T, MINUTE)
    decided = engine.get_quote(T, quote["id"])
    assert decided["decision"] == "approved"
    assert decided["decided_at"] == "2027-01-10T09:30:00Z"
    assert decided["expires_at"] == "2027-01-10T10:00:00Z"
    assert decided["version"] == 2
    [event] = engine.list_events(T, type="quote.decided")["data"]
    assert event["timestamp"] == "2027-01-10T09:30:00Z"
    assert event["data"] == decided
    parse_event(event)


def test_referral_above_50000_yuan_is_declined(engine: Engine) -> None:
    quote = engine.create_quote(T, quote_params(principal="50000.01", months=24, rate="0.10", score=None))
    assert quote["premium"] is not None  # referred: priced as a score of 600 while it waits
    engine.advance(T, dt.timedelta(hours=1))
    decided = engine.get_quote(T, quote["id"])
    assert (decided["decision"], decided["decline_reason"]) == ("declined", "referral_declined")
    # declined later: the price goes, the cost stays (DESIGN §7.3), in the event too
    assert decided["premium"] is None and decided["comprehensive_cost"] == quote["comprehensive_cost"]
    [event] = engine.list_events(T, type="quote.decided")["data"]
    assert event["data"]["premium"] is None


def test_referred_quote_over_the_cost_cap_is_declined_at_once(engine: Engine) -> None:
    quote = engine.create_quote(
        T, quote_params(product="platform_loan", principal="20000.00", rate="0.15", score=None)
    )
    assert (quote["decision"], quote["decline_reason"]) == ("declined", "financing_cost_cap_exceeded")


def test_borrower_type_must_match_the_product(engine: Engine) -> None:
    params = quote_params(product="sme_loan", principal="100000.00")
    params["borrower"] = quote_params()["borrower"]
    with pytest.raises(Invalid) as err:
        engine.create_quote(T, params)
    assert (error_status(err.value), err.value.param) == (422, "borrower.type")
    params = quote_params()
    params["borrower"] = quote_params(product="sme_loan")["borrower"]
    with pytest.raises(Invalid) as err:
        engine.create_quote(T, params)
    assert err.value.param == "borrower.type"


def test_invalid_identity_is_rejected_without_echoing_it(engine: Engine) -> None:
    params = quote_params()
    params["borrower"]["id_number"] = "110105194912310021"
    with pytest.raises(Invalid) as err:
        engine.create_quote(T, params)
    assert err.value.param == "borrower.id_number"
    assert "110105194912310021" not in str(error_answer(err.value))


def test_first_due_date_must_be_in_the_future(engine: Engine) -> None:
    with pytest.raises(Invalid) as err:
        engine.create_quote(T, quote_params(first_due="2027-01-10"))
    assert err.value.param == "loan.first_due_date"


def test_ids_are_deterministic_across_fresh_engines() -> None:
    def script() -> list[str]:
        e = Engine(now=START)
        q = e.create_quote(T, quote_params())
        p = e.bind_policy(T, q["id"], consent_now(e, T))
        ids = [q["id"], p["id"], *[ev["id"] for ev in e.list_events(T)["data"]]]
        e.close()
        return ids

    assert script() == script()


# --- binding --------------------------------------------------------------------------------------


def test_bind_makes_an_active_policy_with_premium_entry_and_event(engine: Engine) -> None:
    quote = engine.create_quote(T, quote_params())
    policy = engine.bind_policy(T, quote["id"], consent_now(engine, T))
    Policy.model_validate(policy)
    assert policy["status"] == "active" and policy["version"] == 1
    assert policy["premium"] == quote["premium"] and policy["sum_insured"] == quote["sum_insured"]
    assert policy["cooling_off_until"] == "2027-01-25"
    assert policy["bound_at"] == "2027-01-10T09:00:00Z"
    assert [i["status"] for i in policy["installments"]] == ["scheduled"] * 12
    assert engine.get_quote(T, quote["id"])["policy_id"] == policy["id"]
    [event] = engine.list_events(T)["data"]
    assert (event["type"], event["data"]) == ("policy.bound", policy)
    ledger = engine.ledger(T)
    [entry] = ledger["entries"]
    assert entry["kind"] == "premium" and entry["policy_id"] == policy["id"]
    assert check_ledger(engine, T)["premium"] == quote["premium"]["amount"]


def test_sme_policy_has_no_cooling_off(engine: Engine) -> None:
    policy = bound_policy(engine, product="sme_loan", principal="100000.00", score=700)
    assert policy["cooling_off_until"] == "2027-01-10"


def test_bind_an_expired_quote_is_a_conflict(engine: Engine) -> None:
    quote = engine.create_quote(T, quote_params())
    engine.advance(T, dt.timedelta(minutes=30))
    with pytest.raises(Conflict) as err:
        engine.bind_policy(T, quote["id"], consent_now(engine, T))
    assert (error_status(err.value), err.value.code) == (409, "quote_expired")


def test_bind_just_before_expiry_succeeds(engine: Engine) -> None:
    quote = engine.create_quote(T, quote_params())
    engine.advance(T, dt.timedelta(minutes=29, seconds=59))
    assert engine.bind_policy(T, quote["id"], consent_now(engine, T))["status"] == "active"


def test_bind_a_declined_quote_is_not_bindable(engine: Engine) -> None:
    quote = engine.create_quote(T, quote_params(score=500))
    with pytest.raises(Conflict) as err:
        engine.bind_policy(T, quote["id"], consent_now(engine, T))
    assert err.value.code == "quote_not_bindable"


def test_bind_twice_names_the_existing_policy(engine: Engine) -> None:
    quote = engine.create_quote(T, quote_params())
    policy = engine.bind_policy(T, quote["id"], consent_now(engine, T))
    with pytest.raises(Conflict) as err:
        engine.bind_policy(T, quote["id"], consent_now(engine, T))
    assert err.value.code == "quote_already_bound"
    assert policy["id"] in err.value.message


def test_tenants_never_see_each_others_objects(engine: Engine) -> None:
    quote = engine.create_quote(T, quote_params())
    policy = engine.bind_policy(T, quote["id"], consent_now(engine, T))
    calls: list[Callable[[], object]] = [
        lambda: engine.get_quote(OTHER, quote["id"]),
        lambda: engine.bind_policy(OTHER, quote["id"], consent_now(engine, OTHER)),
        lambda: engine.get_policy(OTHER, policy["id"]),
        lambda: engine.cancel_policy(OTHER, policy["id"], reason="x"),
        lambda: engine.get_event(OTHER, engine.list_events(T)["data"][0]["id"]),
    ]
    for call in calls:
        with pytest.raises(NotFound) as err:
            call()
        assert (error_status(err.value), err.value.code) == (404, "resource_missing")
    assert engine.list_policies(OTHER)["data"] == []
    assert engine.list_events(OTHER)["data"] == []
    assert engine.ledger(OTHER)["entries"] == []


# --- cancellation and settlement ------------------------------------------------------------------


def _refund_reference(engine: Engine, policy: dict[str, Any], on: dt.date, **quote_kwargs: Any) -> int:
    kw: dict[str, Any] = {
        "product": "consumer_installment",
        "principal": "12999.00",
        "months": 12,
        "rate": "0.12",
        "score": 720,
    }
    kw.update(quote_kwargs)
    losses = ref_expected_losses(kw["product"], kw["principal"], kw["months"], kw["rate"], kw["score"])
    dues = [dt.date.fromisoformat(i["due_date"]) for i in policy["installments"]]
    return ref_refund(
        policy["premium"]["amount"], dt.date.fromisoformat(policy["bound_at"][:10]), dues, losses, on
    )


@pytest.mark.parametrize("days", [0, 14, 15])
def test_cancel_within_cooling_off_refunds_full_premium(engine: Engine, days: int) -> None:
    policy = bound_policy(engine)
    engine.advance(T, days * DAY)
    cancelled = engine.cancel_policy(T, policy["id"], reason="order_refunded")
    assert cancelled["status"] == "cancelled"
    assert cancelled["refund"] == policy["premium"]
    assert cancelled["cancel_reason"] == "order_refunded"
    assert cancelled["version"] == 2
    assert check_ledger(engine, T)["refunds"] == policy["premium"]["amount"]


def test_cancel_the_day_after_cooling_off_refunds_unearned_premium(engine: Engine) -> None:
    policy = bound_policy(engine)
    engine.advance(T, 16 * DAY)  # 2027-01-26, cooling-off ended 2027-01-25
    cancelled = engine.cancel_policy(T, policy["id"], reason="order_refunded")
    expected = _refund_reference(engine, policy, dt.date(2027, 1, 26))
    assert cancelled["refund"]["amount"] == expected
    assert 0 < expected < policy["premium"]["amount"]
    totals = check_ledger(engine, T)
    assert totals["insurer_balance"] == policy["premium"]["amount"] - expected


def test_cancel_months_later_refunds_by_exposure(engine: Engine) -> None:
    policy = bound_policy(engine)
    for n in range(1, 4):  # keep the loan current
        engine.create_repayment(
            T,
            {
                "policy_id": policy["id"],
                "installment": n,
                "amount": policy["installments"][n - 1]["amount"],
                "paid_at": "2027-01-10T09:00:00Z",
            },
        )
    engine.advance(T, 100 * DAY)  # 2027-04-20: inside period 4 (2027-04-15 .. 2027-05-15)
    cancelled = engine.cancel_policy(T, policy["id"], reason="requested_by_customer")
    assert cancelled["refund"]["amount"] == _refund_reference(engine, policy, dt.date(2027, 4, 20))


def test_sme_cancel_on_bind_day_is_full_and_next_day_is_not(engine: Engine) -> None:
    kw: dict[str, Any] = {"product": "sme_loan", "principal": "100000.00", "score": 700}
    first = bound_policy(engine, **kw)
    assert engine.cancel_policy(T, first["id"], reason="x")["refund"] == first["premium"]
    second = bound_policy(engine, **kw)
    engine.advance(T, DAY)
    refund = engine.cancel_policy(T, second["id"], reason="x")["refund"]["amount"]
    assert refund == _refund_reference(engine, second, dt.date(2027, 1, 11), **kw)
    assert refund < second["premium"]["amount"]


def test_cancel_preview_writes_nothing(engine: Engine) -> None:
    policy = bound_policy(engine)
    engine.advance(T, 20 * DAY)
    events_before = engine.list_events(T, limit=100)
    ledger_before = engine.ledger(T)
    preview = engine.cancel_policy(T, policy["id"], reason="x", preview=True)
    assert preview["preview"] is True and preview["status"] == "active" and preview["version"] == 1
    assert engine.list_events(T, limit=100) == events_before
    assert engine.ledger(T) == ledger_before
    assert engine.get_policy(T, policy["id"])["refund"] is None
    assert engine.cancel_policy(T, policy["id"], reason="x")["refund"] == preview["refund"]


def _cancel_and_settle_refused(engine: Engine, policy_id: str, code: str) -> None:
    """Both cancel and settle answer 409 ``code``, naming the policy."""
    with pytest.raises(Conflict) as cancelled:
        engine.cancel_policy(T, policy_id, reason="x")
    with pytest.raises(Conflict) as settled:
        engine.settle_policy(T, policy_id)
    for err in (cancelled, settled):
        assert err.value.code == code and policy_id in err.value.message


def test_cancel_twice_answers_already_cancelled_naming_the_policy(engine: Engine) -> None:
    policy = bound_policy(engine)
    engine.cancel_policy(T, policy["id"], reason="x")
    _cancel_and_settle_refused(engine, policy["id"], "policy_already_cancelled")


def test_cancel_or_settle_a_completed_policy_answers_already_completed(engine: Engine) -> None:
    policy = bound_policy(engine)
    engine.advance(T, 3 * DAY)
    engine.settle_policy(T, policy["id"])
    _cancel_and_settle_refused(engine, policy["id"], "policy_already_completed")


def test_settle_refunds_unearned_premium_without_cooling_off(engine: Engine) -> None:
    policy = bound_policy(engine)
    engine.advance(T, 3 * DAY)
    settled = engine.settle_policy(T, policy["id"])
    expected = _refund_reference(engine, policy, dt.date(2027, 1, 13))
    assert settled["refund"]["amount"] == expected < policy["premium"]["amount"]
    assert settled["status"] == "completed" and settled["settled_on"] == "2027-01-13"
    assert all(i["status"] == "paid" for i in settled["installments"])
    [_, event] = engine.list_events(T)["data"]
    assert event["type"] == "policy.completed" and event["data"]["version"] == 2
    check_ledger(engine, T)


def test_settle_on_a_past_date_and_preview(engine: Engine) -> None:
    policy = bound_policy(engine)
    engine.advance(T, 30 * DAY)
    preview = engine.settle_policy(T, policy["id"], settled_on=dt.date(2027, 1, 20), preview=True)
    assert preview["status"] == "active" and preview["preview"] is True
    assert preview["refund"]["amount"] == _refund_reference(engine, policy, dt.date(2027, 1, 20))
    with pytest.raises(Invalid) as err:
        engine.settle_policy(T, policy["id"], settled_on=dt.date(2027, 1, 9))
    assert err.value.param == "settled_on"


# --- lists ----------------------------------------------------------------------------------------


def test_list_policies_pages_oldest_first_with_filters(engine: Engine) -> None:
    ids = []
    for n in range(5):
        params = quote_params()
        params["merchant_order_id"] = f"ORD-{n}"
        ids.append(engine.bind_policy(T, engine.create_quote(T, params)["id"], consent_now(engine, T))["id"])
        engine.advance(T, MINUTE)
    engine.cancel_policy(T, ids[1], reason="x")
    first = engine.list_policies(T, limit=2)
    assert (
        [p["id"] for p in first["data"]] == ids[:2] and first["has_more"] and first["next_cursor"] == ids[1]
    )
    rest = engine.list_policies(T, limit=10, starting_after=first["next_cursor"])
    assert [p["id"] for p in rest["data"]] == ids[2:] and not rest["has_more"] and rest["next_cursor"] is None
    assert [p["id"] for p in engine.list_policies(T, status="cancelled")["data"]] == [ids[1]]
    assert [p["id"] for p in engine.list_policies(T, merchant_order_id="ORD-3")["data"]] == [ids[3]]
    gte = START + 2 * MINUTE
    assert [p["id"] for p in engine.list_policies(T, created_gte=gte)["data"]] == ids[2:]
    with pytest.raises(Invalid) as err:
        engine.list_policies(T, limit=101)
    assert err.value.param == "limit"
    with pytest.raises(Invalid) as err:
        engine.list_policies(T, starting_after="pol_nope")
    assert err.value.param == "starting_after"


# --- idempotency ----------------------------------------------------------------------------------


def _bind_op(engine: Engine, quote_id: str) -> Any:
    return lambda: (200, engine.bind_policy(T, quote_id, consent_now(engine, T)))


def test_idempotent_replay_returns_the_stored_response(engine: Engine, keys: Idempotency) -> None:
    quote = engine.create_quote(T, quote_params())
    status, body, replayed = keys.run(T, "key-1", "fp-a", _bind_op(engine, quote["id"]))
    assert (status, replayed) == (200, False)
    again = keys.run(T, "key-1", "fp-a", _bind_op(engine, quote["id"]))
    assert again == (200, body, True)
    assert len(engine.list_policies(T)["data"]) == 1


def test_idempotency_key_reused_with_another_body(engine: Engine, keys: Idempotency) -> None:
    quote = engine.create_quote(T, quote_params())
    keys.run(T, "key-1", "fp-a", _bind_op(engine, quote["id"]))
    with pytest.raises(Invalid) as err:
        keys.run(T, "key-1", "fp-b", _bind_op(engine, quote["id"]))
    assert (error_status(err.value), err.value.code, err.value.param) == (
        422,
        "idempotency_key_reused",
        "Idempotency-Key",
    )


def test_idempotency_keys_are_per_tenant_and_kept_24_hours(engine: Engine, keys: Idempotency) -> None:
    calls = []

    def op() -> tuple[int, dict[str, Any]]:
        calls.append(1)
        return 200, {"n": len(calls)}

    keys.run(T, "k", "fp", op)
    assert keys.run(OTHER, "k", "other-fp", op)[2] is False
    engine.advance(T, dt.timedelta(hours=23, minutes=59))
    assert keys.run(T, "k", "fp", op) == (200, {"n": 1}, True)
    engine.advance(T, MINUTE)
    assert keys.run(T, "k", "fp-new", op) == (200, {"n": 3}, False)


def test_an_error_outcome_is_stored_and_replayed(engine: Engine, keys: Idempotency) -> None:
    quote = engine.create_quote(T, quote_params(score=500))
    with pytest.raises(Conflict):
        keys.run(T, "k", "fp", _bind_op(engine, quote["id"]))
    status, body, replayed = keys.run(T, "k", "fp", lambda: pytest.fail("must not run again"))
    assert isinstance(body, dict)
    assert (status, body["error"]["code"], replayed) == (409, "quote_not_bindable", True)


def test_an_answer_given_as_json_text_is_stored_and_replayed_as_that_text(keys: Idempotency) -> None:
    text = JSONText('{"object":"quote_batch","data":[{"object":"error","message":"订单"}]}')
    assert keys.run(T, "t", "fp", lambda: (200, text)) == (200, text, False)
    assert keys.run(T, "t", "fp", lambda: pytest.fail("must not run again")) == (200, text, True)


def test_error_outcome_rolls_back_the_ops_writes(engine: Engine, keys: Idempotency) -> None:
    def op() -> tuple[int, dict[str, Any]]:
        engine.create_quote(T, quote_params())
        raise Conflict("something", "went wrong after a write")

    with pytest.raises(Conflict):
        keys.run(T, "k", "fp", op)
    fresh = Engine(now=START)
    # the quote and its id were rolled back: the next quote gets the first id a fresh engine gives
    assert engine.create_quote(T, quote_params())["id"] == fresh.create_quote(T, quote_params())["id"]
    fresh.close()
    assert engine.list_events(T)["data"] == [] and keys.run(T, "k", "fp", op)[1:] == (
        {
            "error": {
                "type": "conflict_error",
                "code": "something",
                "message": "went wrong after a write",
                "param": None,
            }
        },
        True,
    )


def test_a_request_still_running_is_in_progress(engine: Engine, keys: Idempotency) -> None:
    quote = engine.create_quote(T, quote_params())
    started, release = threading.Event(), threading.Event()
    results: list[Any] = []

    def slow() -> tuple[int, dict[str, Any]]:
        started.set()
        assert release.wait(10)
        return 200, engine.bind_policy(T, quote["id"], consent_now(engine, T))

    worker = threading.Thread(target=lambda: results.append(keys.run(T, "k", "fp", slow)))
    worker.start()
    assert started.wait(10)
    with pytest.raises(Conflict) as err:
        keys.run(T, "k", "fp", slow)
    assert (error_status(err.value), err.value.code) == (409, "idempotency_request_in_progress")
    release.set()
    worker.join(10)
    [(status, body, replayed)] = results
    assert (status, replayed) == (200, False)
    assert keys.run(T, "k", "fp", slow) == (200, body, True)


def test_fifty_threads_binding_one_quote_make_one_policy(engine: Engine, keys: Idempotency) -> None:
    quote = engine.create_quote(T, quote_params())
    barrier = threading.Barrier(50)
    outcomes: list[str] = []
    lock = threading.Lock()

    def bind(n: int) -> None:
        barrier.wait(10)
        try:
            keys.run(T, f"key-{n}", "fp", _bind_op(engine, quote["id"]))
            result = "bound"
        except Conflict as exc:
            result = exc.code
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=bind, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["bound"] + ["quote_already_bound"] * 49
    assert len(engine.list_policies(T)["data"]) == 1
    assert len(engine.ledger(T)["entries"]) == 1


# --- extension points -----------------------------------------------------------------------------


def test_subscribers_get_committed_events_only(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, str]] = []
    engine.subscribe(lambda tenant, event: seen.append((tenant, event["type"])))
    engine.subscribe(lambda tenant, event: 1 / 0)  # a failing subscriber is logged, not fatal
    quote = engine.create_quote(T, quote_params())
    monkeypatch.setattr(engine, "_post", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        engine.bind_policy(T, quote["id"], consent_now(engine, T))
    monkeypatch.undo()
    assert seen == []
    engine.bind_policy(T, quote["id"], consent_now(engine, T))
    assert seen == [(T, "policy.bound")]


def test_scheduled_hooks_fire_in_clock_order_with_transitions(engine: Engine) -> None:
    fired: list[tuple[str, str, str]] = []

    def hook(tenant: str, payload: dict[str, Any]) -> None:
        fired.append((tenant, payload["n"], engine.clock(tenant)["now"]))
        if payload["n"] == "first":  # a hook may schedule the next one (a webhook retry)
            engine.schedule_hook(
                tenant, "retry", engine.now(tenant) + dt.timedelta(minutes=5), {"n": "again"}
            )

    engine.add_scheduled_hook("retry", hook)
    engine.create_quote(T, quote_params(score=None))  # decided at 09:30
    engine.schedule_hook(T, "retry", START + dt.timedelta(minutes=40), {"n": "second"})
    engine.schedule_hook(T, "retry", START + dt.timedelta(minutes=20), {"n": "first"})
    engine.schedule_hook(T, "unknown", START + dt.timedelta(minutes=1), {})  # no handler: dropped
    engine.advance(T, dt.timedelta(hours=1))
    assert fired == [
        (T, "first", "2027-01-10T09:20:00Z"),
        (T, "again", "2027-01-10T09:25:00Z"),
        (T, "second", "2027-01-10T09:40:00Z"),
    ]
    assert engine.list_events(T)["data"][0]["timestamp"] == "2027-01-10T09:30:00Z"


def test_record_event_lists_and_publishes_an_extension_event(engine: Engine) -> None:
    seen: list[str] = []
    engine.subscribe(lambda tenant, event: seen.append(event["id"]))
    event = engine.record_event(T, "webhook_endpoint.disabled", {"id": "whe_1", "version": 2})
    assert engine.get_event(T, event["id"]) == event and seen == [event["id"]]
    with pytest.raises(Invalid):
        engine.record_event(T, "made.up", {})
