"""The dashboard over HTTP (DESIGN §7.9), in process: sign-in and its cookie, the CSRF token, one
tenant's pages and actions, and that another tenant sees none of it."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

import yangguang_sdk as yg
from tests.dashboard.scenario import KEY_A, KEY_B, WEBHOOK_EVENTS, bind_policy
from yangguang_sdk.sandbox import Sandbox
from yangguang_sdk.sandbox.dashboard import COOKIE, csrf_token, money

Page = Any
"""What the test client answers (httpx2's Response, which starlette's test client is built on)."""
START = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.timezone.utc)
RECEIVED: list[httpx.Request] = []


def receiver(request: httpx.Request) -> httpx.Response:
    RECEIVED.append(request)
    return httpx.Response(200, text="received by the merchant")


class Tenant:
    """A sandbox tenant with a bound policy and an endpoint, and a browser-like client signed in."""

    def __init__(self, sb: Sandbox, key: str) -> None:
        self.key = key
        self.api = yg.Client(api_key=key, base_url="http://sandbox.test", transport=sb.transport())
        self.endpoint = self.api.webhook_endpoints.create(
            url="https://merchant.test/hooks", events=WEBHOOK_EVENTS
        )
        self.policy = bind_policy(self.api, order=f"ORD-{key[-1].upper()}")
        self.browser = TestClient(sb.app, follow_redirects=False)
        answer = self.browser.post("/dashboard/login", data={"key": key})
        assert answer.status_code == 303, answer.text

    def csrf(self) -> str:
        found = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', self.browser.get("/dashboard").text)
        assert found is not None
        return found.group(1)

    def get(self, path: str) -> Page:
        answer = self.browser.get(path)
        assert self.key not in answer.text and self.key not in answer.headers.get("location", "")
        return answer


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    RECEIVED.clear()
    with Sandbox(now=START, webhook_transport=httpx.MockTransport(receiver)) as sandbox:
        yield sandbox


@pytest.fixture
def a(sb: Sandbox) -> Tenant:
    return Tenant(sb, KEY_A)


@pytest.fixture
def b(sb: Sandbox, a: Tenant) -> Tenant:
    return Tenant(sb, KEY_B)


def test_money_reads_fen_as_yuan() -> None:
    assert money({"amount": 129900123, "currency": "CNY"}) == "¥1,299,001.23"
    assert money({"amount": -5, "currency": "CNY"}) == "−¥0.05"
    assert money(None) == "—"


# -- sign-in ---------------------------------------------------------------------------------------
def test_without_a_cookie_every_page_leads_to_the_sign_in_form(sb: Sandbox) -> None:
    browser = TestClient(sb.app, follow_redirects=False)
    for path in ("/dashboard", "/dashboard/policies", "/dashboard/endpoints"):
        answer = browser.get(path)
        assert (answer.status_code, answer.headers["location"]) == (303, "/dashboard/login")
    form = browser.get("/dashboard/login")
    assert form.status_code == 200 and 'name="key"' in form.text and 'type="password"' in form.text
    assert form.headers["content-type"].startswith("text/html")
    assert "script" not in form.text.lower()  # nothing needs JavaScript


def test_sign_in_sets_an_httponly_strict_cookie_on_the_dashboard_path_only(sb: Sandbox) -> None:
    browser = TestClient(sb.app, follow_redirects=False)
    answer = browser.post("/dashboard/login", data={"key": KEY_A})
    assert (answer.status_code, answer.headers["location"]) == (303, "/dashboard")
    cookie = answer.headers["set-cookie"]
    parts = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")}
    assert parts[COOKIE.lower()] == f"{COOKIE}={KEY_A}"
    assert "httponly" in parts and parts["samesite"].lower() == "samesite=strict"
    assert parts["path"] == "Path=/dashboard"
    assert KEY_A not in answer.headers["location"]


@pytest.mark.parametrize(
    ("key", "says"),
    [
        ("yg_live_abcdefgh", "only test keys"),
        ("yg_test_x", "Malformed API key"),
        ("sk_test_abcdefgh", "Malformed API key"),
        ("", "Paste a test key"),
    ],
)
def test_a_refused_key_is_answered_401_without_a_cookie_and_never_echoed(
    sb: Sandbox, key: str, says: str
) -> None:
    browser = TestClient(sb.app, follow_redirects=False)
    answer = browser.post("/dashboard/login", data={"key": key})
    assert answer.status_code == 401 and says in answer.text
    assert "set-cookie" not in answer.headers
    if key:
        assert key not in answer.text


def test_the_cookie_is_checked_on_every_request(sb: Sandbox, a: Tenant) -> None:
    assert a.get("/dashboard").status_code == 200
    a.browser.cookies.clear()
    a.browser.cookies.set(COOKIE, "yg_live_stolen_key", path="/dashboard")
    answer = a.browser.get("/dashboard/policies")
    assert (answer.status_code, answer.headers["location"]) == (303, "/dashboard/login")


def test_sign_out_clears_the_cookie(a: Tenant) -> None:
    answer = a.browser.post("/dashboard/logout", data={"csrf_token": a.csrf()})
    assert (answer.status_code, answer.headers["location"]) == (303, "/dashboard/login")
    assert (
        answer.headers["set-cookie"].startswith(f'{COOKIE}=""')
        and "Max-Age=0" in answer.headers["set-cookie"]
    )
    assert a.browser.get("/dashboard").status_code == 303


# -- pages -----------------------------------------------------------------------------------------
def test_every_page_shows_the_tenant_objects_and_never_the_key(sb: Sandbox, a: Tenant) -> None:
    policy = a.policy
    pages = {
        "/dashboard": [policy.id, "+365 days", START.strftime("%Y-%m-%dT%H:%M:%SZ")],
        "/dashboard/quotes": [policy.quote_id, "approved", money({"amount": policy.premium.amount})],
        f"/dashboard/quotes/{policy.quote_id}": ["Schedule", "ORD-A"],
        "/dashboard/policies": [policy.id, "ORD-A", "active"],
        f"/dashboard/policies/{policy.id}": ["Schedule and installments", "scheduled", "premium"],
        "/dashboard/claims": ["No claims yet."],
        "/dashboard/events": ["policy.bound", "webhook_endpoint.test"],
        "/dashboard/endpoints": [a.endpoint.id, "https://merchant.test/hooks", "enabled"],
        f"/dashboard/endpoints/{a.endpoint.id}": ["policy.bound", "received by the merchant", " ms"],
        "/dashboard/statement?month=2026-11": ["2026-11", "open", money({"amount": policy.premium.amount})],
    }
    for path, wanted in pages.items():
        answer = a.get(path)
        assert answer.status_code == 200, (path, answer.text[:500])
        for text in wanted:
            assert text in answer.text, (path, text)
        assert answer.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    css = a.browser.get("/dashboard/static/dashboard.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "@media (max-width: 640px)" in css.text


def test_attempts_show_their_duration(a: Tenant) -> None:
    attempts = a.api.webhook_endpoints.attempts(a.endpoint.id).data
    assert attempts and all(x.duration_ms is not None and x.duration_ms >= 0 for x in attempts)
    page = a.get(f"/dashboard/endpoints/{a.endpoint.id}").text
    assert f"{attempts[0].duration_ms} ms" in page


def test_events_filter_by_a_catalog_type(a: Tenant) -> None:
    a.api.webhook_endpoints.send_test(a.endpoint.id)
    only = a.get("/dashboard/events?type=webhook_endpoint.test").text
    rows = re.findall(r"<tr><td><a href=\"/dashboard/events/(evt_\w+)\">.*?</td><td>([a-z_.]+)</td>", only)
    assert rows and {kind for _, kind in rows} == {"webhook_endpoint.test"}
    assert '<option value="claim.paid">' in only  # the catalog's types are offered
    assert a.get("/dashboard/events?type=no.such").status_code == 422


def test_a_bad_month_is_refused_by_the_engine(a: Tenant) -> None:
    answer = a.get("/dashboard/statement?month=2026-13")
    assert answer.status_code == 422 and "month" in answer.text


def test_an_unknown_id_is_404(a: Tenant) -> None:
    answer = a.get("/dashboard/policies/pol_doesnotexist")
    assert answer.status_code == 404 and "No such policy" in answer.text


# -- actions and CSRF -------------------------------------------------------------------------------
def test_advancing_the_clock_a_year_pays_the_claim(a: Tenant) -> None:
    answer = a.browser.post("/dashboard/clock/advance", data={"days": "365", "csrf_token": a.csrf()})
    assert (answer.status_code, answer.headers["location"]) == (303, "/dashboard?done=advanced+365+days")
    assert a.api.test_clock.retrieve().now == START + dt.timedelta(days=365)
    claims = a.api.claims.list().data
    assert [c.status for c in claims] == ["paid"]
    page = a.get("/dashboard/claims").text
    assert claims[0].id in page and 's-paid">paid' in page
    assert "claimed" in a.get(f"/dashboard/policies/{a.policy.id}").text


@pytest.mark.parametrize("token", [None, "", "0" * 64, "wrong"])
def test_a_post_without_the_right_token_is_403_and_does_nothing(a: Tenant, token: str | None) -> None:
    data = {"days": "30"} if token is None else {"days": "30", "csrf_token": token}
    answer = a.browser.post("/dashboard/clock/advance", data=data)
    assert answer.status_code == 403 and "security token" in answer.text
    assert a.api.test_clock.retrieve().now == START
    assert a.browser.post("/dashboard/logout", data=data).status_code == 403


def test_a_token_is_bound_to_its_session(sb: Sandbox, a: Tenant, b: Tenant) -> None:
    answer = a.browser.post("/dashboard/clock/advance", data={"days": "30", "csrf_token": b.csrf()})
    assert answer.status_code == 403
    assert b.csrf() != a.csrf() and len(a.csrf()) == 64
    assert a.csrf() == a.csrf()  # stable for the session


def test_a_bad_number_of_days_names_the_field(a: Tenant) -> None:
    for days in ("0", "-1", "abc", "99999"):
        answer = a.browser.post("/dashboard/clock/advance", data={"days": days, "csrf_token": a.csrf()})
        assert answer.status_code == 422 and "days" in answer.text, days
    assert a.api.test_clock.retrieve().now == START


def test_redeliver_send_test_and_recover_make_new_attempts(a: Tenant) -> None:
    endpoint = a.endpoint.id
    before = len(a.api.webhook_endpoints.attempts(endpoint).data)
    bound = a.api.events.list(type="policy.bound").data[0]
    answer = a.browser.post(
        f"/dashboard/events/{bound.id}/redeliver", data={"csrf_token": a.csrf(), "endpoint_id": endpoint}
    )
    assert answer.status_code == 303 and answer.headers["location"].startswith(
        f"/dashboard/endpoints/{endpoint}"
    )
    attempts = a.api.webhook_endpoints.attempts(endpoint).data
    assert len(attempts) == before + 1 and attempts[-1].redelivery and attempts[-1].event_id == bound.id
    assert "redelivery" in a.get(f"/dashboard/endpoints/{endpoint}").text

    a.browser.post(f"/dashboard/endpoints/{endpoint}/send_test", data={"csrf_token": a.csrf()})
    attempts = a.api.webhook_endpoints.attempts(endpoint).data
    assert attempts[-1].event_type == "webhook_endpoint.test"

    answer = a.browser.post(
        f"/dashboard/endpoints/{endpoint}/recover",
        data={"csrf_token": a.csrf(), "since": "2026-11-01T00:00:00Z", "until": ""},
    )
    assert answer.status_code == 303 and "0+events" in answer.headers["location"]  # all delivered
    bad = a.browser.post(
        f"/dashboard/endpoints/{endpoint}/recover", data={"csrf_token": a.csrf(), "since": "yesterday"}
    )
    assert bad.status_code == 422 and "since" in bad.text


def test_enable_a_disabled_endpoint(sb: Sandbox, a: Tenant) -> None:
    status = [410]  # the receiver says Gone (the endpoint is disabled at once), then comes back
    failing = Sandbox(now=START, webhook_transport=httpx.MockTransport(lambda r: httpx.Response(status[0])))
    with failing:
        tenant = Tenant(failing, KEY_A)
        endpoint = tenant.endpoint.id
        assert tenant.api.webhook_endpoints.retrieve(endpoint).status == "disabled"
        page = tenant.get(f"/dashboard/endpoints/{endpoint}").text
        assert 'id="enable"' in page and "gone" in page
        refused = tenant.browser.post(
            f"/dashboard/endpoints/{endpoint}/send_test", data={"csrf_token": tenant.csrf()}
        )
        assert refused.status_code == 409 and "enable it first" in refused.text
        status[0] = 200
        answer = tenant.browser.post(
            f"/dashboard/endpoints/{endpoint}/enable", data={"csrf_token": tenant.csrf()}
        )
        assert answer.status_code == 303
        assert tenant.api.webhook_endpoints.retrieve(endpoint).status == "enabled"
        assert tenant.api.events.list(type="webhook_endpoint.enabled").data
        assert 'id="enable"' not in tenant.get(f"/dashboard/endpoints/{endpoint}").text


# -- tenants ---------------------------------------------------------------------------------------
def test_one_tenant_never_sees_another_tenants_objects(a: Tenant, b: Tenant) -> None:
    mine, theirs = b.policy, a.policy
    listed = b.get("/dashboard/policies").text
    assert mine.id in listed and theirs.id not in listed
    for path in (
        f"/dashboard/policies/{theirs.id}",
        f"/dashboard/quotes/{theirs.quote_id}",
        f"/dashboard/endpoints/{a.endpoint.id}",
        f"/dashboard/events/{a.api.events.list().data[0].id}",
    ):
        assert b.get(path).status_code == 404, path


def test_one_tenant_cannot_act_on_another_tenants_objects(a: Tenant, b: Tenant) -> None:
    before = len(a.api.webhook_endpoints.attempts(a.endpoint.id).data)
    their_event = a.api.events.list(type="policy.bound").data[0].id
    for path, data in (
        (f"/dashboard/events/{their_event}/redeliver", {}),
        (f"/dashboard/events/{b.api.events.list().data[0].id}/redeliver", {"endpoint_id": a.endpoint.id}),
        (f"/dashboard/endpoints/{a.endpoint.id}/send_test", {}),
        (f"/dashboard/endpoints/{a.endpoint.id}/enable", {}),
    ):
        answer = b.browser.post(path, data={"csrf_token": b.csrf(), **data})
        assert answer.status_code == 404, path
    assert len(a.api.webhook_endpoints.attempts(a.endpoint.id).data) == before


def test_the_token_is_an_hmac_of_the_cookie_under_a_stored_secret(sb: Sandbox, a: Tenant) -> None:
    token = a.csrf()
    record = sb.engine.get_record("dashboard", "", "csrf_secret")
    assert record is not None
    assert token == csrf_token(bytes.fromhex(record["secret"]), KEY_A)
    # a second app on the same engine (another worker on one database) accepts the same token
    from yangguang_sdk.sandbox.app import create_app

    other = TestClient(create_app(sb.engine, sb.delivery), follow_redirects=False)
    other.cookies.set(COOKIE, KEY_A, path="/dashboard")
    answer = other.post("/dashboard/clock/advance", data={"days": "1", "csrf_token": a.csrf()})
    assert answer.status_code == 303


def test_only_our_own_notes_are_shown_after_an_action(a: Tenant) -> None:
    assert 'id="done">Done: advanced 30 days' in a.get("/dashboard?done=advanced+30+days").text
    crafted = a.get("/dashboard?done=Your+key+expired:+paste+it+at+http://evil.example").text
    assert 'id="done"' not in crafted and "evil.example" not in crafted


def test_a_policy_page_shows_its_endorsements_and_refunds(a: Tenant) -> None:
    endorsement = a.api.policies.endorse(a.policy.id, principal_reduction=yg.Money.cny("3000.00"))
    page = a.get(f"/dashboard/policies/{a.policy.id}").text
    assert endorsement.id in page and "¥3,000.00" in page
    assert money({"amount": endorsement.premium_refund.amount}) in page
    assert "premium_refund" in page and "Refunded in all" in page
    cancelled = a.api.policies.cancel(a.policy.id, reason="order_refunded")
    assert cancelled.refund is not None
    page = a.get(f"/dashboard/policies/{a.policy.id}").text
    assert "Refund (cancel or settle)" in page and money({"amount": cancelled.refund.amount}) in page
