"""Building a client: key and URL from arguments or the environment, safe defaults, headers, timeouts."""

from __future__ import annotations

import platform
from typing import Any

import httpx
import pytest

import yangguang_sdk as yg
from yangguang_sdk._constants import API_VERSION

from ._support import API_KEY, BASE_URL, Api, Server, ok


@pytest.mark.parametrize("cls", [yg.Client, yg.AsyncClient])
def test_missing_api_key_names_the_argument_and_the_env_var(cls: type[Any]) -> None:
    with pytest.raises(yg.ConfigurationError) as info:
        cls(base_url=BASE_URL)
    assert "api_key=" in str(info.value) and "YANGGUANG_API_KEY" in str(info.value)


@pytest.mark.parametrize("cls", [yg.Client, yg.AsyncClient])
def test_missing_base_url_names_the_argument_and_the_env_var(cls: type[Any]) -> None:
    with pytest.raises(yg.ConfigurationError) as info:
        cls(api_key=API_KEY)
    assert "base_url=" in str(info.value) and "YANGGUANG_BASE_URL" in str(info.value)


async def test_env_vars_configure_the_client(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YANGGUANG_API_KEY", "yg_test_fromtheenv")
    monkeypatch.setenv("YANGGUANG_BASE_URL", "http://env.insurer.test:8765")
    server = Server(ok())
    client = api.client(server, api_key=None, base_url=None)
    await api.call(client.test_clock.retrieve)
    sent = server.requests[0]
    assert sent.headers["authorization"] == "Bearer yg_test_fromtheenv"
    assert str(sent.url) == "http://env.insurer.test:8765/v1/test_clock"


async def test_arguments_win_over_env_vars(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YANGGUANG_API_KEY", "yg_test_fromtheenv")
    monkeypatch.setenv("YANGGUANG_BASE_URL", "http://env.insurer.test")
    server = Server(ok())
    client = api.client(server)
    await api.call(client.test_clock.retrieve)
    assert server.requests[0].headers["authorization"] == f"Bearer {API_KEY}"
    assert server.requests[0].url.host == "insurer.test"


@pytest.mark.parametrize(
    "key",
    [
        "sk_test_4eC39HqLyjWDarjt",
        "yg_prod_abcdef",
        "yg_test_",
        "yg_test_abc",
        "yg_test_abcd\n",
        "yg_test_ab cd",
        "yg_test_abcd-efgh",
        " yg_test_abcd",
        "YG_TEST_abcd",
        "Bearer yg_test_abcd",
    ],
)
def test_a_malformed_key_is_refused_without_echoing_it(key: str) -> None:
    with pytest.raises(yg.ConfigurationError) as info:
        yg.Client(api_key=key, base_url=BASE_URL)
    assert "malformed" in str(info.value)
    secret = key.strip().split("_", 2)[-1]
    assert not secret or secret not in str(info.value)


def test_a_live_key_is_only_sent_over_https() -> None:
    with pytest.raises(yg.ConfigurationError) as info:
        yg.Client(api_key="yg_live_abcdefgh", base_url="http://api.insurer.test")
    assert "https" in str(info.value)
    assert "yg_live_abcdefgh" not in str(info.value)
    client = yg.Client(api_key="yg_live_abcdefgh", base_url="https://api.insurer.test")
    assert client.live
    client.close()


def test_a_test_key_may_use_plain_http_for_a_local_sandbox() -> None:
    client = yg.Client(api_key="yg_test_abcd", base_url="http://127.0.0.1:8765")
    assert not client.live
    client.close()


@pytest.mark.parametrize(
    "url", ["ftp://insurer.test", "localhost:8765", "127.0.0.1:8765", "not a url", "http://", "http://[::1"]
)
def test_a_base_url_that_is_not_http_is_refused(url: str) -> None:
    with pytest.raises(yg.ConfigurationError):
        yg.Client(api_key=API_KEY, base_url=url)


async def test_base_url_path_prefix_is_kept(api: Api) -> None:
    server = Server(ok())
    client = api.client(server, base_url="https://gw.insurer.test/yangguang")
    await api.call(client.test_clock.retrieve)
    assert str(server.requests[0].url) == "https://gw.insurer.test/yangguang/v1/test_clock"


async def test_every_request_carries_auth_user_agent_and_version(api: Api) -> None:
    server = Server(ok())
    client = api.client(server)
    await api.call(client.test_clock.advance, days=1)
    headers = server.requests[0].headers
    assert headers["authorization"] == f"Bearer {API_KEY}"
    assert headers["user-agent"] == (
        f"yangguang-sdk/{yg.__version__} python/{platform.python_version()} httpx/{httpx.__version__}"
    )
    assert headers["yangguang-version"] == API_VERSION == "2026-11-29"
    assert headers["accept"] == "application/json"
    assert headers["content-type"] == "application/json"


async def test_default_and_extra_headers_are_sent(api: Api) -> None:
    server = Server(ok())
    client = api.client(server, default_headers={"x-platform": "shop-1"})
    await api.call(client.test_clock.retrieve, extra_headers={"x-trace": "abc"})
    headers = server.requests[0].headers
    assert headers["x-platform"] == "shop-1" and headers["x-trace"] == "abc"


def test_http_client_is_used_and_left_open() -> None:
    server = Server(ok())
    own = httpx.Client(transport=httpx.MockTransport(server))
    client = yg.Client(api_key=API_KEY, base_url=BASE_URL, http_client=own)
    assert client._client is own
    client.test_clock.retrieve()
    assert server.count == 1
    client.close()
    assert not own.is_closed  # it is the caller's to close
    own.close()


async def test_async_http_client_is_used_and_left_open() -> None:
    server = Server(ok())
    own = httpx.AsyncClient(transport=httpx.MockTransport(server))
    client = yg.AsyncClient(api_key=API_KEY, base_url=BASE_URL, http_client=own)
    await client.test_clock.retrieve()
    assert server.count == 1
    await client.close()
    assert not own.is_closed
    await own.aclose()


async def test_transport_is_accepted_and_the_pool_closed_on_exit() -> None:
    server = Server(ok())
    with yg.Client(api_key=API_KEY, base_url=BASE_URL, transport=httpx.MockTransport(server)) as client:
        client.test_clock.retrieve()
    assert client._client.is_closed
    async with yg.AsyncClient(
        api_key=API_KEY, base_url=BASE_URL, transport=httpx.MockTransport(server)
    ) as aclient:
        await aclient.test_clock.retrieve()
    assert aclient._client.is_closed
    assert server.count == 2


def test_http_client_and_transport_together_are_refused() -> None:
    own = httpx.Client()
    with pytest.raises(yg.ConfigurationError):
        yg.Client(
            api_key=API_KEY, base_url=BASE_URL, http_client=own, transport=httpx.MockTransport(Server(ok()))
        )
    own.close()


@pytest.mark.parametrize("key", [API_KEY, "yg_live_9Qz8Wx7Vy6Ut5Sr4"])
def test_repr_of_a_client_never_shows_the_key(key: str) -> None:
    client = yg.Client(api_key=key, base_url="https://api.insurer.test")
    secret = key.split("_", 2)[2]
    for text in (repr(client), str(client), repr(client.with_options(max_retries=1)), repr(client.quotes)):
        assert secret not in text
    assert "****" in repr(client)
    client.close()


# -- timeouts and deadline -----------------------------------------------------------------------


async def timeouts_seen(api: Api, client_kwargs: dict[str, Any], **call_kwargs: Any) -> dict[str, float]:
    server = Server(ok())
    client = api.client(server, **client_kwargs)
    await api.call(client.test_clock.retrieve, **call_kwargs)
    return dict(server.requests[0].extensions["timeout"])


async def test_default_timeout_is_20s_with_5s_to_connect(api: Api) -> None:
    assert await timeouts_seen(api, {}) == {"connect": 5.0, "read": 20.0, "write": 20.0, "pool": 20.0}


async def test_client_timeout_and_per_call_timeout(api: Api) -> None:
    assert await timeouts_seen(api, {"timeout": 3}) == {
        "connect": 3.0,
        "read": 3.0,
        "write": 3.0,
        "pool": 3.0,
    }
    custom = httpx.Timeout(10.0, connect=1.0, read=30.0)
    assert await timeouts_seen(api, {"timeout": custom}) == {
        "connect": 1.0,
        "read": 30.0,
        "write": 10.0,
        "pool": 10.0,
    }
    assert (await timeouts_seen(api, {"timeout": 3}, timeout=7))["read"] == 7.0


async def test_no_timeout_means_the_deadline_bounds_each_attempt(api: Api) -> None:
    assert await timeouts_seen(api, {"timeout": None}) == {
        "connect": 60.0,
        "read": 60.0,
        "write": 60.0,
        "pool": 60.0,
    }
    assert (await timeouts_seen(api, {}, deadline=4))["read"] == 4.0


async def test_with_options_timeout(api: Api) -> None:
    server = Server(ok())
    client = api.client(server).with_options(timeout=2.5)
    await api.call(client.test_clock.retrieve)
    assert server.requests[0].extensions["timeout"]["read"] == 2.5


async def test_with_options_keeps_every_other_setting_of_the_original(api: Api) -> None:
    server = Server(ok())
    client = api.client(server, default_headers={"x-platform": "shop-1"}, timeout=7, deadline=30)
    copy = client.with_options(max_retries=0)
    assert type(copy) is type(client)
    assert (copy.base_url, copy.timeout, copy.deadline, copy.live) == (
        client.base_url,
        client.timeout,
        client.deadline,
        client.live,
    )
    await api.call(copy.test_clock.retrieve)
    headers = server.requests[0].headers
    assert headers["authorization"] == f"Bearer {API_KEY}" and headers["x-platform"] == "shop-1"
    assert server.requests[0].extensions["timeout"]["read"] == 7


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_retries": -1},
        {"max_retries": 1.5},
        {"max_retries": True},
        {"deadline": 0},
        {"deadline": -3},
        {"deadline": None},
        {"deadline": "60"},
        {"deadline": float("nan")},
        {"timeout": 0},
        {"timeout": -1},
        {"timeout": "5"},
    ],
)
def test_bad_retry_and_time_settings_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(yg.ConfigurationError):
        yg.Client(api_key=API_KEY, base_url=BASE_URL, **kwargs)


@pytest.mark.parametrize("deadline", [0, -1, "5", True])
async def test_a_bad_per_call_deadline_is_refused_before_sending(api: Api, deadline: object) -> None:
    server = Server(ok())
    client = api.client(server)
    with pytest.raises(yg.ParameterError) as info:
        await api.call(client.test_clock.retrieve, deadline=deadline)
    assert info.value.param == "deadline"
    assert server.count == 0


async def test_a_bad_per_call_timeout_is_refused_before_sending(api: Api) -> None:
    server = Server(ok())
    client = api.client(server)
    with pytest.raises(yg.ConfigurationError):
        await api.call(client.test_clock.retrieve, timeout=-1)
    assert server.count == 0


async def test_an_unknown_per_call_option_is_refused(api: Api) -> None:
    server = Server(ok())
    client = api.client(server)
    with pytest.raises(yg.ParameterError) as info:
        await api.call(client.policies.list, statuss="active")
    assert "statuss" in str(info.value)
    assert server.count == 0


# -- messages that state the rule (issue 10) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("yg_test_mid", "3 characters after yg_test_, fewer than 4"),
        ("yg_live_" + "a" * 201, "201 characters after yg_live_, more than 200"),
        ("yg_test_ab-cd", "other than an ASCII letter, digit or underscore"),
        ("sk_test_4eC39HqLyjWDarjt", "does not start with yg_test_ or yg_live_"),
    ],
)
def test_a_malformed_key_is_refused_with_the_rule_it_breaks(key: str, why: str) -> None:
    with pytest.raises(yg.ConfigurationError) as info:
        yg.Client(api_key=key, base_url=BASE_URL)
    message = str(info.value)
    assert why in message
    assert (
        "yg_test_ (sandbox) or yg_live_ (production) followed by 4-200 ASCII letters, digits or underscores"
        in (message)
    )
    assert key not in message


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8765/v1", "http://127.0.0.1:8765/v1/", "https://gw.insurer.test/yangguang/v1"]
)
def test_a_base_url_ending_in_v1_is_refused_with_the_fix(url: str) -> None:
    with pytest.raises(yg.ConfigurationError) as info:
        yg.Client(api_key=API_KEY, base_url=url)
    message = str(info.value)
    assert "/v1" in message and url.rstrip("/").removesuffix("/v1") in message


def test_a_base_url_with_v1_inside_its_path_is_kept() -> None:
    client = yg.Client(api_key=API_KEY, base_url="https://gw.insurer.test/v1gateway/")
    assert str(client.base_url) == "https://gw.insurer.test/v1gateway/"
    client.close()
