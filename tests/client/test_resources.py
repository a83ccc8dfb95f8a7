"""Resource methods: checked arguments (nothing is sent when they are wrong), the wire body, parsing."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx
import pytest

import yangguang_sdk as yg

from ._support import Api, Server, clock_json, ok, policy_json, quote_json

UTC = dt.timezone.utc


def borrower(**changes: Any) -> dict[str, Any]:
    b = {
        "type": "individual",
        "name": "张三",
        "id_number": "11010519491231002X",
        "phone": "13800138000",
        "credit_score": 720,
    }
    b.update(changes)
    return b


def loan(**changes: Any) -> dict[str, Any]:
    terms = {
        "principal": yg.Money.cny("12999.00"),
        "term_months": 12,
        "annual_rate": "0.12",
        "first_due_date": "2026-12-25",
    }
    terms.update(changes)
    return terms


async def create_quote(api: Api, client: Any, **changes: Any) -> Any:
    args: dict[str, Any] = {
        "product": "consumer_installment",
        "merchant_order_id": "ORD-1001",
        "borrower": borrower(),
        "loan": loan(),
    }
    args.update(changes)
    return await api.call(client.quotes.create, **args)


async def test_quote_create_sends_the_wire_body(api: Api) -> None:
    server = Server(ok(quote_json()))
    client = api.client(server)
    quote = await create_quote(api, client)
    sent = server.requests[0]
    assert (sent.method, sent.url.path) == ("POST", "/v1/quotes")
    assert json.loads(sent.content) == {
        "product": "consumer_installment",
        "merchant_order_id": "ORD-1001",
        "borrower": {
            "type": "individual",
            "name": "张三",
            "id_number": "11010519491231002X",
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
    assert quote.decision == "approved" and quote.premium == yg.Money.cny("123.45")
    info = quote.last_response
    assert (info.status_code, info.request_id, info.attempts) == (200, "req_ok", 1)
    assert info.idempotency_key == sent.headers["idempotency-key"]


async def test_an_enterprise_borrower_is_sent_with_its_uscc(api: Api) -> None:
    server = Server(ok(quote_json(product="sme_loan")))
    client = api.client(server)
    enterprise = {
        "type": "enterprise",
        "name": "阳光制造有限公司",
        "uscc": "91110000600037341l",
        "credit_score": 680,
    }
    await create_quote(
        api,
        client,
        product="sme_loan",
        borrower=enterprise,
        beneficiary={"type": "bank", "name": "示例银行", "uscc": "91110000ma01bank02"},
        loan=loan(principal=yg.Money.cny(500_000), term_months=24),
    )
    sent = json.loads(server.requests[0].content)
    assert sent["beneficiary"] == {"type": "bank", "name": "示例银行", "uscc": "91110000MA01BANK02"}
    assert json.loads(server.requests[0].content)["borrower"]["uscc"] == "91110000600037341L"


@pytest.mark.parametrize(
    ("changes", "param"),
    [
        ({"borrower": borrower(nmae="张三")}, "borrower.nmae"),
        ({"borrower": borrower(phon="13800138000")}, "borrower.phon"),
        ({"loan": loan(term_month=12)}, "loan.term_month"),
        ({"borrower": borrower(id_number="11010519491231002Y")}, "borrower.id_number"),
        ({"borrower": borrower(id_number="11010519490231002X")}, "borrower.id_number"),
        ({"borrower": borrower(phone="23800138000")}, "borrower.phone"),
        ({"borrower": borrower(credit_score=900)}, "borrower.credit_score"),
        ({"borrower": borrower(credit_score=720.0)}, "borrower.credit_score"),
        ({"loan": loan(principal=12999.0)}, "loan.principal"),
        ({"loan": loan(principal={"amount": 12999.5, "currency": "CNY"})}, "loan.principal"),
        ({"loan": loan(principal=yg.Money.cny(0))}, "loan.principal"),
        ({"loan": loan(annual_rate=0.12)}, "loan.annual_rate"),
        ({"loan": loan(first_due_date="2026-02-30")}, "loan.first_due_date"),
        ({"product": "payday_loan"}, "product"),
        ({"merchant_order_id": "ORD 1001"}, "merchant_order_id"),
        (
            {"borrower": {"type": "enterprise", "name": "x", "uscc": "91110000600037341L", "id_number": "1"}},
            "borrower.id_number",
        ),
    ],
)
async def test_bad_quote_input_is_a_parameter_error_before_any_request(
    api: Api, changes: dict[str, Any], param: str
) -> None:
    server = Server(ok(quote_json()))
    client = api.client(server)
    with pytest.raises(yg.ParameterError) as info:
        await create_quote(api, client, **changes)
    assert info.value.param == param
    assert str(info.value).startswith(param + ":")
    assert server.count == 0  # nothing was sent
    for value in ("11010519491231002", "3800138000"):
        assert value not in str(info.value)


@pytest.mark.parametrize(
    ("changes", "param", "suggestion"),
    [
        (
            {"borrower": {"type": "individual", "nmae": "张三", "id_number": "11010519491231002X"}},
            "borrower.nmae",
            "name",
        ),
        (
            {
                "loan": {
                    "principal": yg.Money.cny(1000),
                    "term_month": 12,
                    "annual_rate": "0.1",
                    "first_due_date": "2026-12-25",
                }
            },
            "loan.term_month",
            "term_months",
        ),
    ],
)
async def test_a_misspelt_required_field_is_named_with_a_suggestion(
    api: Api, changes: dict[str, Any], param: str, suggestion: str
) -> None:
    server = Server(ok(quote_json()))
    client = api.client(server)
    with pytest.raises(yg.ParameterError) as info:
        await create_quote(api, client, **changes)
    assert info.value.param == param
    assert f"did you mean {suggestion!r}?" in str(info.value)
    assert server.count == 0


async def test_a_typo_is_called_a_typo(api: Api) -> None:
    client = api.client(Server(ok(quote_json())))
    with pytest.raises(yg.ParameterError, match="unknown field") as info:
        await create_quote(api, client, borrower=borrower(nmae="张三"))
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("method", "args", "param"),
    [
        ("policies.retrieve", ("../admin",), "policy_id"),
        ("policies.retrieve", ("quo_1",), "policy_id"),
        ("policies.cancel", ("pol_1/../x",), "policy_id"),
        ("quotes.retrieve", ("",), "quote_id"),
        ("claims.retrieve", (None,), "claim_id"),
        ("events.retrieve", ("evt_" + "a" * 80,), "event_id"),
        ("webhook_endpoints.delete", ("whe_1?x=1",), "endpoint_id"),
    ],
)
async def test_ids_are_checked_before_they_go_into_a_path(
    api: Api, method: str, args: tuple[Any, ...], param: str
) -> None:
    server = Server(ok())
    client = api.client(server)
    resource, name = method.split(".")
    with pytest.raises(yg.ParameterError) as info:
        await api.call(getattr(getattr(client, resource), name), *args)
    assert info.value.param == param
    assert server.count == 0


@pytest.mark.parametrize(
    ("call", "kwargs", "param"),
    [
        ("policies.list", {"created_gte": dt.datetime(2026, 11, 1)}, "created_gte"),
        ("events.list", {"created_gte": "2026-11-01"}, "created_gte"),
        ("policies.list", {"limit": 0}, "limit"),
        ("claims.list", {"limit": 101}, "limit"),
        ("repayments.list", {"policy_id": "clm_1"}, "policy_id"),
        ("test_clock.advance", {}, "days"),
        ("test_clock.advance", {"days": -1}, "days"),
        ("test_clock.advance", {"hours": 1.5}, "hours"),
        ("webhook_endpoints.create", {"url": "ftp://x"}, "url"),
        ("webhook_endpoints.create", {"url": "https://x", "signing": "rsa"}, "signing"),
    ],
)
async def test_other_arguments_are_checked_before_sending(
    api: Api, call: str, kwargs: dict[str, Any], param: str
) -> None:
    server = Server(ok())
    client = api.client(server)
    resource, name = call.split(".")
    with pytest.raises(yg.ParameterError) as info:
        await api.call(getattr(getattr(client, resource), name), **kwargs)
    assert info.value.param == param
    assert server.count == 0


async def test_repayment_refuses_a_naive_paid_at_and_a_float_amount(api: Api) -> None:
    server = Server(ok())
    client = api.client(server)
    with pytest.raises(yg.ParameterError) as info:
        await api.call(
            client.repayments.create,
            policy_id="pol_1",
            installment=1,
            amount=yg.Money.cny("1158.04"),
            paid_at=dt.datetime(2026, 12, 25, 9),
        )
    assert info.value.param == "paid_at"
    with pytest.raises(yg.ParameterError) as info:
        await api.call(
            client.repayments.create,
            policy_id="pol_1",
            installment=1,
            amount=1158.04,
            paid_at=dt.datetime(2026, 12, 25, 9, tzinfo=UTC),
        )
    assert info.value.param == "amount"
    assert server.count == 0


ROUTES: list[tuple[str, tuple[Any, ...], dict[str, Any], str, str, Any]] = [
    ("quotes.retrieve", ("quo_1",), {}, "GET", "/v1/quotes/quo_1", None),
    ("policies.bind", (), {"quote_id": "quo_1"}, "POST", "/v1/policies", {"quote_id": "quo_1"}),
    ("policies.retrieve", ("pol_1",), {}, "GET", "/v1/policies/pol_1", None),
    (
        "policies.cancel",
        ("pol_1",),
        {"reason": "order_refunded", "preview": True},
        "POST",
        "/v1/policies/pol_1/cancel",
        {"reason": "order_refunded", "preview": True},
    ),
    (
        "policies.settle",
        ("pol_1",),
        {"settled_on": dt.date(2027, 3, 1)},
        "POST",
        "/v1/policies/pol_1/settle",
        {"settled_on": "2027-03-01", "preview": False},
    ),
    (
        "repayments.create",
        (),
        {
            "policy_id": "pol_1",
            "installment": 1,
            "amount": yg.Money.cny("1158.04"),
            "paid_at": dt.datetime(2026, 12, 25, 9, tzinfo=UTC),
        },
        "POST",
        "/v1/repayments",
        {
            "policy_id": "pol_1",
            "installment": 1,
            "amount": {"amount": 115804, "currency": "CNY"},
            "paid_at": "2026-12-25T09:00:00Z",
        },
    ),
    ("claims.retrieve", ("clm_1",), {}, "GET", "/v1/claims/clm_1", None),
    ("events.retrieve", ("evt_1",), {}, "GET", "/v1/events/evt_1", None),
    ("events.redeliver", ("evt_1",), {}, "POST", "/v1/events/evt_1/redeliver", {}),
    (
        "webhook_endpoints.create",
        (),
        {"url": "https://shop.test/hooks", "events": ["claim.paid"]},
        "POST",
        "/v1/webhook_endpoints",
        {"url": "https://shop.test/hooks", "events": ["claim.paid"], "signing": "ed25519"},
    ),
    ("webhook_endpoints.retrieve", ("whe_1",), {}, "GET", "/v1/webhook_endpoints/whe_1", None),
    ("webhook_endpoints.delete", ("whe_1",), {}, "DELETE", "/v1/webhook_endpoints/whe_1", None),
    (
        "webhook_endpoints.rotate_secret",
        ("whe_1",),
        {},
        "POST",
        "/v1/webhook_endpoints/whe_1/rotate_secret",
        {},
    ),
    ("test_clock.retrieve", (), {}, "GET", "/v1/test_clock", None),
    (
        "test_clock.advance",
        (),
        {"days": 81},
        "POST",
        "/v1/test_clock/advance",
        {"days": 81, "hours": 0, "minutes": 0},
    ),
]

RESPONSES: dict[str, dict[str, Any]] = {
    "quotes": quote_json(),
    "policies": policy_json(),
    "repayments": {
        "id": "rep_1",
        "policy_id": "pol_1",
        "installment": 1,
        "amount": {"amount": 115804},
        "paid_at": "2026-12-25T09:00:00Z",
    },
    "claims": {
        "id": "clm_1",
        "policy_id": "pol_1",
        "status": "open",
        "amount": {"amount": 1, "currency": "CNY"},
        "opened_at": "2026-11-25T02:00:00Z",
    },
    "events": {
        "id": "evt_1",
        "type": "policy.bound",
        "timestamp": "2026-11-25T02:00:00Z",
        "data": policy_json(),
    },
    "webhook_endpoints": {"id": "whe_1", "url": "https://shop.test/hooks", "secret": "whsk_c2VjcmV0"},
    "test_clock": clock_json(),
}


@pytest.mark.parametrize(
    ("call", "args", "kwargs", "method", "path", "body"), ROUTES, ids=[r[0] for r in ROUTES]
)
async def test_each_method_sends_its_request_and_parses_the_answer(
    api: Api, call: str, args: tuple[Any, ...], kwargs: dict[str, Any], method: str, path: str, body: Any
) -> None:
    resource, name = call.split(".")
    server = Server(ok(RESPONSES[resource]))
    client = api.client(server)
    result = await api.call(getattr(getattr(client, resource), name), *args, **kwargs)
    sent = server.requests[0]
    assert (sent.method, sent.url.path) == (method, path)
    assert (json.loads(sent.content) if sent.content else None) == body
    assert ("idempotency-key" in sent.headers) == (method == "POST")
    assert result.last_response.status_code == 200


async def test_list_filters_go_into_the_query(api: Api) -> None:
    server = Server(ok({"data": [], "has_more": False, "next_cursor": None}))
    client = api.client(server)
    since = dt.datetime(2026, 11, 1, 8, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    page = await api.call(
        client.policies.list, status="active", merchant_order_id="ORD-1", created_gte=since, limit=50
    )
    assert list(page.data) == []
    assert dict(server.requests[0].url.params) == {
        "status": "active",
        "merchant_order_id": "ORD-1",
        "created_gte": "2026-11-01T00:00:00Z",
        "limit": "50",
    }


async def test_responses_ignore_unknown_fields(api: Api) -> None:
    future = policy_json(loyalty_tier="gold", installments=[], reinsurer={"name": "X Re"})
    server = Server(ok(future))
    client = api.client(server)
    policy = await api.call(client.policies.retrieve, "pol_1")
    assert policy.id == "pol_1" and policy.status == "active"
    assert policy.to_dict()["loyalty_tier"] == "gold"


async def test_a_webhook_secret_is_not_in_the_repr(api: Api) -> None:
    server = Server(ok(RESPONSES["webhook_endpoints"]))
    client = api.client(server)
    endpoint = await api.call(client.webhook_endpoints.retrieve, "whe_1")
    assert endpoint.secret == "whsk_c2VjcmV0"
    assert "c2VjcmV0" not in repr(endpoint)


def test_a_redirect_is_not_followed() -> None:
    server = Server(httpx.Response(302, headers={"location": "http://elsewhere.test/v1/test_clock"}))
    with yg.Client(
        api_key="yg_test_abcd", base_url="http://insurer.test", transport=httpx.MockTransport(server)
    ) as c:
        with pytest.raises(Exception):  # noqa: B017 - whatever it raises, it must not follow
            c.test_clock.retrieve()
    assert server.count == 1


# -- text, several problems, borrower kinds, dates (issue 10) -----------------------------------


async def test_a_chinese_merchant_order_id_is_sent_as_it_is(api: Api) -> None:
    server = Server(ok(quote_json(merchant_order_id="订单-2026-0001")))
    client = api.client(server)
    quote = await create_quote(api, client, merchant_order_id="订单-2026-0001")
    assert json.loads(server.requests[0].content)["merchant_order_id"] == "订单-2026-0001"
    assert quote.merchant_order_id == "订单-2026-0001"


@pytest.mark.parametrize(
    ("order_id", "why"),
    [
        ("", "is empty"),
        ("订" * 65, "is 65 characters long"),
        ("订单 1", "whitespace"),
        (" ORD-1", "whitespace"),
        ("ORD-1\u3000", "whitespace"),
        ("ORD\x001", "control or invisible"),
        ("ORD\u200b1", "control or invisible"),
    ],
)
async def test_a_bad_merchant_order_id_is_refused_with_the_rule_in_words(
    api: Api, order_id: str, why: str
) -> None:
    server = Server(ok(quote_json()))
    client = api.client(server)
    with pytest.raises(yg.ParameterError) as info:
        await create_quote(api, client, merchant_order_id=order_id)
    message = str(info.value)
    assert info.value.param == "merchant_order_id"
    assert why in message and "1-64 characters" in message and "any script" in message
    assert "pattern" not in message and "\\x21" not in message
    assert server.count == 0


async def test_every_problem_is_in_errors_and_the_first_three_in_the_message(api: Api) -> None:
    server = Server(ok(quote_json()))
    client = api.client(server)
    bad_borrower = {
        "type": "individual",
        "name": "张三",
        "id_number": "11010519491231002Y",  # wrong check character
        "phone": "23800138000",
        "credit_score": 900,
    }
    bad_loan = loan(term_months=0, annual_rate=0.12)
    with pytest.raises(yg.ParameterError) as info:
        await create_quote(api, client, merchant_order_id="ORD 1", borrower=bad_borrower, loan=bad_loan)
    err = info.value
    params = [str(e["param"]) for e in err.errors]
    assert sorted(params) == sorted(
        [
            "merchant_order_id",
            "borrower.id_number",
            "borrower.phone",
            "borrower.credit_score",
            "loan.term_months",
            "loan.annual_rate",
        ]
    )
    assert err.param == params[0]
    assert all(isinstance(e["message"], str) and e["message"] for e in err.errors)
    assert not any(e["message"].startswith("Value error") for e in err.errors)  # pydantic's prefix
    message = str(err)
    shown = [f"{e['param']}: {e['message']}" for e in err.errors[:3]]
    assert message == "; ".join(shown) + "; and 3 more problems"
    for value in ("11010519491231002Y", "23800138000", "900"):
        assert value not in message and value not in repr(err.errors)
    assert server.count == 0


async def test_one_problem_reads_as_before_and_is_the_only_entry_of_errors(api: Api) -> None:
    client = api.client(Server(ok(quote_json())))
    with pytest.raises(yg.ParameterError) as info:
        await create_quote(api, client, borrower=borrower(credit_score=900))
    assert info.value.errors == [
        {"param": "borrower.credit_score", "message": info.value.errors[0]["message"]}
    ]
    assert str(info.value) == f"borrower.credit_score: {info.value.errors[0]['message']}"
    assert "more problem" not in str(info.value)


async def test_a_misspelt_field_is_one_problem_not_a_typo_and_a_missing_field(api: Api) -> None:
    client = api.client(Server(ok(quote_json())))
    with pytest.raises(yg.ParameterError) as info:
        await create_quote(
            api, client, borrower={"type": "individual", "nmae": "张三", "id_number": "11010519491231002X"}
        )
    assert [e["param"] for e in info.value.errors] == ["borrower.nmae"]
    assert str(info.value) == "borrower.nmae: unknown field (did you mean 'name'?)"


async def test_an_enterprise_borrower_given_an_id_number_is_pointed_to_uscc(api: Api) -> None:
    client = api.client(Server(ok(quote_json())))
    enterprise = {"type": "enterprise", "name": "阳光制造有限公司", "id_number": "91110000600037341L"}
    with pytest.raises(yg.ParameterError) as info:
        await create_quote(api, client, product="sme_loan", borrower=enterprise)
    assert info.value.param == "borrower.id_number"
    assert "did you mean 'uscc'?" in str(info.value) and "a typo" not in str(info.value)
    assert [e["param"] for e in info.value.errors] == ["borrower.id_number"]
    assert "91110000600037341L" not in str(info.value)


async def test_an_individual_borrower_given_a_uscc_is_pointed_to_id_number(api: Api) -> None:
    client = api.client(Server(ok(quote_json())))
    person = {"type": "individual", "name": "张三", "uscc": "11010519491231002X"}
    with pytest.raises(yg.ParameterError) as info:
        await create_quote(api, client, borrower=person)
    assert info.value.param == "borrower.uscc"
    assert "did you mean 'id_number'?" in str(info.value) and "a typo" not in str(info.value)
    assert "11010519491231002X" not in str(info.value)


@pytest.mark.parametrize(
    "value",
    [
        dt.datetime(2026, 12, 25),
        dt.datetime(2026, 12, 25, tzinfo=UTC),
        dt.datetime(2026, 12, 25, 8, 30, tzinfo=dt.timezone(dt.timedelta(hours=8))),
        "2026-12-25T00:00:00",
        "2026-12-25T00:00:00Z",
        1798156800,
    ],
)
async def test_a_datetime_first_due_date_is_refused_with_what_to_pass(api: Api, value: object) -> None:
    server = Server(ok(quote_json()))
    client = api.client(server)
    with pytest.raises(yg.ParameterError) as info:
        await create_quote(api, client, loan=loan(first_due_date=value))
    assert info.value.param == "loan.first_due_date"
    assert "YYYY-MM-DD" in str(info.value) and "date" in str(info.value)
    assert server.count == 0


@pytest.mark.parametrize("value", [dt.date(2026, 12, 25), "2026-12-25"])
async def test_a_date_or_a_yyyy_mm_dd_string_is_a_first_due_date(api: Api, value: object) -> None:
    server = Server(ok(quote_json()))
    client = api.client(server)
    await create_quote(api, client, loan=loan(first_due_date=value))
    assert json.loads(server.requests[0].content)["loan"]["first_due_date"] == "2026-12-25"


@pytest.mark.parametrize("value", [dt.datetime(2027, 3, 1), dt.datetime(2027, 3, 1, tzinfo=UTC)])
async def test_a_datetime_settled_on_is_refused_like_a_due_date(api: Api, value: object) -> None:
    server = Server(ok())
    client = api.client(server)
    with pytest.raises(yg.ParameterError) as info:
        await api.call(client.policies.settle, "pol_1", settled_on=value)
    assert info.value.param == "settled_on"
    assert "YYYY-MM-DD" in str(info.value)
    assert server.count == 0
