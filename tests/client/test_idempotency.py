"""Every POST carries one Idempotency-Key for all of its attempts; GETs carry none."""

from __future__ import annotations

import httpx
import pytest
import respx

import yangguang_sdk as yg

from ._support import Api, Server, error_body, ok, policy_json, status


def keys(requests: list[httpx.Request]) -> list[str | None]:
    return [r.headers.get("idempotency-key") for r in requests]


async def test_all_attempts_of_one_post_carry_the_same_key(api: Api) -> None:
    server = Server(
        status(503),
        lambda r: httpx.ConnectError("reset", request=r),
        status(409, error_body("idempotency_request_in_progress")),
        ok(policy_json()),
    )
    client = api.client(server, max_retries=3)
    policy = await api.call(client.policies.bind, quote_id="quo_1")
    assert server.count == 4
    sent = keys(server.requests)
    assert sent[0] and len(set(sent)) == 1
    assert policy.last_response.idempotency_key == sent[0]
    assert policy.last_response.attempts == 4
    # and the same body every time
    assert len({r.content for r in server.requests}) == 1


async def test_two_calls_get_different_keys(api: Api) -> None:
    server = Server(ok(policy_json()))
    client = api.client(server)
    first = await api.call(client.policies.bind, quote_id="quo_1")
    second = await api.call(client.policies.bind, quote_id="quo_1")
    k1, k2 = keys(server.requests)
    assert k1 and k2 and k1 != k2
    assert (first.last_response.idempotency_key, second.last_response.idempotency_key) == (k1, k2)


async def test_idempotency_key_argument_sets_the_key_for_every_attempt(api: Api) -> None:
    server = Server(status(500), status(502), ok(policy_json()))
    client = api.client(server)
    await api.call(client.policies.bind, quote_id="quo_1", idempotency_key="ORD-1001-bind")
    assert keys(server.requests) == ["ORD-1001-bind"] * 3


@pytest.mark.parametrize("method", ["retrieve", "list"])
async def test_gets_carry_no_key(api: Api, method: str) -> None:
    body = policy_json() if method == "retrieve" else {"data": [], "has_more": False, "next_cursor": None}
    server = Server(status(503), ok(body))
    client = api.client(server)
    if method == "retrieve":
        await api.call(client.policies.retrieve, "pol_1")
    else:
        await api.call(client.policies.list)
    assert [r.method for r in server.requests] == ["GET", "GET"]
    assert keys(server.requests) == [None, None]


async def test_every_post_method_sends_a_key(api: Api, router: respx.MockRouter) -> None:
    routes = [
        router.post("/v1/policies/pol_1/cancel").respond(200, json=policy_json(status="cancelled")),
        router.post("/v1/policies/pol_1/settle").respond(200, json=policy_json(status="completed")),
        router.post("/v1/test_clock/advance").respond(200, json={"now": "2026-12-01T00:00:00Z"}),
    ]
    client = api.client()
    await api.call(client.policies.cancel, "pol_1", reason="order_refunded")
    await api.call(client.policies.settle, "pol_1")
    await api.call(client.test_clock.advance, hours=1)
    for r in routes:
        assert r.calls.last.request.headers["idempotency-key"]


@pytest.mark.parametrize("bad", ["", "x" * 256, "line\nbreak", 42])
async def test_a_bad_idempotency_key_is_refused_before_sending(api: Api, bad: object) -> None:
    server = Server(ok(policy_json()))
    client = api.client(server)
    with pytest.raises(yg.ParameterError) as info:
        await api.call(client.policies.bind, quote_id="quo_1", idempotency_key=bad)
    assert info.value.param == "idempotency_key"
    assert server.count == 0


async def test_a_reused_key_with_another_body_is_an_idempotency_error_and_not_retried(api: Api) -> None:
    server = Server(status(422, error_body("idempotency_key_reused", "Key reused with another body.")))
    client = api.client(server)
    with pytest.raises(yg.IdempotencyError) as info:
        await api.call(client.policies.bind, quote_id="quo_2", idempotency_key="ORD-1")
    assert isinstance(info.value, yg.InvalidRequestError)
    assert info.value.code == "idempotency_key_reused"
    assert server.count == 1


async def test_a_replayed_answer_is_visible_on_last_response(api: Api) -> None:
    server = Server(ok(policy_json(), headers={"idempotent-replayed": "true"}))
    client = api.client(server)
    policy = await api.call(client.policies.bind, quote_id="quo_1", idempotency_key="ORD-1")
    assert policy.last_response.replayed is True


# -- keys in any script (issue 10) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "header"),
    [
        ("订单-1", "UTF-8''%E8%AE%A2%E5%8D%95-1"),
        ("ORD 1001 ", "UTF-8''ORD%201001%20"),  # a trailing space would not survive a header
        ("UTF-8''ORD-1", "UTF-8''UTF-8%27%27ORD-1"),  # an ASCII key that looks encoded is encoded
        ("ORD-1001-bind", "ORD-1001-bind"),  # printable ASCII is sent as it is
        ("a%20b", "a%20b"),
    ],
)
async def test_a_key_that_is_not_plain_ascii_is_sent_percent_encoded_behind_a_marker(
    api: Api, key: str, header: str
) -> None:
    server = Server(ok(policy_json()))
    client = api.client(server)
    policy = await api.call(client.policies.bind, quote_id="quo_1", idempotency_key=key)
    assert keys(server.requests) == [header]
    assert policy.last_response.idempotency_key == key  # what you passed, not its header form


@pytest.mark.parametrize("key", ["订单-1", "ORD 1001 ", "UTF-8''ORD-1", "ORD-1001-bind", "a%20b", "é" * 255])
def test_the_header_form_of_a_key_decodes_to_the_key(key: str) -> None:
    from yangguang_sdk._request import idempotency_key_from_header, idempotency_key_header

    header = idempotency_key_header(key)
    assert header.isascii() and header == header.strip()
    assert idempotency_key_from_header(header) == key


@pytest.mark.parametrize("bad", ["订单\n1", "\u200b", "é" * 256])
async def test_a_unicode_key_still_follows_the_1_to_255_printable_characters_rule(api: Api, bad: str) -> None:
    server = Server(ok(policy_json()))
    client = api.client(server)
    with pytest.raises(yg.ParameterError) as info:
        await api.call(client.policies.bind, quote_id="quo_1", idempotency_key=bad)
    assert info.value.param == "idempotency_key"
    assert "1-255" in str(info.value) or "1–255" in str(info.value)
    assert server.count == 0
